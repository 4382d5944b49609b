/**
 * A release archive whose entry gives its owner no read bit (mode 000, a write-only 0200: a packer's
 * placeholder for a secret) installed as such, and a ship not run as root could never read it
 * again: every later update failed at apply ("cannot open …/secret.txt: permission denied"), exit 1,
 * until someone chmodded the file by hand. ship must always be able to read what it installed, so
 * an installed file keeps its owner's read bit, as an installed directory keeps its owner's rwx.
 * Real archives, a real ship run as nobody.
 */
import { chmod, chown, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runShip } from "../../support/ship-cli.js";
import { writeArchive } from "../../unit/sources/tar-builder.js";

const NOBODY = 65534;
const asRoot = process.getuid?.() === 0;
let root: string;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "ship-unreadable-release-"));
  await chmod(root, 0o755);
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

async function chownTree(path: string): Promise<void> {
  await chown(path, NOBODY, NOBODY);
  for (const entry of await readdir(path, { withFileTypes: true }))
    if (entry.isDirectory()) await chownTree(join(path, entry.name));
    else await chown(join(path, entry.name), NOBODY, NOBODY);
}

describe("installed files keep their owner's read bit", () => {
  it("an archive's mode-000 and 0200 files install readable by their owner, and the next update (as nobody) succeeds", async (ctx) => {
    if (!asRoot) ctx.skip();
    const dir = join(root, "archive");
    await mkdir(join(dir, "app"), { recursive: true });
    const release = (version: string) =>
      writeArchive(dir, `r-${version}.tar`, [
        { path: "update-manifest.yaml", body: `version: "${version}"\n` },
        { path: "app.txt", body: `${version}\n`, mode: 0o644 },
        { path: "secret.txt", body: "placeholder\n", mode: 0o000 },
        { path: "drop/box.txt", body: "in\n", mode: 0o200 },
      ]);
    const ship = async (archive: string) => {
      const config = join(dir, "ship.toml");
      await writeFile(
        config,
        `[general]\nstate_file = "${dir}/var/state.json"\nbackup_dir = "${dir}/var/backups"\nmin_interval_hours = 0\n\n[sources.myapp]\ntype = "local"\npath = "${archive}"\napp_dir = "${dir}/app"\n`,
      );
      await chownTree(dir);
      return runShip(["--config", config], { user: { uid: NOBODY, gid: NOBODY } });
    };

    const first = await ship(await release("1.0.0"));
    expect(first.code, first.stdout + first.stderr).toBe(0);
    expect((await stat(join(dir, "app/secret.txt"))).mode & 0o777).toBe(0o400);
    expect((await stat(join(dir, "app/drop/box.txt"))).mode & 0o777).toBe(0o600);

    const second = await ship(await release("2.0.0"));
    expect(second.code, second.stdout + second.stderr).toBe(0);
    expect(await readFile(join(dir, "app/app.txt"), "utf8")).toBe("2.0.0\n");

    // Two updates within one second give myapp-<stamp> and myapp-<stamp>-2 (newBackupId): the
    // suffixed one is the newer. Left out, the rollback undid the first install instead (app.txt gone).
    const backups = (await readdir(join(dir, "var/backups/myapp"))).filter((n) =>
      /^myapp-\w+(-\d+)?$/.test(n),
    );
    const last = backups.sort().at(-1) ?? "none";
    const back = await runShip(["--config", join(dir, "ship.toml"), "--rollback", last], {
      user: { uid: NOBODY, gid: NOBODY },
    });
    expect(back.code, back.stdout + back.stderr).toBe(0);
    expect(await readFile(join(dir, "app/app.txt"), "utf8")).toBe("1.0.0\n");
  });
});
