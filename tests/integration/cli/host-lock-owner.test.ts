/**
 * The host's app locks live in one sticky directory (/run/lock/ship, mode 1777) that root runs and
 * the service user share. A root run killed mid-update leaves its lock there, root's; user ship may
 * not remove another user's file from a sticky directory. The takeover of that stale lock said
 * "cannot read directory …lock: a component of the path is not a directory (ENOTDIR)" (exit 1 at
 * every run; since the host lock became best effort, in the WARNING the run goes on with). Real CLI
 * run as nobody (so as root only).
 */

import { chmod, chown, mkdir, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { appLockFile } from "../../../agent/lock/run-lock.js";
import { runShip } from "../../support/ship-cli.js";

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

  it("the WARNING names the stale lock, its dead holder and how to remove it; the update goes on", async () => {
    const lock = appLockFile(join(root, "hostlocks"), join(root, "app"));
    const holder = { pid: 2 ** 22 + 1, host: hostname(), started: "2026-01-01T00:00:00.000Z" };
    await writeFile(lock, `${JSON.stringify(holder)}\n`, { mode: 0o644 });
    const run = await runShip(["--config", join(root, "ship.toml"), "--force"], {
      user: { uid: NOBODY, gid: NOBODY },
      env: { SHIP_HOST_LOCK_DIR: join(root, "hostlocks") },
      timeoutMs: 20_000,
    });
    expect(run.code, run.stderr).toBe(0);
    expect(await readdir(join(root, "app"))).toContain("app.txt");
    // Before: "(cannot read directory …lock: a component of the path is not a directory (ENOTDIR))".
    expect(run.stdout + run.stderr).toContain(
      `${lock} is a stale lock (pid ${holder.pid} on ${holder.host}, since ${holder.started}; not running) owned by uid 0, which nobody (uid ${NOBODY}) may not remove from ${join(root, "hostlocks")} (a sticky directory): remove it as root (rm ${lock})`,
    );
  });
});
