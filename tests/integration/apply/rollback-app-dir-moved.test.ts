/**
 * `ship --rollback` of a backup made before the operator moved the app (copied it to a new place and
 * changed app_dir). It was refused with "it belongs to another config that shares backup_dir; roll
 * back with that config": there is no other config, and nothing said that app_dir was the cause.
 * Real `ship` runs.
 */
import { cp, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { runShip } from "../../support/ship-cli.js";
import { type LocalApp, localApp } from "../cli/local-app.js";
import { installVersions, listedBackups } from "./installed-versions.js";
import { snapshot } from "./tree-fixtures.js";

let app: LocalApp;
beforeEach(async () => {
  app = await localApp();
  await installVersions(app, ["1", "2"]);
});
afterEach(async () => {
  await app.cleanup();
});

describe("ship --rollback after app_dir was changed (real CLI)", () => {
  it("names app_dir as a possible cause and the two ways out, nothing changed; set back, it restores", async () => {
    const [newest] = await listedBackups(app);
    const moved = join(app.root, "app2");
    await cp(app.appDir, moved, { recursive: true });
    const config = await readFile(app.config, "utf8");
    await writeFile(app.config, config.replace(`app_dir = "${app.appDir}"`, `app_dir = "${moved}"`));
    const before = await snapshot(app.appDir);

    const refused = await runShip(["--config", app.config, "--rollback", String(newest?.id)]);
    expect(refused.code, refused.stdout + refused.stderr).toBe(2);
    expect(refused.stderr).toBe(
      `ship: ${app.config} sources.myapp.app_dir: is ${moved}, but backup ${newest?.id} restores ${app.appDir}, which no source of this config installs into (another config sharing backup_dir made it, or app_dir was changed since): roll back with the config that installs there, or set app_dir back to it; nothing was changed\n`,
    );
    expect(await snapshot(app.appDir)).toEqual(before);

    await writeFile(app.config, config);
    const back = await runShip(["--config", app.config, "--rollback", String(newest?.id)]);
    expect(back.code, back.stdout + back.stderr).toBe(0);
    expect(await readFile(join(app.appDir, "app.txt"), "utf8")).toBe("v1\n");
  });
});
