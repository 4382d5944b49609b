/**
 * ship's own records it may not read (a `sudo ship` left them root's; the service runs as its own
 * user): every run said a bare "EACCES: permission denied, open '…/state.json'", exit 1, and the
 * daemon was restarted again and again. Now exit 2 naming the file, its owner, ship's user and the
 * chown that fixes it. Real CLI; as root (CI) ship runs as nobody, otherwise the file is made mode 000.
 */
import { chmod, chown, mkdir, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
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
        expect(said).toContain(`chown ${user} ${path}`);
        expect(said).not.toMatch(/EACCES: permission denied, open/);
      }
    });
  }

  it("a backup's meta.json: --list-backups lists the rest and names it, exit 2", async () => {
    const [id] = await readdir(join(root, "var/backups/myapp"));
    const path = join(root, "var/backups/myapp", String(id), "meta.json");
    await closeUp(path);
    const listed = await ship(["--list-backups"]);
    expect(listed.code, listed.stdout + listed.stderr).toBe(2);
    expect(listed.stderr).toContain(`not listed: ${path} cannot be read: it is owned by uid`);
    expect(listed.stderr).toContain(`chown ${user} ${path}`);
  });
});
