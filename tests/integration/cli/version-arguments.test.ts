/**
 * A version given on the command line keeps the rule a manifest's `version` keeps (one word): `ship
 * --approve myapp " 2.0.0"` recorded an approval for " 2.0.0", a version no manifest may have, and
 * `ship release manifest " 2.0.0"` wrote a manifest that `ship --test-manifest` then refused; a value
 * with a line break made the refusal two lines. Each is now exit 2, one line naming the flag, and
 * nothing is written.
 */
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { runShip } from "../../support/ship-cli.js";
import { type LocalApp, localApp } from "./local-app.js";

const ONE_WORD = "must be one word: no spaces, tabs, line breaks";

let app: LocalApp;
beforeEach(async () => {
  app = await localApp();
  await app.release("r2", 'version: "2.0.0"\n');
});
afterEach(async () => app.cleanup());

describe("a version on the command line is one word (real CLI)", () => {
  it.each([
    ["--approve", " 2.0.0"],
    ["--approve", "2.0.0\n3.0.0"],
    ["--current-version", "1.0.0 "],
    ["--current-version", "1.0.0\n2.0"],
  ])("%s %j is exit 2 on one line naming the flag, and nothing is written", async (flag, version) => {
    const args =
      flag === "--approve"
        ? ["--approve", "myapp", version]
        : ["--test-conditionals", join(app.root, "r2/update-manifest.yaml"), flag, version];
    const before = await readdir(app.root);
    const run = await runShip(["--config", app.config, ...args]);
    expect(run.code, run.stderr).toBe(2);
    expect(run.stderr.startsWith(`ship: ${flag} ${JSON.stringify(version)}: ${ONE_WORD}`), run.stderr).toBe(
      true,
    );
    expect(run.stderr.trimEnd().split("\n")).toHaveLength(1);
    expect(await readdir(app.root)).toEqual(before);
  });

  it("ship release manifest ' 2.0.0' is exit 2 and writes no manifest", async () => {
    const dir = await mkdtemp(join(tmpdir(), "ship-release-version-"));
    try {
      const run = await runShip(["release", "manifest", " 2.0.0"], { cwd: dir });
      expect(run.code, run.stderr).toBe(2);
      expect(run.stderr).toContain(`" 2.0.0" VERSION: ${ONE_WORD}`);
      expect(await readdir(dir)).toEqual([]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
