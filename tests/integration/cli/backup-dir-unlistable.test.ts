/**
 * A backup_dir shared with another config whose directory there this run's user cannot read (a
 * real unreadable directory, ship run as nobody): listing backup_dir fails. An update that stands
 * must stand (finalize's merge-base housekeeping threw, and the update read "UPDATE FAILED AND
 * RESTORE FAILED", exit 3); keep_backups says why it pruned nothing, naming backup_dir, and deletes
 * nothing on a partial view; a run that must know whether ship installed here before (install index
 * and state gone) refuses with exit 2 naming backup_dir, changing nothing.
 */
import { chmod, chown, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { asRoot, chownToNobody, NOBODY } from "../../support/as-nobody.js";
import { runShip } from "../../support/ship-cli.js";

let root: string;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "ship-backup-unlistable-"));
  await chmod(root, 0o755);
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

async function setUp(name: string) {
  const dir = join(root, name);
  for (const sub of ["r1", "r2", "app", "var/backups"]) await mkdir(join(dir, sub), { recursive: true });
  for (const [rel, version] of [
    ["r1", "1.0.0"],
    ["r2", "2.0.0"],
  ] as const) {
    await writeFile(join(dir, rel, "a.txt"), `${version}\n`);
    await writeFile(
      join(dir, rel, "update-manifest.yaml"),
      `version: "${version}"\nrollback:\n  keep_backups: 1\n`,
    );
  }
  const config = (release: string) =>
    writeFile(
      join(dir, "ship.toml"),
      `[general]\nstate_file = "${dir}/var/state.json"\nbackup_dir = "${dir}/var/backups"\nmin_interval_hours = 0\n\n[sources.myapp]\ntype = "local"\npath = "${join(dir, release)}"\napp_dir = "${dir}/app"\n`,
    );
  await chownToNobody(dir);
  const other = join(dir, "var", "backups", "other");
  const ship = async (release: string) => {
    await config(release);
    await chown(join(dir, "ship.toml"), NOBODY.uid, NOBODY.gid);
    return runShip(["--config", join(dir, "ship.toml"), "--force"], { user: NOBODY });
  };
  /** Another config's backups, this user may not read. */
  const closeOther = async () => {
    await mkdir(other, { recursive: true });
    await chmod(other, 0o700);
  };
  return { dir, ship, closeOther };
}

describe("backup_dir that cannot be listed", () => {
  it("an update stands (exit 0) and keep_backups names backup_dir instead of pruning", async (ctx) => {
    if (!asRoot) ctx.skip();
    const { dir, ship, closeOther } = await setUp("update");
    expect((await ship("r1")).code).toBe(0);
    await closeOther();
    const second = await ship("r2");
    expect(second.code, second.stderr).toBe(0);
    expect(await readFile(join(dir, "app", "a.txt"), "utf8")).toBe("2.0.0\n");
    expect(`${second.stdout}${second.stderr}`).toContain(
      `backup_dir ${dir}/var/backups cannot be listed: EACCES`,
    );
    // keep_backups 1, yet nothing pruned on a listing that could not see everything.
    expect(await readdir(join(dir, "var", "backups", "myapp"))).toHaveLength(2);
  });

  it("a run that must ask the backups which version ship installed refuses with exit 2, naming backup_dir", async (ctx) => {
    if (!asRoot) ctx.skip();
    const { dir, ship, closeOther } = await setUp("first");
    await closeOther();
    const first = await ship("r1");
    expect(first.code, first.stderr).toBe(2);
    expect(`${first.stdout}${first.stderr}`).toContain(
      `backup_dir ${dir}/var/backups cannot be listed: EACCES`,
    );
    expect(await readdir(join(dir, "app"))).toEqual([]);
  });
});
