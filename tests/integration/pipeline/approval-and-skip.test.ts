/**
 * `ship --approve APP VERSION` says the manual steps of a require_manual_intervention conditional
 * are done. It said more: with a skip_update conditional holding too (the seed's maintenance-mode
 * file), the approved run installed during maintenance mode. The approval lifts the manual stop
 * only; the skip still holds until its condition is gone. Real CLI, local release directory.
 */
import { readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { runShip } from "../../support/ship-cli.js";
import { type LocalApp, localApp } from "../cli/local-app.js";

const MANIFEST = `version: "2.0.0"
conditionals:
  - condition: "file_exists('.maintenance_mode')"
    action: "skip_update"
    message: "System in maintenance mode"
  - condition: "current_version < '2.0.0'"
    action: "require_manual_intervention"
    message: "Major version upgrade"
    manual_steps: ["Create database backup"]
`;

describe("an approved manual intervention while a skip_update holds", () => {
  let app: LocalApp;
  beforeEach(async () => {
    app = await localApp();
    await app.release("r1", 'version: "1.0.0"\n');
    expect((await runShip(["--config", app.config])).code).toBe(0);
  });
  afterEach(async () => {
    await app.cleanup();
  });

  it("is still skipped while the skip's condition holds, and installs once it is gone", async () => {
    await writeFile(join(app.appDir, ".maintenance_mode"), "");
    await app.release("r2", MANIFEST, { "app.txt": "v2\n" });
    const blocked = await runShip(["--config", app.config]);
    expect(blocked.code, blocked.stdout + blocked.stderr).toBe(0);
    expect(blocked.stdout).toContain("manual intervention required before updating to 2.0.0");

    const approve = await runShip(["--config", app.config, "--approve", "myapp", "2.0.0"]);
    expect(approve.code, approve.stderr).toBe(0);
    const skipped = await runShip(["--config", app.config]);
    expect(skipped.code, skipped.stdout + skipped.stderr).toBe(0);
    expect(skipped.stdout).toContain("myapp: update skipped on purpose: System in maintenance mode");
    expect(await readFile(join(app.appDir, "app.txt"), "utf8")).toBe("r1\n");
    expect((await app.state()).sources.myapp).toMatchObject({
      current_version: "1.0.0",
      last_result: "skipped",
    });

    await rm(join(app.appDir, ".maintenance_mode"));
    const installed = await runShip(["--config", app.config]);
    expect(installed.code, installed.stdout + installed.stderr).toBe(0);
    expect(installed.stdout).toContain("myapp: updated 1.0.0 → 2.0.0");
    expect(await readFile(join(app.appDir, "app.txt"), "utf8")).toBe("v2\n");
  });
});
