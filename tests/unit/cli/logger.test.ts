/**
 * The agent CLI's logger is pino: JSON lines on stderr or in `[general.logging] file` (its directory
 * created), REDACT_PATHS censored, written before the call returns, levels from ship.toml or
 * --verbose / --quiet.
 */
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cliLogger } from "../../../agent/cli/logger.js";
import { parseConfigText } from "../../../shared/config/load.js";

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "ship-cli-logger-"));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

const configWith = (logging: string) =>
  parseConfigText(`[general.logging]\n${logging}\n`, join(root, "ship.toml")).config;

const linesIn = (file: string) =>
  readFileSync(file, "utf8")
    .trimEnd()
    .split("\n")
    .map((l) => JSON.parse(l) as Record<string, unknown>);

describe("cliLogger (pino)", () => {
  it("writes pino's lines to [general.logging] file, directory created, secrets redacted, before the call returns", () => {
    const file = join(root, "nested/dir/ship.log");
    const data = {
      app: "web",
      token: "secret-1",
      nested: { headers: { authorization: "Bearer 2", accept: "x" } },
    };
    const log = cliLogger({}, configWith(`file = "${file}"`));
    log.debug("hidden at INFO");
    log.info("with data", data);
    log.child({ app: "api", passphrase: "pw" }).warn("from the child", { step: "apply" });
    // Read at once, nothing awaited: the lines are on disk already.
    const [first, second, ...rest] = linesIn(file);
    expect(rest).toEqual([]);
    expect(first).toMatchObject({
      level: 30,
      pid: process.pid,
      hostname: hostname(),
      name: "ship",
      msg: "with data",
    });
    expect(first).toMatchObject({
      app: "web",
      token: "[Redacted]",
      nested: { headers: { authorization: "[Redacted]", accept: "x" } },
    });
    expect(typeof first?.time).toBe("number");
    expect(second).toMatchObject({
      level: 40,
      app: "api",
      passphrase: "[Redacted]",
      step: "apply",
      msg: "from the child",
    });
    // The caller's data is never changed by the redaction.
    expect(data.token).toBe("secret-1");
    expect(data.nested.headers.authorization).toBe("Bearer 2");
  });

  it("takes its level from ship.toml, --verbose (debug) and --quiet (errors only)", () => {
    const levelsWritten = (options: { verbose?: boolean; quiet?: boolean }, level: string) => {
      const file = join(root, `${level}-${options.verbose ? "v" : options.quiet ? "q" : "n"}.log`);
      const log = cliLogger(options, configWith(`level = "${level}"\nfile = "${file}"`));
      log.debug("d");
      log.info("i");
      log.warn("w");
      log.error("e");
      return linesIn(file).map((l) => l.level);
    };
    expect(levelsWritten({}, "WARNING")).toEqual([40, 50]);
    expect(levelsWritten({ verbose: true }, "WARNING")).toEqual([20, 30, 40, 50]);
    expect(levelsWritten({ quiet: true }, "DEBUG")).toEqual([50]);
  });

  it("writes to stderr synchronously: every line is out even when the process is killed right after", () => {
    // The built module (npm run build), as the CLI runs it.
    const logger = fileURLToPath(new URL("../../../dist/agent/cli/logger.js", import.meta.url));
    const script =
      `import { cliLogger } from ${JSON.stringify(logger)};` +
      `const log = cliLogger({}); for (let i = 0; i < 2000; i++) log.info("line", { i, token: "t" }); process.kill(process.pid, "SIGKILL");`;
    const child = spawnSync(process.execPath, ["--input-type=module", "-e", script], {
      encoding: "utf8",
    });
    // Killed: no exit hook runs, so a buffered line would be lost.
    expect(child.signal, child.stderr.slice(0, 500)).toBe("SIGKILL");
    const lines = child.stderr
      .trimEnd()
      .split("\n")
      .map((l) => JSON.parse(l) as { i: number; token: string });
    expect(lines.map((l) => l.i)).toEqual([...Array(2000).keys()]);
    expect(lines.every((l) => l.token === "[Redacted]")).toBe(true);
  });
});
