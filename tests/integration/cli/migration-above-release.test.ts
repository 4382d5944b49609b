/**
 * A migration keyed above the release's own version (`"2.0.1"` in release 2.0.0, a typo) was
 * accepted and never run: an update runs the keys v with installed < v ≤ the release's version,
 * and --test-manifest called the manifest valid with no warning. It is a warning naming the key
 * now, in --test-manifest and the run's output; the release still installs, and the migrations in
 * range still run.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { runShip } from "../../support/ship-cli.js";
import { type LocalApp, localApp } from "./local-app.js";

let app: LocalApp;
beforeEach(async () => {
  app = await localApp();
});
afterEach(() => app.cleanup());

describe("a migration this release never runs is named", () => {
  it("a key above the release's version: a warning in --test-manifest and the run; the others run", async () => {
    await app.release("r1", 'version: "1.0.0"\n');
    expect((await runShip(["--config", app.config])).code).toBe(0);
    const manifest =
      'version: "2.0.0"\nmigrations:\n  "2.0.0": ["echo 2.0.0 >> ../ran"]\n  "2.0.1": ["echo 2.0.1 >> ../ran"]\n';
    const release = await app.release("r2", manifest);

    const checked = await runShip(["--test-manifest", join(release, "update-manifest.yaml")]);
    expect(checked.code, checked.stdout + checked.stderr).toBe(0);
    expect(checked.stdout + checked.stderr).toMatch(
      /:4:3 migrations\."2\.0\.1": "2\.0\.1" is above this release's version "2\.0\.0", so this release never runs it/,
    );

    const run = await runShip(["--config", app.config]);
    expect(run.code, run.stdout + run.stderr).toBe(0);
    // The run's log (JSON lines) says it, as every manifest warning.
    expect(run.stdout + run.stderr).toMatch(/2\.0\.1\\" is above this release's version \\"2\.0\.0/);
    expect(await readFile(join(app.root, "ran"), "utf8")).toBe("2.0.0\n");
  });

  it("keys up to the release's version, written as versions compare (2.0 is 2.0.0), say nothing", async () => {
    const release = await app.release(
      "r1",
      'version: "2.0.0"\nmigrations:\n  "1.5.0": ["true"]\n  "2.0": ["true"]\n',
    );
    const checked = await runShip(["--test-manifest", join(release, "update-manifest.yaml")]);
    expect(checked.code, checked.stdout + checked.stderr).toBe(0);
    expect(checked.stdout + checked.stderr).toMatch(/0 warnings/);
  });
});
