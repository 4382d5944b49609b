/**
 * ship's own records it may not read (a `sudo ship` left them root's; the service runs as its own
 * user): every run said a bare "EACCES: permission denied, open '…/state.json'", exit 1, and the
 * daemon was restarted again and again. Now exit 2 naming the file, its owner, ship's user and the
 * chown that fixes it. Real CLI; as root (CI) ship runs as nobody, otherwise the file is made mode 000.
 */
import { spawnSync } from "node:child_process";
import { chmod, chown, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir, userInfo } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { runShip } from "../../support/ship-cli.js";

const asRoot = process.getuid?.() === 0;
const NOBODY = 65534;

describe("a record of ship's it may not read (real CLI)", () => {
  let root: string;
  let config: string;
  const ship = (args: string[] = []) =>
    runShip(["--config", config, ...args], asRoot ? { user: { uid: NOBODY, gid: NOBODY } } : {});

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), "ship-unreadable-"));
    await chmod(root, 0o755);
    config = join(root, "ship.toml");
    for (const dir of ["var", "app", "release"]) await mkdir(join(root, dir));
    if (asRoot) for (const dir of ["var", "app"]) await chown(join(root, dir), NOBODY, NOBODY);
    await writeFile(join(root, "release/update-manifest.yaml"), 'version: "1.0.0"\n');
    await writeFile(join(root, "release/app.txt"), "v1\n");
    await writeFile(
      config,
      `[general]\nstate_file = "${root}/var/state.json"\nbackup_dir = "${root}/var/backups"\nmin_interval_hours = 0\n\n[sources.myapp]\ntype = "local"\npath = "${root}/release"\napp_dir = "${root}/app"\n`,
    );
    expect((await ship()).code).toBe(0);
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  /** Root's, mode 600 (as root: ship runs as nobody); not root: mode 000, its owner cannot read it either. */
  async function closeUp(file: string) {
    if (asRoot) await chown(file, 0, 0);
    await chmod(file, asRoot ? 0o600 : 0);
  }

  const user = asRoot ? "nobody" : userInfo().username;

  for (const [name, file] of [
    ["the state file", () => join(root, "var/state.json")],
    [
      "the install index",
      async () => {
        const [stateDir] = await readdir(join(root, "var/apps"));
        return join(root, "var/apps", String(stateDir), "install-index.json");
      },
    ],
  ] as const) {
    it(`${name}: exit 2 naming it, its owner and the chown, for a run and --check-only`, async () => {
      const path = await file();
      await closeUp(path);
      for (const args of [[], ["--check-only"]]) {
        const run = await ship(args);
        expect(run.code, run.stdout + run.stderr).toBe(2);
        const said = run.stdout + run.stderr;
        expect(said).toContain(
          `${path} cannot be read: it is owned by uid ${asRoot ? 0 : process.getuid?.()}`,
        );
        // As root the state directory is nobody's and the record root's: the whole of it, at once.
        expect(said).toContain(asRoot ? `chown -R nobody: ${root}/var (` : `chown ${user} ${path}`);
        expect(said).not.toMatch(/EACCES: permission denied, open/);
      }
    });
  }

  // A `sudo ship` update makes its backup, the state file and the install index root's: the refusal
  // named one record at a time, and the operator chowned meta.json, inventory.json, saved.json,
  // installed.json, manifest.json in five refused --rollback runs, to meet the backup's directory
  // "not writable" (exit 1) at the sixth, then state.json and install-index.json.
  it.runIf(asRoot)(
    "a run as root: one chown -R of the directory named, as said, and --rollback restores",
    async () => {
      await writeFile(join(root, "release/update-manifest.yaml"), 'version: "2.0.0"\n');
      await writeFile(join(root, "release/app.txt"), "v2\n");
      const asRootRun = await runShip(["--config", config]);
      expect(asRootRun.code, asRootRun.stderr).toBe(0);
      const backups = join(root, "var/backups/myapp");
      const rootMade: string[] = [];
      for (const id of await readdir(backups))
        if ((await stat(join(backups, id))).uid === 0) rootMade.push(id);
      expect(rootMade).toHaveLength(1);
      const tree = join(root, "var");
      for (const args of [["--rollback", String(rootMade[0])], ["--list-backups"], []]) {
        const run = await ship(args);
        expect(run.code, run.stdout + run.stderr).toBe(2);
        expect(run.stderr).toContain(`chown -R nobody: ${tree} (a run as root`);
      }
      const chowned = spawnSync("chown", ["-R", "nobody:", tree]);
      expect(chowned.status, String(chowned.stderr)).toBe(0);
      const rollback = await ship(["--rollback", String(rootMade[0])]);
      expect(rollback.code, rollback.stdout + rollback.stderr).toBe(0);
      expect(await readFile(join(root, "app/app.txt"), "utf8")).toBe("v1\n");
    },
  );

  it("a backup's meta.json: --list-backups lists the rest and names it, exit 2", async () => {
    const [id] = await readdir(join(root, "var/backups/myapp"));
    const path = join(root, "var/backups/myapp", String(id), "meta.json");
    await closeUp(path);
    const listed = await ship(["--list-backups"]);
    expect(listed.code, listed.stdout + listed.stderr).toBe(2);
    expect(listed.stderr).toContain(`not listed: ${path} cannot be read: it is owned by uid`);
    expect(listed.stderr).toContain(asRoot ? `chown -R nobody: ${root}/var (` : `chown ${user} ${path}`);
  });
});
