import { existsSync } from "node:fs";
import { mkdir, utimes, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { runShip } from "../../support/ship-cli.js";
import { type LocalApp, localApp } from "./local-app.js";

const DAY_S = 24 * 60 * 60;

describe("directories.*.cleanup_old", () => {
  let app: LocalApp;
  beforeEach(async () => {
    app = await localApp();
  });
  afterEach(() => app.cleanup());

  it("prunes old files on a run with nothing to install too", async () => {
    await app.release(
      "v1",
      `version: "1.0.0"\ndirectories:\n  logs:\n    preserve: true\n    cleanup_old: true\n    keep_days: 30\n`,
    );
    const installed = await runShip(["--config", app.config]);
    expect(installed.code, installed.stderr).toBe(0);

    const logs = join(app.appDir, "logs");
    await mkdir(logs, { recursive: true });
    await writeFile(join(logs, "old.log"), "old\n");
    await writeFile(join(logs, "new.log"), "new\n");
    const old = Date.now() / 1000 - 40 * DAY_S;
    await utimes(join(logs, "old.log"), old, old);

    const idle = await runShip(["--config", app.config]);
    expect(idle.code, idle.stderr).toBe(0);
    expect(idle.stdout).toMatch(/myapp: .*(up to date|unchanged|no change|same)/i);
    expect(existsSync(join(logs, "old.log"))).toBe(false);
    expect(existsSync(join(logs, "new.log"))).toBe(true);
  });
});
