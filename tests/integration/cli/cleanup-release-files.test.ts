/**
 * `cleanup.remove_files` / `remove_directories` are for what earlier versions left behind. They
 * used to delete the release's own files too (a `*.pyc` over a release of compiled modules, a
 * `legacy_modules/` the new release still ships), after its post_update_tests had passed, and the
 * run said "updated". The release's files stay now, with a warning naming them; the leftovers go.
 */
import { mkdir, readdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { runShip } from "../../support/ship-cli.js";
import { installRelease, type LocalApp, localApp } from "./local-app.js";

let app: LocalApp;
beforeEach(async () => {
  app = await localApp();
});
afterEach(() => app.cleanup());

describe("cleanup never removes what the release installed", () => {
  it("the seed's remove_files and remove_directories take the leftovers and keep the release's files", async () => {
    await installRelease(app, "v1", 'version: "1.0.0"\n', { "app.txt": "1\n" });
    // What 1.0.0's app left: compiled files and a module directory, a space and a non-ASCII name among them.
    await mkdir(join(app.appDir, "legacy_modules/old dir"), { recursive: true });
    await mkdir(join(app.appDir, "src/__pycache__"), { recursive: true });
    for (const rel of [
      "legacy_modules/old dir/ö.py",
      "legacy_modules/left.py",
      "src/stale.pyc",
      "src/__pycache__/x.pyc",
    ])
      await writeFile(join(app.appDir, rel), "old\n");

    await app.release(
      "v2",
      'version: "2.0.0"\ncleanup:\n  remove_files: ["*.pyc", "__pycache__"]\n  remove_directories: ["legacy_modules"]\n',
      { "app.txt": "2\n", "src/mod é.pyc": "compiled\n", "legacy_modules/shim.py": "shim\n" },
    );
    const run = await runShip(["--config", app.config]);
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(run.stdout + run.stderr).toMatch(/cleanup: not removing what this release installed/);
    expect(run.stdout + run.stderr).toMatch(/"kept":\["legacy_modules\/"\]/);
    expect(run.stdout + run.stderr).toMatch(/"kept":\["src\/mod é\.pyc"\]/);
    expect((await readdir(app.appDir, { recursive: true })).sort()).toEqual([
      "app.txt",
      "legacy_modules",
      "legacy_modules/shim.py",
      "src",
      "src/mod é.pyc",
    ]);

    // The leftovers went into the update's backup: a rollback brings them back.
    const [backup] = (await readdir(join(app.root, "var/backups/myapp"))).filter((name) =>
      name.startsWith("myapp-"),
    );
    const rollback = await runShip(["--config", app.config, "--rollback", String(backup)]);
    expect(rollback.code, rollback.stdout + rollback.stderr).toBe(0);
    expect((await readdir(join(app.appDir, "legacy_modules"), { recursive: true })).sort()).toEqual([
      "left.py",
      "old dir",
      "old dir/ö.py",
    ]);
  });
});
