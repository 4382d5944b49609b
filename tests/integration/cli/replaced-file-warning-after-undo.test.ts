/**
 * review23: an update that replaced a file someone changed on the host, and then failed and was
 * undone (exit 1, "restored the previous version"), still says "WARNING: … this update replaced
 * app.py: the changes made here are no longer in the app; their copies are in <backup>/files
 * (ship --rollback <backup> puts them back …)". The host's edit is back in the app, and the backup it
 * names is gone (removed with the restore): both halves of the line are false. Real CLI.
 */
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { runShip } from "../../support/ship-cli.js";
import { type LocalApp, localApp } from "./local-app.js";

describe("the changed-on-host WARNING of an update that was undone (real CLI)", () => {
  let app: LocalApp;

  beforeEach(async () => {
    app = await localApp();
    await app.release("v1", 'version: "1.0.0"\n', { "app.py": "v1\n" });
    const first = await runShip(["--config", app.config]);
    expect(first.code, first.stderr).toBe(0);
    await writeFile(join(app.appDir, "app.py"), "hotfix made here\n");
  });
  afterEach(async () => {
    await app.cleanup();
  });

  it("does not say the host's changes are gone when the failed update put them back", async () => {
    await app.release("v2", 'version: "2.0.0"\nhooks:\n  post_update: ["exit 1"]\n', { "app.py": "v2\n" });
    const run = await runShip(["--config", app.config, "--force"]);
    expect(run.code, run.stderr).toBe(1);
    expect(await readFile(join(app.appDir, "app.py"), "utf8")).toBe("hotfix made here\n");
    expect(run.stderr).not.toMatch(/changes made here are no longer in the app/);
  });
});
