/**
 * The host's app locks live in one sticky directory (/run/lock/ship, mode 1777) that root runs and
 * the service user share. A root run killed mid-update leaves its lock there, root's; user ship may
 * not remove another user's file from a sticky directory. The takeover of that stale lock said
 * "cannot read directory …lock: a component of the path is not a directory (ENOTDIR)", exit 1, at
 * every run. And a unit that sees the directory read-only (ProtectSystem=strict without
 * ReadWritePaths=-/run/lock) failed every update "cannot write lock file …: (EROFS)", exit 1.
 * Real CLI runs (as nobody, in a mount namespace: so as root only).
 */

import { spawnSync } from "node:child_process";
import { chmod, chown, mkdir, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { appLockFile } from "../../../agent/lock/run-lock.js";
import { runShip, SHIP_BIN } from "../../support/ship-cli.js";

const NOBODY = 65534;

describe.skipIf(process.getuid?.() !== 0)("a stale host lock another user left", () => {
  let root: string;
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), "ship-host-lock-owner-"));
    await chmod(root, 0o755);
    await mkdir(join(root, "release"));
    await writeFile(join(root, "release", "update-manifest.yaml"), 'version: "1.0.0"\n');
    await writeFile(join(root, "release", "app.txt"), "v1\n");
    for (const dir of ["app", "var"]) {
      await mkdir(join(root, dir));
      await chown(join(root, dir), NOBODY, NOBODY);
    }
    await mkdir(join(root, "hostlocks"));
    await chmod(join(root, "hostlocks"), 0o1777);
    await writeFile(
      join(root, "ship.toml"),
      [
        `[general]\nstate_file = "${root}/var/state.json"\nbackup_dir = "${root}/var/backups"`,
        `[sources.web]\ntype = "local"\npath = "${root}/release"\napp_dir = "${root}/app"\n`,
      ].join("\n\n"),
    );
  });
  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it("exit 2 naming the lock, its dead holder and how to remove it; the app untouched", async () => {
    const lock = appLockFile(join(root, "hostlocks"), join(root, "app"));
    const holder = { pid: 2 ** 22 + 1, host: hostname(), started: "2026-01-01T00:00:00.000Z" };
    await writeFile(lock, `${JSON.stringify(holder)}\n`, { mode: 0o644 });
    const run = await runShip(["--config", join(root, "ship.toml"), "--force", "--quiet"], {
      user: { uid: NOBODY, gid: NOBODY },
      env: { SHIP_HOST_LOCK_DIR: join(root, "hostlocks") },
      timeoutMs: 20_000,
    });
    expect(run.code, run.stderr).toBe(2);
    expect(run.stderr.trim().split("\n").at(-1)).toBe(
      `${lock} is a stale lock (pid ${holder.pid} on ${holder.host}, since ${holder.started}; not running) owned by uid 0, which nobody (uid ${NOBODY}) may not remove from ${join(root, "hostlocks")} (a sticky directory): remove it as root (rm ${lock})`,
    );
    expect(await readdir(join(root, "app"))).toEqual([]);
  }, 30_000);

  it("a read-only host lock directory (a unit with ProtectSystem=strict): exit 2 naming it and ReadWritePaths", () => {
    // The unit's view of /run, as a read-only bind mount in a mount namespace of its own.
    const hostDir = join(root, "hostlocks");
    const script = `mount --bind ${hostDir} ${hostDir} && mount -o remount,bind,ro ${hostDir} && exec "$@"`;
    const run = spawnSync(
      "unshare",
      [
        "-m",
        "sh",
        "-c",
        script,
        "sh",
        process.execPath,
        SHIP_BIN,
        "--config",
        join(root, "ship.toml"),
        "--force",
        "--quiet",
      ],
      { encoding: "utf8", env: { ...process.env, SHIP_HOST_LOCK_DIR: hostDir }, timeout: 20_000 },
    );
    // Before: exit 1 "cannot write lock file …/hostlocks/app-…lock: read-only filesystem (EROFS)".
    expect(run.status, run.stderr).toBe(2);
    expect(run.stderr.trim().split("\n").at(-1)).toMatch(
      new RegExp(
        `^${hostDir} \\(the host's app locks, shared by every ship run\\) is read-only here: .*ReadWritePaths=-/run/lock`,
      ),
    );
    return readdir(join(root, "app")).then((names) => expect(names).toEqual([]));
  }, 30_000);
});
