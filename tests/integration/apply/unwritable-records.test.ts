/**
 * ship's state directory it may not write in: a `sudo ship` made /var/lib/ship root's, and the timer's
 * `ship` (user ship) then stopped at once with exit 1 "cannot write lock file …: permission denied
 * (EACCES)" every day, which no later run fixes. Now exit 2 naming the directory, its owner, ship's
 * user and the chown -R, for the run lock (and the key that places it), an app's lock and the state file. Real CLI; as root (CI)
 * ship runs as nobody in root's directory, otherwise the directory is made mode 555.
 */
import { chmod, chown, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir, userInfo } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { runShip } from "../../support/ship-cli.js";

const asRoot = process.getuid?.() === 0;
const NOBODY = 65534;
const user = asRoot ? "nobody" : userInfo().username;

describe("a directory of ship's records it may not write in (real CLI)", () => {
  let root: string;
  let config: string;
  const ship = (args: string[] = []) =>
    runShip(["--config", config, ...args], asRoot ? { user: { uid: NOBODY, gid: NOBODY } } : {});

  async function writeConfig(general = ""): Promise<void> {
    await writeFile(
      config,
      `[general]\nstate_file = "${root}/var/state.json"\nbackup_dir = "${root}/backups"\nmin_interval_hours = 0\n${general}\n[sources.myapp]\ntype = "local"\npath = "${root}/release"\napp_dir = "${root}/app"\n`,
    );
  }

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), "ship-unwritable-records-"));
    await chmod(root, 0o755);
    config = join(root, "ship.toml");
    for (const dir of ["var", "app", "release", "backups", "locks"]) await mkdir(join(root, dir));
    if (asRoot)
      for (const dir of ["var", "app", "backups", "locks"]) await chown(join(root, dir), NOBODY, NOBODY);
    await writeFile(join(root, "release/update-manifest.yaml"), 'version: "1.0.0"\n');
    await writeFile(join(root, "release/app.txt"), "v1\n");
    await writeConfig();
    expect((await ship()).code).toBe(0);
    await writeFile(join(root, "release/update-manifest.yaml"), 'version: "2.0.0"\n');
    await writeFile(join(root, "release/app.txt"), "v2\n");
  });
  afterEach(async () => {
    await chmod(join(root, "var"), 0o755).catch(() => undefined);
    await rm(root, { recursive: true, force: true });
  });

  /** What `sudo ship` leaves: the state directory root's (as root: ship runs as nobody); not root: mode 555. */
  async function closeUp(dir: string): Promise<void> {
    if (asRoot) await chown(dir, 0, 0);
    await chmod(dir, 0o555);
  }

  const owner = () => (asRoot ? 0 : process.getuid?.());

  it("the run lock in the state directory: exit 2 naming the directory and the chown -R, app unchanged", async () => {
    const dir = join(root, "var");
    await closeUp(dir);
    for (const args of [[], ["--check-only"]]) {
      const run = await ship(args);
      expect(run.code, args.join(" ") + run.stdout + run.stderr).toBe(2);
      // Before: "ship: cannot write lock file …/ship.lock: permission denied (EACCES)", exit 1.
      // Judged with the run's other paths before the lock, naming the key that places the lock.
      expect(run.stderr.trim()).toBe(
        `ship: ${config}:2:1 general.state_file: ${dir}: ${user} may not read, write and enter it (owner uid ${owner()}, mode 555): chown -R ${user} ${dir}, as the install steps do (permission denied (EACCES))`,
      );
    }
    expect(await readFile(join(root, "app/app.txt"), "utf8")).toBe("v1\n");
  });

  it("--rollback: a state file ship may not write in a directory it may write in restores (as a run rewrites it); a closed directory is exit 2 with the chown", async () => {
    await writeConfig(`lock_file = "${root}/locks/ship.lock"\n`);
    expect((await ship()).code).toBe(0); // 2.0.0, with a backup that restores 1.0.0
    const [backup] = (await readdir(join(root, "backups/myapp"))).sort().reverse();
    const state = join(root, "var/state.json");
    if (asRoot) await chown(state, 0, 0);
    await chmod(state, asRoot ? 0o644 : 0o444);
    // Before: "myapp: cannot restore: …/state.json is not writable: permission denied (EACCES)", exit 1.
    const back = await ship(["--rollback", String(backup)]);
    expect(back.code, back.stdout + back.stderr).toBe(0);
    expect(await readFile(join(root, "app/app.txt"), "utf8")).toBe("v1\n");

    expect((await ship(["--force"])).code).toBe(0);
    const [again] = (await readdir(join(root, "backups/myapp"))).sort().reverse();
    const dir = join(root, "var");
    await closeUp(dir);
    const refused = await ship(["--rollback", String(again)]);
    expect(refused.code, refused.stdout + refused.stderr).toBe(2);
    expect(refused.stderr).toContain(`${state} (ship's state file) cannot be written: ${dir} is owned by`);
    expect(refused.stderr).toContain(`chown -R ${user} ${dir}`);
    expect(await readFile(join(root, "app/app.txt"), "utf8")).toBe("v2\n");
  });

  it("an app's lock and the state file (the run lock elsewhere): exit 2 naming the directory, app unchanged", async () => {
    await writeConfig(`lock_file = "${root}/locks/ship.lock"\n`);
    const dir = join(root, "var");
    await closeUp(dir);
    const run = await ship();
    expect(run.code, run.stdout + run.stderr).toBe(2);
    const said = run.stdout + run.stderr;
    expect(said).toMatch(/\(ship's (lock|state) file\) cannot be written: /);
    expect(said).toContain(`chown -R ${user} ${dir}`);
    expect(said).not.toMatch(/EACCES/);
    expect(await readFile(join(root, "app/app.txt"), "utf8")).toBe("v1\n");
  });
});
