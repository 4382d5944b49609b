/**
 * `ship --rollback` of a backup made before the operator moved the app (copied it to a new place and
 * changed app_dir). It was refused with "it belongs to another config that shares backup_dir; roll
 * back with that config": there is no other config, and nothing said that app_dir was the cause.
 * Real `ship` runs.
 */
import { cp, mkdir, readdir, readFile, rename, rm, symlink, writeFile } from "node:fs/promises";
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
      `ship: ${app.config}:9:1 sources.myapp.app_dir: is ${moved}, but backup ${newest?.id} restores ${app.appDir}, which no source of this config installs into (another config sharing backup_dir made it, or app_dir was changed since): roll back with the config that installs there, or set app_dir back to it; nothing was changed\n`,
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
      `ship: ${app.config}:9:1 sources.myapp.app_dir: is ${app.appDir}, which now leads to ${green}, but backup ${newest?.id} restores the directory that was at ${app.appDir} when it was made (moved since, and a symlink took its name; a copy of it, on another disk say, is another directory to ship): to restore it, move that directory back to ${app.appDir} in place of the symlink; if the app stays at ${green}, no backup made before the move can restore it and keep_backups does not prune them: ship --list-backups names them, to remove by hand; nothing was changed`,
    );
    expect(await snapshot(green)).toEqual(greenBefore);
    expect(await snapshot(blue)).toEqual(blueBefore);
    // Listed as the app's backups no more: they are not green's. The note said "make it lead there
    // again" (app_dir itself) and named none of them, which no run ever prunes.
    const ids = (await readdir(join(app.root, "var/backups/myapp"))).sort().reverse();
    const listed = await runShip(["--config", app.config, "--list-backups"]);
    expect(listed.stderr).toBe(
      `2 backup(s) of myapp (${ids.join(", ")} in ${join(app.root, "var/backups/myapp")}) restore the directory that was at ${app.appDir} when they were made; a symlink there leads to ${green} now (the app moved, to another disk say): not listed; to restore them, move that directory back to ${app.appDir} in place of the symlink; if the app stays at ${green}, they cannot restore it and keep_backups does not prune them: remove them by hand once you no longer need them\n`,
    );
    expect(await listedBackups(app)).toEqual([]);

    await rm(app.appDir);
    await rename(blue, app.appDir);
    const back = await runShip(["--config", app.config, "--rollback", newest?.id ?? ""]);
    expect(back.code, back.stdout + back.stderr).toBe(0);
    expect(back.stdout).toContain("myapp: back on 1.0.0");
    expect(await readFile(join(app.appDir, "app.txt"), "utf8")).toBe("v1\n");
  });

  // app_dir = <root>/current/app with current → releases/a, re-pointed to releases/b (its own copy):
  // app_dir's spelling never changed, yet the refusal blamed "another config sharing backup_dir"
  // or "app_dir was changed since", and --list-backups counted them as no source's.
  it("a symlink on app_dir's way re-pointed: exit 2 naming where it led and leads now, neither tree touched; pointed back, it restores", async () => {
    const releases = join(app.root, "releases");
    await mkdir(join(releases, "a"), { recursive: true });
    const current = join(app.root, "current");
    await symlink(join(releases, "a"), current);
    const appDir = join(current, "app");
    const config = await readFile(app.config, "utf8");
    const pointAt = async (release: string) => {
      await rm(current);
      await symlink(join(releases, release), current);
    };
    // Installed through the link, in releases/a.
    const useAppDir = async () =>
      writeFile(
        app.config,
        (await readFile(app.config, "utf8")).replace(`app_dir = "${app.appDir}"`, `app_dir = "${appDir}"`),
      );
    await app.release("r3", 'version: "3.0.0"\n', { "app.txt": "v3\n" });
    await useAppDir();
    expect((await runShip(["--config", app.config])).code).toBe(0);
    await app.release("r4", 'version: "4.0.0"\n', { "app.txt": "v4\n" });
    await useAppDir();
    expect((await runShip(["--config", app.config])).code).toBe(0);
    const viaLink = await listedBackups(app);
    const [newest] = viaLink;
    expect(newest?.version).toBe("3.0.0");
    await cp(join(releases, "a"), join(releases, "b"), { recursive: true });
    await writeFile(join(releases, "b/app/app.txt"), "b's own\n");
    await pointAt("b");
    const a = await snapshot(join(releases, "a"));
    const b = await snapshot(join(releases, "b"));

    const refused = await runShip(["--config", app.config, "--rollback", newest?.id ?? ""]);
    expect(refused.code, refused.stdout + refused.stderr).toBe(2);
    expect(refused.stderr.trim().split("\n").at(-1)).toBe(
      `ship: ${app.config}:9:1 sources.myapp.app_dir: is ${appDir}, which now leads to ${join(releases, "b/app")}, but backup ${newest?.id} restores ${join(releases, "a/app")}, where ${appDir} led when it was made (a symlink on its way was re-pointed since, or the directory moved): to restore it, make ${appDir} lead to ${join(releases, "a/app")} again; nothing was changed`,
    );
    expect(await snapshot(join(releases, "a"))).toEqual(a);
    expect(await snapshot(join(releases, "b"))).toEqual(b);
    const listed = await runShip(["--config", app.config, "--list-backups"]);
    expect(listed.stderr).toContain(
      `2 backup(s) of myapp (${viaLink.map((b) => b.id).join(", ")} in ${join(app.root, "var/backups/myapp")}) restore ${join(releases, "a/app")}, where sources.myapp.app_dir led when they were made; it leads to ${join(releases, "b/app")} now (a symlink on its way was re-pointed, or the app moved): not listed; make it lead there again to list and restore them (keep_backups does not prune them meanwhile)`,
    );
    // beforeEach's two, made before app_dir was changed to go through the link: another cause,
    // named by the directory they restore (it said "app directories" without naming one).
    expect(listed.stderr).toContain(
      `2 backup(s) in ${join(app.root, "var/backups")} restore ${app.appDir}, which no source of this config installs into (another config sharing backup_dir made them, or app_dir was changed since): not listed`,
    );

    await pointAt("a");
    const back = await runShip(["--config", app.config, "--rollback", newest?.id ?? ""]);
    expect(back.code, back.stdout + back.stderr).toBe(0);
    expect(await readFile(join(releases, "a/app/app.txt"), "utf8")).toBe("v3\n");
    expect(config).toContain(app.appDir);
  });

  it("moved on its filesystem and reached through a symlink since: the same directory, restored in place", async () => {
    const [newest] = await listedBackups(app);
    const moved = join(app.root, "app-1");
    await rename(app.appDir, moved);
    await symlink(moved, app.appDir);
    const back = await runShip(["--config", app.config, "--rollback", newest?.id ?? ""]);
    expect(back.code, back.stdout + back.stderr).toBe(0);
    expect(back.stdout).toContain("myapp: back on 1.0.0");
    expect(await readFile(join(moved, "app.txt"), "utf8")).toBe("v1\n");
  });
});
