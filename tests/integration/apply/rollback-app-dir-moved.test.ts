/**
 * `ship --rollback` of a backup made before the operator moved the app (copied it to a new place and
 * changed app_dir). It was refused with "it belongs to another config that shares backup_dir; roll
 * back with that config": there is no other config, and nothing said that app_dir was the cause.
 * Real `ship` runs.
 */
import { cp, mkdir, readFile, rename, rm, symlink, writeFile } from "node:fs/promises";
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

  // The directory moved and a symlink took its name (adopting blue/green: `mv app app-blue;
  // ln -s app-green app`), app_dir unchanged: the backup was matched by app_dir's spelling, and
  // its rollback wrote blue's old files into green ("left alone" green's own), exit 0, blue on 2.0.0.
  it("moved and a symlink took its name: exit 2 naming where app_dir leads now, neither tree touched; moved back, it restores", async () => {
    const [newest] = await listedBackups(app);
    const blue = join(app.root, "app-blue");
    const green = join(app.root, "app-green");
    await rename(app.appDir, blue);
    await mkdir(green);
    await writeFile(join(green, "app.txt"), "green's own\n");
    await symlink(green, app.appDir);
    const blueBefore = await snapshot(blue);
    const greenBefore = await snapshot(green);

    const refused = await runShip(["--config", app.config, "--rollback", newest?.id ?? ""]);
    expect(refused.code, refused.stdout + refused.stderr).toBe(2);
    expect(refused.stderr.trim().split("\n").at(-1)).toBe(
      `ship: ${app.config} sources.myapp.app_dir: is ${app.appDir}, which now leads to ${green}, but backup ${newest?.id} restores the directory that was at ${app.appDir} when it was made (moved since, and a symlink took its name): to restore it, move that directory back to ${app.appDir} in place of the symlink; nothing was changed`,
    );
    expect(await snapshot(green)).toEqual(greenBefore);
    expect(await snapshot(blue)).toEqual(blueBefore);
    // Listed as the app's backups no more: they are not green's.
    expect(await listedBackups(app)).toEqual([]);

    await rm(app.appDir);
    await rename(blue, app.appDir);
    const back = await runShip(["--config", app.config, "--rollback", newest?.id ?? ""]);
    expect(back.code, back.stdout + back.stderr).toBe(0);
    expect(back.stdout).toContain("myapp: back on 1.0.0");
    expect(await readFile(join(app.appDir, "app.txt"), "utf8")).toBe("v1\n");
  }, 30_000);

  it("moved on its filesystem and reached through a symlink since: the same directory, restored in place", async () => {
    const [newest] = await listedBackups(app);
    const moved = join(app.root, "app-1");
    await rename(app.appDir, moved);
    await symlink(moved, app.appDir);
    const back = await runShip(["--config", app.config, "--rollback", newest?.id ?? ""]);
    expect(back.code, back.stdout + back.stderr).toBe(0);
    expect(back.stdout).toContain("myapp: back on 1.0.0");
    expect(await readFile(join(moved, "app.txt"), "utf8")).toBe("v1\n");
  }, 30_000);
});
