/**
 * A backup whose saved copy of a file is gone (deleted by hand to free space, or a removal of the
 * backup that was cut short), restored with real `ship --rollback` runs. The restore skipped the
 * missing copy without a word: "back on 1.0.0", exit 0, with 2.0.0's b.txt left among 1.0.0's files
 * and the install index claiming 1.0.0's. Now it is refused naming the backup and the file, exit 2,
 * before anything moves — also when the backup is an older link of a chain.
 */
import { rm } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runShip } from "../../support/ship-cli.js";
import type { LocalApp } from "../cli/local-app.js";
import { installedVersionsForFile } from "./installed-versions.js";
import { snapshot } from "./tree-fixtures.js";

let app: LocalApp;
installedVersionsForFile(["1", "2", "3"], (made) => {
  app = made;
});

async function backupOf(version: string): Promise<{ id: string; path: string }> {
  const listed = await runShip(["--config", app.config, "--list-backups", "--json"]);
  const found = (JSON.parse(listed.stdout) as { id: string; path: string; version: string | null }[]).find(
    (b) => b.version === version,
  );
  if (found === undefined) throw new Error(`no backup of ${version}: ${listed.stdout}`);
  return found;
}

describe("ship --rollback of a backup missing a saved file (real CLI)", () => {
  it("an older backup of the chain: refused before the first restore, nothing changed", async () => {
    // The rollback to 1.0.0 restores 3.0.0's backup (whole) first, then 2.0.0's (broken).
    const broken = await backupOf("1.0.0");
    await rm(join(broken.path, "files", "app.txt"));
    const before = await snapshot(app.appDir);

    const run = await runShip(["--config", app.config, "--rollback", broken.id]);
    expect(run.code, run.stdout + run.stderr).toBe(2);
    expect(run.stderr).toContain(
      `${broken.path} is damaged, its saved copy of app.txt is missing (deleted by hand, or a removal of the backup was cut short): this backup cannot be restored`,
    );
    expect(run.stdout).not.toContain("back on");
    expect(await snapshot(app.appDir)).toEqual(before);
    expect((await app.state()).sources.myapp?.current_version).toBe("3.0.0");
  });

  it("the newest backup: refused, the app still on 3.0.0", async () => {
    const newest = await backupOf("2.0.0");
    await rm(join(newest.path, "files", "app.txt"));
    const before = await snapshot(app.appDir);
    const run = await runShip(["--config", app.config, "--rollback", newest.id]);
    expect(run.code, run.stdout + run.stderr).toBe(2);
    expect(run.stderr).toContain(`${newest.path} is damaged, its saved copy of app.txt is missing`);
    expect(await snapshot(app.appDir)).toEqual(before);
  });
});
