/**
 * A first install that fails has no previous version to bring back: every line that reports the
 * restore says the app is as it was before ship, never "restored the previous version" (#12 item 9,
 * truthful messages). Covers the automatic restore after a failed health check, the engine's own
 * undo of an apply that failed half-way, and `ship --recover` after a first install was killed.
 */
import { readdir } from "node:fs/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runShip } from "../../support/ship-cli.js";
import { type LocalApp, localApp } from "./local-app.js";

describe("a failed first install says there was no earlier version", () => {
  let app: LocalApp;
  beforeAll(async () => {
    app = await localApp();
  });
  afterAll(() => app.cleanup());

  const expectEmptyApp = async () => expect(await readdir(app.appDir)).toEqual([]);

  it("after a failing post_update test", async () => {
    await app.release("r1", 'version: "1.0.0"\npost_update_tests:\n  - { name: health, command: "false" }\n');
    const run = await runShip(["--config", app.config, "--force"]);
    expect(run.code, run.stdout + run.stderr).toBe(1);
    expect(run.stdout).toContain("no earlier version was recorded");
    expect(run.stdout + run.stderr).not.toContain("restored the previous version");
    await expectEmptyApp();
  });

  it("after an apply that failed half-way and was undone", async () => {
    await app.release("r2", 'version: "1.0.0"\n', { "a.txt": "1\n", "b.txt": "1\n" });
    const run = await runShip(["--config", app.config, "--force"], {
      env: { SHIP_FAULT: "apply:file@2:error" },
    });
    expect(run.code, run.stdout + run.stderr).toBe(1);
    expect(run.stdout).toContain("no earlier version was recorded");
    expect(run.stdout + run.stderr).not.toContain("restored the previous version");
    await expectEmptyApp();
  });

  it("--recover after a first install was killed once applied", async () => {
    await app.release("r3", 'version: "1.0.0"\n', { "a.txt": "1\n" });
    const killed = await runShip(["--config", app.config, "--force"], {
      env: { SHIP_FAULT: "apply:finalize" },
    });
    expect(killed.code).toBeNull();
    const recovered = await runShip(["--config", app.config, "--recover"]);
    expect(recovered.code, recovered.stdout + recovered.stderr).toBe(0);
    expect(recovered.stdout).toContain("update to 1.0.0 was interrupted; undid what it installed");
    expect(recovered.stdout).not.toContain("previous tree");
    await expectEmptyApp();
  });
});
