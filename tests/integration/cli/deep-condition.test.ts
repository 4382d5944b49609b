import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runShip } from "../../support/ship-cli.js";

describe("a condition nested 5,000 deep is bad input (exit 2), not a crash", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "ship-deep-"));
    const condition = `${"not ".repeat(5000)}file_exists('a')`;
    await writeFile(
      join(dir, "update-manifest.yaml"),
      `version: "1.0.0"\nconditionals:\n  - condition: "${condition}"\n    action: skip_update\n`,
    );
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it.each([["--test-manifest"], ["--test-conditionals"]])("ship %s", async (flag) => {
    const result = await runShip([flag, join(dir, "update-manifest.yaml")]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(
      /update-manifest\.yaml:3:\d+ conditionals\[0\]\.condition: .*nested deeper than 100/,
    );
    expect(result.stderr).not.toMatch(/RangeError|Maximum call stack/);
  });
});

describe("a condition's argument that can never mean what it says is bad input (exit 2)", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "ship-env-eq-"));
    // Read as a variable named "MODE=maintenance", never set: the skip_update never skipped.
    await writeFile(
      join(dir, "update-manifest.yaml"),
      `version: "1.0.0"\nconditionals:\n  - condition: "env_var('MODE=maintenance')"\n    action: skip_update\n`,
    );
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it.each([["--test-manifest"], ["--test-conditionals"]])("ship %s", async (flag) => {
    const result = await runShip([flag, join(dir, "update-manifest.yaml")]);
    expect(result.code).toBe(2);
    expect(result.stderr.trim().split("\n")).toEqual([
      `ship: ${join(dir, "update-manifest.yaml")}:3:25 conditionals[0].condition: invalid condition: env_var('MODE=maintenance'): a variable's name holds no '=', so it is never set; to compare its value write env_var('MODE') == 'maintenance'`,
    ]);
  });
});
