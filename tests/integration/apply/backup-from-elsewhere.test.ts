/**
 * A backup whose update never ran in this app: backup_dir copied from another host (an image, an
 * rsync of /var/lib/ship) onto one with the same paths and nothing installed. With no install index
 * to start the chain from, `ship --rollback` took the copied backup for the newest one, wrote its
 * saved files into the empty app ("back on 1.0.0", exit 0) and recorded a version the app had never
 * held. Real `ship` runs.
 */
import { cp, mkdir, readdir, rename, rm } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { backupStamp } from "../../../agent/backup/backup-store.js";
import { runShip } from "../../support/ship-cli.js";
import { type LocalApp, localApp } from "../cli/local-app.js";
import { installVersions } from "./installed-versions.js";
import { snapshot } from "./tree-fixtures.js";

interface Row {
  id: string;
  version: string | null;
  restorable: boolean;
  notRestorable?: string;
}

let app: LocalApp;
beforeEach(async () => {
  app = await localApp();
});
afterEach(async () => {
  await app.cleanup();
});

const listed = async (): Promise<Row[]> =>
  JSON.parse((await runShip(["--config", app.config, "--list-backups", "--json"])).stdout);

/**
 * Another host's history (1.0.0, then 2.0.0) at this app's paths; then this host: the same paths,
 * nothing installed, no state, and the other host's backups copied into its backup_dir. Resolves to
 * backup_dir.
 */
async function otherHostsBackups(): Promise<string> {
  await installVersions(app, ["1", "2"]);
  const backups = join(app.root, "var/backups");
  const aside = join(app.root, "other-host-backups");
  await cp(backups, aside, { recursive: true });
  await rm(join(app.root, "var"), { recursive: true });
  await rm(app.appDir, { recursive: true });
  await mkdir(app.appDir);
  await cp(aside, backups, { recursive: true });
  return backups;
}

/** Resolves once the clock's second is past that of every backup in `dir`: later ids are new to it. */
async function pastSecondOf(dir: string): Promise<void> {
  const seconds = (await readdir(dir)).map((id) => /\d{8}T\d{6}Z/.exec(id)?.[0] ?? "");
  const newest = seconds.sort().at(-1) ?? "";
  await vi.waitFor(() => expect(backupStamp(new Date()) > newest).toBe(true), {
    timeout: 2000,
    interval: 20,
  });
}

describe("a backup that has nothing in the app to undo (real CLI)", () => {
  it("another host's backups at the same paths, nothing installed here: listed not restorable, refused, nothing changed", async () => {
    const backups = await otherHostsBackups();
    const copied = await snapshot(backups);

    const rows = await listed();
    expect(rows.map((r) => r.version)).toEqual(["1.0.0", null]);
    for (const row of rows) {
      expect(row.restorable, row.id).toBe(false);
      expect(row.notRestorable).toContain("has nothing here to undo");
    }
    for (const row of rows) {
      const rollback = await runShip(["--config", app.config, "--rollback", row.id]);
      // Before: "myapp: back on 1.0.0 (1 backup(s) restored)", exit 0, the saved files in the app.
      expect(rollback.code, rollback.stdout + rollback.stderr).toBe(2);
      expect(rollback.stderr).toContain("none of the file(s) the update");
      expect(rollback.stderr).toContain("app.txt, f2.txt");
      expect(rollback.stderr).toContain("nothing was changed");
      expect(await readdir(app.appDir)).toEqual([]);
      expect(await snapshot(backups)).toEqual(copied);
    }
    // No version recorded, no state directory made for the app.
    expect((await readdir(join(app.root, "var"))).filter((n) => n !== "locks")).toEqual(["backups"]);
  });

  it("another host's backups do not make a fresh host's first install an update of the other host's version", async () => {
    await otherHostsBackups();
    await app.release("r15", 'version: "1.5.0"\n', { "app.txt": "v1.5\n" });
    // Before: "update available (none recorded: … yet backup … was made when ship installed 2.0.0
    // here) -> 1.5.0", and the run refused 1.5.0 as a downgrade from 2.0.0 on a host holding nothing.
    const check = await runShip(["--config", app.config, "--check-only"]);
    expect(check.code, check.stdout + check.stderr).toBe(100);
    expect(check.stdout).toContain("update available (nothing installed) -> 1.5.0");
    const run = await runShip(["--config", app.config]);
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(run.stdout).toContain("myapp: installed 1.5.0 (no earlier version recorded)");
    expect((await app.state()).sources.myapp?.current_version).toBe("1.5.0");
  });

  it("another host's backup of another build of the installed version: refused, and this host's own still restores", async () => {
    // This host: 1.0.0 and 2.0.0 of its own builds; moved aside while the other host runs at its paths.
    await installVersions(app, ["1", "2"], (v) => ({ "app.txt": `here ${v}\n`, [`here${v}.txt`]: "h\n" }));
    const here = { app: `${app.appDir}-here`, state: join(app.root, "var-here") };
    await rename(app.appDir, here.app);
    await rename(join(app.root, "var"), here.state);
    await mkdir(app.appDir);
    // A backup id is the app and the second it was made (`-2`, … within one directory): four quick
    // updates in one second gave the other host's newest backup this host's newest id, and the
    // copy below merged it into this host's own (`own` undefined: seen with the ids forced equal).
    // Two hosts' backups of one second do share an id; this test is of one beside this host's own.
    await pastSecondOf(join(here.state, "backups/myapp"));
    await installVersions(app, ["1", "2"]);
    const [theirs] = await listed();
    await rm(app.appDir, { recursive: true });
    await rename(join(app.root, "var"), join(app.root, "var-there"));
    await rename(here.app, app.appDir);
    await rename(here.state, join(app.root, "var"));
    await cp(
      join(app.root, "var-there/backups/myapp", String(theirs?.id)),
      join(app.root, "var/backups/myapp", String(theirs?.id)),
      { recursive: true },
    );
    const before = await snapshot(app.appDir);

    const rows = await listed();
    const foreign = rows.find((r) => r.id === theirs?.id);
    const own = rows.find((r) => r.id !== theirs?.id && r.version === "1.0.0");
    expect(foreign?.restorable).toBe(false);
    expect(own?.restorable).toBe(true);
    // Before: "myapp: back on 1.0.0", exit 0: the other host's 1.0.0 files beside this host's
    // 2.0.0 ones ("left alone: app.txt"), all recorded as 1.0.0.
    const refused = await runShip(["--config", app.config, "--rollback", String(foreign?.id)]);
    expect(refused.code, refused.stdout + refused.stderr).toBe(2);
    expect(refused.stderr).toContain("nothing was changed");
    expect(await snapshot(app.appDir)).toEqual(before);
    const rollback = await runShip(["--config", app.config, "--rollback", String(own?.id)]);
    expect(rollback.code, rollback.stdout + rollback.stderr).toBe(0);
    expect(Object.keys(await snapshot(app.appDir)).sort()).toEqual(["app.txt", "here1.txt"]);
    expect((await app.state()).sources.myapp?.current_version).toBe("1.0.0");
  });

  it("the install index lost by hand: the newest backup's files are in the app, so it still restores", async () => {
    await installVersions(app, ["1", "2"]);
    const apps = join(app.root, "var/apps");
    const [stateDir] = await readdir(apps);
    await rm(join(apps, String(stateDir), "install-index.json"));
    const [newest] = await listed();
    expect(newest?.restorable).toBe(true);
    const rollback = await runShip(["--config", app.config, "--rollback", String(newest?.id)]);
    expect(rollback.code, rollback.stdout + rollback.stderr).toBe(0);
    expect((await snapshot(app.appDir))["f1.txt"]).toBeDefined();
    expect((await app.state()).sources.myapp?.current_version).toBe("1.0.0");
  });
});
