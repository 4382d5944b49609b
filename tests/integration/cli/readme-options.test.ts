/**
 * The README names `ship` options in running text an operator types back: round 45's daemon
 * paragraph said "`ship --status` said failed", and ship has no --status (exit 2, "unknown option
 * '--status'"): the state file is where a run's result is read. Every option a README `ship …`
 * span names must be one the named command's --help lists (`ship release …` without a subcommand:
 * any of its subcommands').
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";
import { runShip } from "../../support/ship-cli.js";

const readme = readFileSync(fileURLToPath(new URL("../../../README.md", import.meta.url)), "utf8");

const RELEASE_SUBCOMMANDS = ["manifest", "bump", "git", "http", "sftp", "keygen", "sign", "publish"];

async function helpOf(command: string[]): Promise<string> {
  const { code, stdout } = await runShip([...command, "--help"]);
  expect(code, `ship ${command.join(" ")} --help`).toBe(0);
  return stdout;
}

/** The command a span runs: [] for ship's own options, ["agent"], ["release"] or ["release", SUB]. */
function commandOf(span: string): string[] {
  const [first, second] = span.split(/\s+/).map((w) => w.replace(/[^a-z-]+$/, ""));
  if (first === "agent") return ["agent"];
  if (first !== "release") return [];
  return second !== undefined && RELEASE_SUBCOMMANDS.includes(second) ? ["release", second] : ["release"];
}

let helps: Map<string, string>;
beforeAll(async () => {
  const commands = [[], ["agent"], ["release"], ...RELEASE_SUBCOMMANDS.map((s) => ["release", s])];
  const texts = await Promise.all(commands.map(helpOf));
  helps = new Map(commands.map((c, i) => [c.join(" "), texts[i] ?? ""]));
  // `ship release --app`: an option of its subcommands.
  helps.set("release", RELEASE_SUBCOMMANDS.map((s) => helps.get(`release ${s}`)).join("\n"));
});

describe("the README's ship options", () => {
  it("names only options the command's --help lists", () => {
    const spans = [...readme.matchAll(/`ship ([^`\n]*)`/g)].map((m) => m[1] ?? "");
    expect(spans.length).toBeGreaterThan(100);
    const unknown: string[] = [];
    for (const span of spans) {
      const help = helps.get(commandOf(span).join(" ")) ?? "";
      for (const flag of span.match(/(?<![\w-])--[a-z][a-z-]*/g) ?? [])
        if (!new RegExp(`(^|[\\s,])${flag}(?![\\w-])`, "m").test(help))
          unknown.push(`${flag} in \`ship ${span}\``);
    }
    expect(unknown).toEqual([]);
  });
});
