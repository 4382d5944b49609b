/**
 * `ship --json` promises machine-readable output for every run (DESIGN.md's CLI): a run stopped by
 * bad input answers on stdout with the result's own exitCode and message, plus error, so a script
 * reading stdout never meets an empty string; stderr keeps its one line. Before, stdout was empty.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runShip } from "../../support/ship-cli.js";

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "ship-json-bad-input-"));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe("ship --json with bad input", () => {
  it("a config that does not exist: exit 2, stdout a JSON object naming it", async () => {
    const missing = join(root, "missing.toml");
    for (const args of [
      ["--config", missing, "--json"],
      ["--config", missing, "--list-backups", "--json"],
    ]) {
      const run = await runShip(args);
      expect(run.code).toBe(2);
      expect(run.stderr).toContain(`ship: ${missing}`);
      const out = JSON.parse(run.stdout) as { exitCode: number; message: string; error: string };
      expect(out.exitCode).toBe(2);
      expect(out.error).toContain(missing);
      expect(out.message).toBe(`ship: ${out.error}`);
    }
  });

  it("a config with a bad key and an unknown option: the same shape", async () => {
    const config = join(root, "ship.toml");
    await writeFile(config, `[general]\nmin_interval_hours = "soon"\n`);
    const bad = await runShip(["--config", config, "--check-only", "--json"]);
    expect(bad.code).toBe(2);
    expect((JSON.parse(bad.stdout) as { error: string }).error).toContain("min_interval_hours");
    const usage = await runShip(["--bogus", "--json"]);
    expect(usage.code).toBe(2);
    expect(JSON.parse(usage.stdout)).toMatchObject({ exitCode: 2, error: "unknown option '--bogus'" });
  });

  it("commander's suggestion is part of the one line, in JSON as on stderr (it carried a newline)", async () => {
    for (const args of [
      ["--forse", "--json"],
      ["release", "--json", "bump", "--dirr", "x"],
    ]) {
      const run = await runShip(args, { cwd: root });
      expect(run.code).toBe(2);
      const out = JSON.parse(run.stdout) as { error: string; message: string };
      expect(out.error).not.toContain("\n");
      expect(out.message).not.toContain("\n");
      // The line stderr printed ends with the same words.
      expect(run.stderr.trim().endsWith(out.error)).toBe(true);
    }
    const forse = await runShip(["--forse", "--json"], { cwd: root });
    expect(JSON.parse(forse.stdout)).toMatchObject({
      error: "unknown option '--forse' (Did you mean --force?)",
    });
  });

  it("without --json stdout stays empty", async () => {
    const run = await runShip(["--config", join(root, "missing.toml")]);
    expect(run.code).toBe(2);
    expect(run.stdout).toBe("");
  });
});
