/**
 * `ship --rollback` after the app directory was moved and a symlink took its name (adopting a
 * blue/green layout: `mv app app-blue; ln -s app-green app`), app_dir unchanged in ship.toml. The
 * backup was matched by app_dir's spelling: its rollback wrote blue's old files into green, a tree
 * ship had never installed into (green's own file "left alone"), said "back on 1.0.0", exit 0, and
 * blue stayed on 2.0.0. It is refused now, exit 2 naming both directories; moved back, it restores.
 * Real `ship` runs.
 */
import { mkdir, readFile, rename, rm, symlink, writeFile } from "node:fs/promises";
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

describe("ship --rollback after the app directory was moved and a symlink took its name (real CLI)", () => {
  it("exit 2 naming where app_dir leads now, neither tree touched; moved back, it restores", async () => {
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
});
