/**
 * The app's own filesystem full mid-apply, with app_dir on another filesystem than backup_dir and
 * work_dir (a real 2 MB tmpfs), met by a real `ship` run. Across filesystems the backup is a copy,
 * and before this was fixed the undo moved that copy back into the full disk, failed the same way,
 * and reported "UPDATE FAILED AND RESTORE FAILED — the app needs a person" (exit 3, said twice, with
 * Node's bare "ENOSPC: …, copyfile '…'") for an app whose every byte was still as before. Now: exit 1,
 * "restored the previous version", the reason in words, the app untouched, the next run clean.
 * And a disk that fills before the backup's records are written: the half-made backup is removed.
 */
import { randomBytes } from "node:crypto";
import { mkdir, mkdtemp, readdir, readFile, rm, statfs, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { runShip } from "../../support/ship-cli.js";
import { mountTmpfs, unmountTmpfs } from "../../support/tmpfs.js";

let root: string;
let mounted = false;

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), "ship-app-disk-full-"));
  await mkdir(join(root, "app"));
  mounted = mountTmpfs(join(root, "app"), "2m");
});
afterEach(async () => {
  if (mounted) unmountTmpfs(join(root, "app"));
  await rm(root, { recursive: true, force: true });
});

async function release(version: string, bytes: number): Promise<string> {
  const dir = join(root, `r${version}`);
  await mkdir(dir);
  await writeFile(join(dir, "update-manifest.yaml"), `version: "${version}"\n`);
  await writeFile(join(dir, "blob.bin"), randomBytes(bytes));
  await writeFile(join(dir, "small.txt"), `${version}\n`);
  return dir;
}

async function shipToml(releaseDir: string): Promise<string> {
  const file = join(root, "ship.toml");
  await writeFile(
    file,
    `[general]\nstate_file = "${root}/var/state.json"\nbackup_dir = "${root}/var/backups"\nmin_interval_hours = 0\n\n` +
      `[sources.myapp]\ntype = "local"\npath = "${releaseDir}"\napp_dir = "${root}/app"\n`,
  );
  return file;
}

describe("the app's filesystem full mid-apply, across filesystems (real tmpfs, real CLI)", () => {
  it("exit 1 and the app exactly as before, not 'RESTORE FAILED' (exit 3)", async (ctx) => {
    if (!mounted) return ctx.skip();
    // 1.2 MB installed; the new 1.2 MB blob needs room beside the old one while it is copied in.
    const config = await shipToml(await release("1.0.0", 1_200_000));
    expect((await runShip(["--config", config])).code).toBe(0);
    const before = await readFile(join(root, "app/blob.bin"));

    await shipToml(await release("2.0.0", 1_200_000));
    const run = await runShip(["--config", config]);
    expect(run.code, run.stdout + run.stderr).toBe(1);
    const lines = run.stdout.trim().split("\n");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(
      /^myapp: update failed at apply: cannot copy \S+ to \S+: no space left on device \(ENOSPC\); restored the previous version$/,
    );
    expect((await readdir(join(root, "app"))).sort()).toEqual(["blob.bin", "small.txt"]);
    expect((await readFile(join(root, "app/blob.bin"))).equals(before)).toBe(true);
    expect(await readFile(join(root, "app/small.txt"), "utf8")).toBe("1.0.0\n");
    const state = JSON.parse(await readFile(join(root, "var/state.json"), "utf8"));
    expect(state.sources.myapp).toMatchObject({ current_version: "1.0.0", last_result: "failed_restored" });

    // Nothing is left for the next run to recover: it has nothing to do but the same update.
    const next = await runShip(["--config", config]);
    expect(next.code).toBe(1);
    expect(next.stderr).not.toContain("interrupted");
  }, 60_000);
});

describe("the disk filled after the release was staged, before the backup (real tmpfs, real CLI)", () => {
  it("the half-written backup goes, the line names it with the reason in words, the app is as before and the next run updates", async (ctx) => {
    if (!mounted) return ctx.skip();
    // app_dir, backup_dir and the state on the one small filesystem, as on a host with one disk.
    const disk = join(root, "app");
    const filler = join(disk, "filler");
    const config = join(root, "ship.toml");
    const use = (dir: string) =>
      writeFile(
        config,
        `[general]\nstate_file = "${disk}/var/state.json"\nbackup_dir = "${disk}/var/backups"\nmin_interval_hours = 0\n\n` +
          `[sources.myapp]\ntype = "local"\npath = "${dir}"\napp_dir = "${disk}/srv"\n`,
      );
    await use(await release("1.0.0", 300_000));
    expect((await runShip(["--config", config])).code).toBe(0);
    const backups = join(disk, "var/backups/myapp");
    const made = await readdir(backups);
    const before = await readFile(join(disk, "srv/blob.bin"));

    // A pre_update hook (a log, a dump) takes what is left once the release is staged.
    const dir = await release("2.0.0", 300_000);
    await writeFile(
      join(dir, "update-manifest.yaml"),
      `version: "2.0.0"\nhooks:\n  pre_update: ["head -c 10000000 /dev/zero > ${filler} || true"]\n`,
    );
    await use(dir);
    const run = await runShip(["--config", config]);
    expect(run.code, run.stdout + run.stderr).toBe(1);
    const lines = run.stdout.trim().split("\n");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(
      new RegExp(
        `^myapp: update failed at apply: could not start the backup ${backups}/myapp-\\S+: (cannot \\w+ ${backups}/\\S+: )?no space left on device \\(ENOSPC\\); the app's files were not changed$`,
      ),
    );
    expect(await readdir(backups)).toEqual(made);
    expect((await readFile(join(disk, "srv/blob.bin"))).equals(before)).toBe(true);
    expect(await readFile(join(disk, "srv/small.txt"), "utf8")).toBe("1.0.0\n");

    await rm(filler);
    await writeFile(join(dir, "update-manifest.yaml"), `version: "2.0.0"\n`);
    const next = await runShip(["--config", config]);
    expect(next.code, next.stdout + next.stderr).toBe(0);
    expect(next.stderr).not.toContain("interrupted");
    expect(await readFile(join(disk, "srv/small.txt"), "utf8")).toBe("2.0.0\n");
    expect(await readdir(backups)).toHaveLength(made.length + 1);
  }, 60_000);
});

describe("a disk too full for the restore's journal (real tmpfs, real CLI)", () => {
  it("--rollback is refused in one line naming the journal, nothing changed, no temporary file left, and runs once there is room", async (ctx) => {
    if (!mounted) return ctx.skip();
    const disk = join(root, "app");
    const filler = join(disk, "filler");
    const config = join(root, "ship.toml");
    const use = (dir: string) =>
      writeFile(
        config,
        `[general]\nstate_file = "${disk}/var/state.json"\nbackup_dir = "${disk}/var/backups"\nmin_interval_hours = 0\n\n` +
          `[sources.myapp]\ntype = "local"\npath = "${dir}"\napp_dir = "${disk}/srv"\n`,
      );
    await use(await release("1.0.0", 100_000));
    expect((await runShip(["--config", config])).code).toBe(0);
    await use(await release("2.0.0", 100_000));
    expect((await runShip(["--config", config])).code).toBe(0);
    const backups = join(disk, "var/backups/myapp");
    const ids = (await readdir(backups)).filter((id) => !id.startsWith("."));
    const metas = await Promise.all(ids.map((id) => readFile(join(backups, id, "meta.json"), "utf8")));
    const id = ids.find((_, i) => JSON.parse(metas[i] ?? "{}").toVersion === "2.0.0") ?? "none";
    const stateDir = join(disk, "var/apps", (await readdir(join(disk, "var/apps")))[0] ?? "");
    const records = (await readdir(stateDir)).sort();

    // One page left: the run takes its lock, the journal finds no room.
    const { bavail, bsize } = await statfs(disk);
    await writeFile(filler, Buffer.alloc((bavail - 1) * bsize));
    const refused = await runShip(["--config", config, "--rollback", id]);
    expect(refused.code, refused.stderr).toBe(1);
    expect(refused.stderr.trim().split("\n").at(-1)).toBe(
      `ship: myapp: cannot restore: cannot write ${stateDir}/journal.json: no space left on device (ENOSPC); nothing was changed`,
    );
    expect(await readFile(join(disk, "srv/small.txt"), "utf8")).toBe("2.0.0\n");
    expect((await readdir(stateDir)).sort()).toEqual(records);

    await rm(filler);
    const back = await runShip(["--config", config, "--rollback", id]);
    expect(back.code, back.stderr).toBe(0);
    expect(await readFile(join(disk, "srv/small.txt"), "utf8")).toBe("1.0.0\n");
  }, 60_000);
});

describe("the fetch's staging on a full work_dir (real tmpfs, real CLI)", () => {
  it("names the file it could not write, for a large and for a small file, and changes nothing", async (ctx) => {
    if (!mounted) return ctx.skip();
    const work = join(root, "app/work");
    const config = join(root, "ship.toml");
    const use = (dir: string) =>
      writeFile(
        config,
        `[general]\nstate_file = "${root}/var/state.json"\nbackup_dir = "${root}/var/backups"\nwork_dir = "${work}"\nmin_interval_hours = 0\n\n` +
          `[sources.myapp]\ntype = "local"\npath = "${dir}"\napp_dir = "${root}/srv"\n`,
      );
    const staged = `${work}/myapp.staging`;
    // Larger than the whole 2 MB disk: copied in chunks through a file handle.
    await use(await release("1.0.0", 3_000_000));
    const big = await runShip(["--config", config]);
    expect(big.code, big.stdout + big.stderr).toBe(1);
    expect(big.stdout.trim()).toBe(
      `myapp: update failed at fetch: cannot write ${staged}/blob.bin: no space left on device (ENOSPC); the app's files were not changed`,
    );

    // One page left: a small file is copied with synchronous writes.
    await mkdir(work, { recursive: true });
    const { bavail, bsize } = await statfs(work);
    await writeFile(join(work, "filler"), Buffer.alloc((bavail - 1) * bsize));
    await use(await release("1.0.1", 20_000));
    const small = await runShip(["--config", config]);
    expect(small.code, small.stdout + small.stderr).toBe(1);
    expect(small.stdout.trim()).toMatch(
      new RegExp(
        `^myapp: update failed at fetch: cannot write ${staged}/(blob\\.bin|small\\.txt|update-manifest\\.yaml): no space left on device \\(ENOSPC\\); the app's files were not changed$`,
      ),
    );
    expect(await readdir(join(root, "srv")).catch(() => [])).toEqual([]);
  }, 60_000);
});
