/**
 * `ship --rollback PATH` of a backup moved out of backup_dir (what the message about a damaged
 * backup advises; or an operator keeping a copy aside). It was refused as "holds no backup with id
 * … any more (another run restored it …)", which no run had done. Real `ship` runs.
 */
import { mkdir, readFile, rename, rm, symlink } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runShip } from "../../support/ship-cli.js";
import type { LocalApp } from "../cli/local-app.js";
import { installedVersionsForFile } from "./installed-versions.js";
import { snapshot } from "./tree-fixtures.js";

let app: LocalApp;
installedVersionsForFile(["1", "2"], (made) => {
  app = made;
});

describe("ship --rollback of a backup outside backup_dir (real CLI)", () => {
  it("says it is outside and where to put it back; once back, it restores", async () => {
    const listed = await runShip(["--config", app.config, "--list-backups", "--json"]);
    const [newest] = JSON.parse(listed.stdout) as { id: string; path: string }[];
    const aside = join(app.root, "kept", String(newest?.id));
    await mkdir(join(app.root, "kept"));
    await rename(String(newest?.path), aside);
    const before = await snapshot(app.appDir);

    const run = await runShip(["--config", app.config, "--rollback", aside]);
    expect(run.code, run.stdout + run.stderr).toBe(2);
    expect(run.stderr).toBe(
      `ship: ${aside} is outside backup_dir (${app.root}/var/backups): ship restores a backup only from there, with the newer backups of its app; move it back to ${app.root}/var/backups/myapp/ to restore it; nothing was changed\n`,
    );
    expect(await snapshot(app.appDir)).toEqual(before);

    await rename(aside, String(newest?.path));
    const back = await runShip(["--config", app.config, "--rollback", String(newest?.path)]);
    expect(back.code, back.stdout + back.stderr).toBe(0);
    expect(await readFile(join(app.appDir, "app.txt"), "utf8")).toBe("v1\n");
  });

  it("a PATH is judged where its links lead", async () => {
    const listed = await runShip(["--config", app.config, "--list-backups", "--json"]);
    const [newest] = JSON.parse(listed.stdout) as { id: string; path: string }[];
    const inside = String(newest?.path);
    // A link in backup_dir to the backup moved aside: outside, not "another run restored it".
    const aside = join(app.root, "kept", String(newest?.id));
    await mkdir(join(app.root, "kept"));
    await rename(inside, aside);
    await symlink(aside, inside);
    const linkedIn = await runShip(["--config", app.config, "--rollback", inside]);
    expect(linkedIn.code, linkedIn.stdout + linkedIn.stderr).toBe(2);
    expect(linkedIn.stderr).toBe(
      `ship: ${inside} is outside backup_dir (${app.root}/var/backups): ship restores a backup only from there, with the newer backups of its app; move it back to ${app.root}/var/backups/myapp/ to restore it; nothing was changed\n`,
    );

    // A link elsewhere to the backup in backup_dir: it is there, and restores (it was told to move
    // the backup back to where it was).
    await rm(inside);
    await rename(aside, inside);
    const link = join(app.root, "kept", "link");
    await symlink(inside, link);
    const back = await runShip(["--config", app.config, "--rollback", link]);
    expect(back.code, back.stdout + back.stderr).toBe(0);
    expect(await readFile(join(app.appDir, "app.txt"), "utf8")).toBe("v1\n");
  });
});
