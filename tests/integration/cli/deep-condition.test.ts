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
