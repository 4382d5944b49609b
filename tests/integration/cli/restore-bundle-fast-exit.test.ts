/**
 * `--list-backups` and `--rollback` run from the restore bundle, whose stub (scripts/build-agent-cli.mjs)
 * ends the process with process.exit once the command returns, skipping Node's heap teardown. What
 * such an exit must never cost: the exit code, or any byte of stdout and stderr still on their way
 * to a reader that is slow to take them (a pager, a pipe to another program). Here a listing whose
 * stderr is several times what a pipe holds is read only after the command has had time to end.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { type CliResult, SHIP_BIN } from "../../support/ship-cli.js";
import { installedVersionsForFile, listedBackups } from "../apply/installed-versions.js";
import type { LocalApp } from "./local-app.js";

let app: LocalApp;

installedVersionsForFile(["1", "2"], (made) => {
  app = made;
});

/**
 * `ship ARGS` whose stdout and stderr each go straight into a pipe of its own reader process, which
 * sleeps `waitMs` before it reads (`sleep; cat`, as a pager the operator has not scrolled yet): a
 * reader in this process would empty the pipes at once, or have Node drop what is left at the exit.
 */
function runWithSlowReader(args: string[], waitMs: number): Promise<CliResult> {
  const reader = () =>
    spawn("sh", ["-c", `sleep ${waitMs / 1000}; cat`], { stdio: ["pipe", "pipe", "inherit"] });
  const collect = (child: ChildProcess) =>
    new Promise<string>((resolve, reject) => {
      const chunks: Buffer[] = [];
      child.stdout?.on("data", (d: Buffer) => chunks.push(d));
      child.on("error", reject);
      child.on("close", () => resolve(Buffer.concat(chunks).toString()));
    });
  const out = reader();
  const err = reader();
  const ship = spawn(process.execPath, [SHIP_BIN, ...args], { stdio: ["ignore", out.stdin, err.stdin] });
  // Only the readers hold the pipes' write ends now (and ship): they end when ship does.
  out.stdin?.destroy();
  err.stdin?.destroy();
  const code = new Promise<number | null>((resolve, reject) => {
    ship.on("error", reject);
    ship.on("exit", (c) => resolve(c));
  });
  return Promise.all([code, collect(out), collect(err)]).then(([c, stdout, stderr]) => ({
    code: c,
    stdout,
    stderr,
  }));
}

describe("the restore bundle's fast exit keeps every byte and the exit code (real CLI)", () => {
  it("--list-backups --json with 1,500 damaged backups, read late: every line, exit 2", async () => {
    const listed = await listedBackups(app);
    const [real] = listed;
    expect(real).toBeDefined();
    const appBackups = join(String(real?.path), "..");
    const damaged: string[] = [];
    for (let i = 0; i < 1500; i++) {
      const dir = join(appBackups, `20200101T000000Z-damaged-${String(i).padStart(4, "0")}`);
      await mkdir(dir);
      await writeFile(join(dir, "meta.json"), `{"id":`);
      damaged.push(dir);
    }
    const run = await runWithSlowReader(["--config", app.config, "--list-backups", "--json"], 1500);
    expect(run.code).toBe(2);
    expect((JSON.parse(run.stdout) as { id: string }[]).map((b) => b.id)).toEqual(listed.map((b) => b.id));
    // Far more than a pipe and the reader's buffer hold together: the writer had to wait for us.
    expect(run.stderr.length).toBeGreaterThan(300_000);
    expect(run.stderr.endsWith("\n")).toBe(true);
    // Every line whole, none lost or cut: each damaged backup named as a listing read at once names it.
    const expected = damaged.map(
      (dir) =>
        `not listed: ${dir}/meta.json is damaged, it is not valid JSON (Unexpected end of JSON input): this backup's record of what its update changed; the backup cannot be restored, move it out of the backup directory`,
    );
    expect(run.stderr.trimEnd().split("\n").sort()).toEqual(expected);
  });

  it("--rollback refused (exit 2) and --help (exit 0), read late: the same bytes as read at once", async () => {
    for (const args of [["--config", app.config, "--rollback", "no-such-backup"], ["--help"]]) {
      const late = await runWithSlowReader(args, 1500);
      const early = await runWithSlowReader(args, 0);
      expect(late.code, late.stderr).toBe(args[0] === "--help" ? 0 : 2);
      expect(late).toEqual(early);
      expect(late.stdout.length + late.stderr.length).toBeGreaterThan(0);
    }
  });
});
