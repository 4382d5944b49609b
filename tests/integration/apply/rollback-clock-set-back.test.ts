/**
 * `ship --rollback` after the clock was set back (a VM restored from a snapshot, an RTC wrong until
 * NTP corrects it): a backup made while the clock ran ahead sorts as the newest. The chain was
 * taken in that order, so it started at a backup that does not undo what is installed and every
 * rollback was refused: "has no backup that undoes the installed 3.0.0 … (was a backup deleted by
 * hand?)", exit 2, with every backup there. Real `ship` runs; the backup's meta.json carries the
 * time the fast clock gave it.
 */
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { runShip } from "../../support/ship-cli.js";
import { type LocalApp, localApp } from "../cli/local-app.js";
import { installVersions, listedBackups } from "./installed-versions.js";
import { snapshot } from "./tree-fixtures.js";

let app: LocalApp;
beforeEach(async () => {
  app = await localApp();
});
afterEach(async () => {
  await app.cleanup();
});

const backups = () => listedBackups(app);

/** Installs 1.0.0, 2.0.0 (its backup dated an hour ahead, as a fast clock made it) and 3.0.0. */
async function historyWithFastBackup(): Promise<void> {
  await installVersions(app, ["1", "2"]);
  const [two] = await backups();
  const metaFile = join(String(two?.path), "meta.json");
  const meta = JSON.parse(await readFile(metaFile, "utf8")) as Record<string, unknown>;
  await writeFile(
    metaFile,
    JSON.stringify({ ...meta, created: new Date(Date.now() + 3_600_000).toISOString() }),
  );
  await installVersions(app, ["3"]);
}

describe("ship --list-backups with a backup dated ahead of the clock (real CLI)", () => {
  it("lists the backups in the order of the updates: the top row undoes the last update", async () => {
    await historyWithFastBackup();
    // Was 1.0.0 (the fast-dated backup) first: its --rollback went back two versions.
    expect((await backups()).map((b) => b.version)).toEqual(["2.0.0", "1.0.0", null]);
    const table = await runShip(["--config", app.config, "--list-backups"]);
    expect(table.stdout.split("\n")[1]).toMatch(/^myapp-\S+ +myapp +2\.0\.0 /);
    const [top] = await backups();
    const run = await runShip(["--config", app.config, "--rollback", String(top?.id)]);
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(run.stdout).toBe("myapp: back on 2.0.0 (1 backup(s) restored)\n");
  });
});

describe("ship --rollback with a backup dated ahead of the clock (real CLI)", () => {
  it("follows the updates, not the dates: undoes 3.0.0 then 2.0.0", async () => {
    await installVersions(app, ["1"]);
    const onOne = await snapshot(app.appDir);
    await installVersions(app, ["2"]);
    const [two] = await backups();
    const metaFile = join(String(two?.path), "meta.json");
    const meta = JSON.parse(await readFile(metaFile, "utf8")) as Record<string, unknown>;
    await writeFile(
      metaFile,
      JSON.stringify({ ...meta, created: new Date(Date.now() + 3_600_000).toISOString() }),
    );
    await installVersions(app, ["3"]);

    const one = (await backups()).find((b) => b.version === "1.0.0");
    const run = await runShip(["--config", app.config, "--rollback", String(one?.id)]);
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(run.stdout).toBe("myapp: back on 1.0.0 (2 backup(s) restored)\n");
    expect(await snapshot(app.appDir)).toEqual(onOne);
    expect((await app.state()).sources.myapp).toMatchObject({ current_version: "1.0.0" });
  });
});
