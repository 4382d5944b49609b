/**
 * The install index deleted by hand (as a damaged one's message advises), then an update: that
 * update records no version before it, so the backups older than its own do not chain to it. A
 * rollback across it was refused blaming "a backup between them was pruned, deleted by hand, or has
 * a damaged meta.json" (none was), and rolling back that update said "back on the tree before
 * ship's first install" about an app ship had installed twice. Real `ship` runs.
 */
import { existsSync } from "node:fs";
import { readdir, readFile, rm, writeFile } from "node:fs/promises";
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

describe("backups across an update that found its install index deleted (real CLI)", () => {
  it("names that update's backup as the cause and the way on; rolled back in turn, each restores", async () => {
    await installVersions(app, ["1", "2"]);
    const apps = join(app.root, "var/apps");
    const [stateDir] = await readdir(apps);
    const stateDirPath = join(apps, String(stateDir));
    await rm(join(stateDirPath, "install-index.json"));
    // Killed mid-apply, then recovered: recovery said "restored the tree before ship's first install"
    // and "no earlier version was installed", of an app ship had installed twice.
    await app.release("r3", 'version: "3.0.0"\n', { "app.txt": "v3\n", "f3.txt": "3\n" });
    // The check said "(nothing installed)" of an app holding the files of 2.0.0, which the run replaces.
    const unrecordedCheck = await runShip(["--config", app.config, "--check-only"]);
    expect(unrecordedCheck.code, unrecordedCheck.stderr).toBe(100);
    expect(unrecordedCheck.stdout).toContain(
      "update available (none recorded: the install index is gone; ship installed 2.0.0) -> 3.0.0",
    );
    const killed = await runShip(["--config", app.config], { env: { SHIP_FAULT: "apply:file@2" } });
    expect(killed.code, killed.stderr).toBeNull();
    const check = await runShip(["--config", app.config, "--check-only"]);
    expect(check.stdout).toContain("the next run (or ship --recover) undoes what it installed first");
    const recovered = await runShip(["--config", app.config, "--recover"]);
    expect(recovered.code, recovered.stdout + recovered.stderr).toBe(0);
    expect(recovered.stdout + recovered.stderr).not.toMatch(/first install|no earlier version was installed/);
    expect(recovered.stdout).toContain(
      "update to 3.0.0 was interrupted; undid what it installed: the app is as it was before (no earlier version was recorded)",
    );
    expect(await readFile(join(app.appDir, "app.txt"), "utf8")).toBe("v2\n");
    await installVersions(app, ["3"]);
    const [unrecorded, toV1] = await listedBackups(app);
    expect(unrecorded?.version).toBeNull();
    expect(toV1?.version).toBe("1.0.0");
    // Its row said "(pre-ship)" like the first install's, about a tree ship had installed twice.
    const rows = (await runShip(["--config", app.config, "--list-backups"])).stdout.split("\n");
    const restores = (id: string | undefined) => rows.find((r) => r.startsWith(`${id} `))?.split(/\s+/)[2];
    const [, , firstInstall] = await listedBackups(app);
    expect([unrecorded?.id, toV1?.id, firstInstall?.id].map(restores)).toEqual([
      "(unrecorded)",
      "1.0.0",
      "(pre-ship)",
    ]);
    const before = await snapshot(app.appDir);

    const refused = await runShip(["--config", app.config, "--rollback", toV1?.id ?? ""]);
    expect(refused.code, refused.stdout + refused.stderr).toBe(2);
    expect(refused.stderr.trim().split("\n").at(-1)).toBe(
      `ship: ${join(app.root, "var/backups")} cannot restore ${toV1?.id} across ${unrecorded?.id}: that backup's update found no install index in ${stateDirPath} (deleted, or lost) and recorded no version before it, so the backups older than it (${toV1?.id}, which undoes 2.0.0, and on) do not chain to it: ship --rollback ${unrecorded?.id} first (it brings back the files that update replaced, and the older backups then restore from there); nothing was changed`,
    );
    expect(await snapshot(app.appDir)).toEqual(before);

    const first = await runShip(["--config", app.config, "--rollback", unrecorded?.id ?? ""]);
    expect(first.code, first.stdout + first.stderr).toBe(0);
    expect(first.stdout).toContain(
      "myapp: back on the tree before ship installed 3.0.0 (no version recorded before it) (1 backup(s) restored)",
    );
    expect(await readFile(join(app.appDir, "app.txt"), "utf8")).toBe("v2\n");

    const then = await runShip(["--config", app.config, "--rollback", toV1?.id ?? ""]);
    expect(then.code, then.stdout + then.stderr).toBe(0);
    expect(then.stdout).toContain("myapp: back on 1.0.0");
    expect(await readFile(join(app.appDir, "app.txt"), "utf8")).toBe("v1\n");
  }, 120_000);

  it("an update that only added files lists as (unrecorded) once the older backups are pruned", async () => {
    await installVersions(app, ["1"]);
    const [stateDir] = await readdir(join(app.root, "var/apps"));
    await rm(join(app.root, "var/apps", String(stateDir), "install-index.json"));
    // Same app.txt, one file more: the backup saves nothing, and keep_backups 1 prunes the first install's.
    // Migrations were all skipped as "the version installed before is unknown", though the state
    // file named 1.0.0: now those after it run, saying where the version came from.
    const migrations = `migrations:\n  "1.0.0": ["touch ${app.root}/m1"]\n  "2.0.0": ["echo from $SHIP_PREVIOUS_VERSION > ${app.root}/m2"]\n`;
    await app.release("r2", `version: "2.0.0"\nrollback:\n  keep_backups: 1\n${migrations}`, {
      "app.txt": "v1\n",
      "f1.txt": "1\n",
      "f2.txt": "2\n",
    });
    const run = await runShip(["--config", app.config, "--verbose"]);
    expect(run.code, run.stderr).toBe(0);
    // The run's own sync forgets the version once the index is gone; its log said the state file
    // was gone too, and its backup listed as the first install's once the older ones were pruned.
    expect(run.stdout + run.stderr).toContain(
      "update available (none recorded: the install index is gone; ship installed 1.0.0) -> 2.0.0",
    );
    expect(run.stdout + run.stderr).toContain(
      "migrations run from 1.0.0, the version ship installed last here (the install index is gone; the state file names it)",
    );
    expect(run.stdout).not.toContain("NOT run");
    expect(existsSync(join(app.root, "m1"))).toBe(false);
    expect(await readFile(join(app.root, "m2"), "utf8")).toBe("from 1.0.0\n");
    const rows = (await runShip(["--config", app.config, "--list-backups"])).stdout.split("\n").slice(1);
    expect(rows.filter((r) => r.trim() !== "").map((r) => r.split(/\s+/)[2])).toEqual(["(unrecorded)"]);
  }, 120_000);

  it("with the state file gone too, the check names the backup that shows ship installed the app, not '(nothing installed)'", async () => {
    await installVersions(app, ["1", "2"]);
    const [stateDir] = await readdir(join(app.root, "var/apps"));
    await rm(join(app.root, "var/apps", String(stateDir), "install-index.json"));
    await rm(app.stateFile);
    await app.release("r3", 'version: "3.0.0"\n', { "app.txt": "v3\n" });
    const [newest] = await listedBackups(app);
    const check = await runShip(["--config", app.config, "--check-only"]);
    expect(check.code, check.stderr).toBe(100);
    expect(check.stdout).toContain(
      `update available (none recorded: the install index is gone and the state file names no version, yet backup ${newest?.id} was made when ship installed 2.0.0 here) -> 3.0.0`,
    );
  }, 120_000);

  it("an older release is refused as a downgrade with the index gone, and with the state file gone too", async () => {
    await installVersions(app, ["1", "2"]);
    const [stateDir] = await readdir(join(app.root, "var/apps"));
    const index = join(app.root, "var/apps", String(stateDir), "install-index.json");
    const newest = (await readdir(join(app.root, "var/backups/myapp"))).sort().at(-1);
    await app.release("r1", 'version: "1.0.0"\n', { "app.txt": "v1\n", "f1.txt": "1\n" });
    // The state file alone gone: the check said "the state file and the install index are gone" of
    // an index that was there, where the run says "the installed 2.0.0".
    const stateText = await readFile(app.stateFile, "utf8");
    await rm(app.stateFile);
    const stateGone = await runShip(["--config", app.config, "--check-only"]);
    expect(stateGone.code, stateGone.stdout + stateGone.stderr).toBe(2);
    expect(stateGone.stdout).toContain("release 1.0.0 is older than the installed 2.0.0;");
    await writeFile(app.stateFile, stateText);
    await rm(index);
    // The run's sync forgot the version the state named, and 1.0.0 installed as a first install.
    const indexGone = await runShip(["--config", app.config]);
    expect(indexGone.code, indexGone.stdout + indexGone.stderr).toBe(2);
    expect(indexGone.stdout).toContain(
      "release 1.0.0 is older than 2.0.0, which ship installed last here (the install index is gone; the state file names it)",
    );
    expect(await readFile(join(app.appDir, "app.txt"), "utf8")).toBe("v2\n");
    // The refused run wrote the state file (naming no version): the next said it was gone.
    const stateWritten = await runShip(["--config", app.config, "--check-only"]);
    expect(stateWritten.stdout).toContain(
      "which ship installed last here (the install index is gone and the state file names no version; backup",
    );
    await rm(app.stateFile, { force: true });
    const bothGone = await runShip(["--config", app.config]);
    expect(bothGone.code, bothGone.stdout + bothGone.stderr).toBe(2);
    expect(bothGone.stdout).toContain(
      `release 1.0.0 is older than 2.0.0, which ship installed last here (the install index is gone and the state file names no version; backup ${newest} was made installing it); to allow it run ship --allow-downgrade once, or set [trust] allow_downgrade = true`,
    );
    expect(await readFile(join(app.appDir, "app.txt"), "utf8")).toBe("v2\n");
    const allowed = await runShip(["--config", app.config, "--allow-downgrade"]);
    expect(allowed.code, allowed.stdout + allowed.stderr).toBe(0);
    expect(allowed.stdout).toBe(
      "myapp: installed 1.0.0 (the install index is gone; ship installed 2.0.0 here last)\n",
    );
    expect(await readFile(join(app.appDir, "app.txt"), "utf8")).toBe("v1\n");
  }, 120_000);
});
