/**
 * A symlinked app_dir re-pointed (blue/green: /srv/app from blue to green). Backups recorded
 * app_dir as written, so blue's were taken as green's: `--rollback` of one wrote blue's old files
 * into green, a tree ship had never installed into, and said "back on 1.0.0", exit 0. Backups now
 * record where app_dir led; pointed back, the rollback restores blue. Real `ship` processes.
 */
import { mkdir, readdir, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { runShip } from "../../support/ship-cli.js";
import { tempDir } from "./tree-fixtures.js";

describe("a symlinked app_dir re-pointed to another tree (real CLI)", () => {
  let root: string;
  let config: string;
  const app = () => join(root, "app");
  async function release(name: string, version: string, files: Record<string, string>) {
    await mkdir(join(root, name), { recursive: true });
    await writeFile(join(root, name, "update-manifest.yaml"), `version: "${version}"\n`);
    for (const [rel, text] of Object.entries(files)) await writeFile(join(root, name, rel), text);
    await writeFile(
      config,
      `[general]\nstate_file = "${root}/var/state.json"\nbackup_dir = "${root}/var/backups"\nmin_interval_hours = 0\n\n[sources.myapp]\ntype = "local"\npath = "${root}/${name}"\napp_dir = "${app()}"\n`,
    );
  }
  beforeEach(async () => {
    root = await tempDir("ship-bluegreen-");
    config = join(root, "ship.toml");
    await mkdir(join(root, "blue"));
    await mkdir(join(root, "green"));
    await symlink("blue", app());
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it("blue's backups are not green's: --rollback refuses, names blue, writes nothing", async () => {
    await release("r1", "1.0.0", { "a.txt": "v1\n", "old.txt": "v1\n" });
    expect((await runShip(["--config", config])).code).toBe(0);
    await release("r2", "2.0.0", { "a.txt": "v2\n" });
    expect((await runShip(["--config", config])).code).toBe(0);
    const [newest] = JSON.parse((await runShip(["--config", config, "--list-backups", "--json"])).stdout) as {
      id: string;
    }[];
    await writeFile(join(root, "green/a.txt"), "green's own\n");
    await rm(app());
    await symlink("green", app());

    const listed = await runShip(["--config", config, "--list-backups"]);
    expect(listed.stdout).not.toContain(String(newest?.id));
    // review23: after the note on the backups not listed, it said "no backups in …" as if there were none.
    expect(listed.stdout).toContain(`no backups to list in ${join(root, "var/backups")}`);
    const back = await runShip(["--config", config, "--rollback", String(newest?.id)]);
    expect(back.code, back.stdout + back.stderr).toBe(2);
    // It said "which no source of this config installs into (another config sharing backup_dir made
    // it, or app_dir was changed since)": neither had happened.
    expect(back.stderr).toContain(
      `is ${app()}, which now leads to ${join(root, "green")}, but backup ${newest?.id} restores ${join(root, "blue")}, where ${app()} led when it was made (a symlink on its way was re-pointed since, or the directory moved): to restore it, make ${app()} lead to ${join(root, "blue")} again; nothing was changed`,
    );
    expect(await readdir(join(root, "green"))).toEqual(["a.txt"]);
    expect(await readFile(join(root, "green/a.txt"), "utf8")).toBe("green's own\n");

    // Pointed back at blue, the same backup restores blue.
    await rm(app());
    await symlink("blue", app());
    const again = await runShip(["--config", config, "--rollback", String(newest?.id)]);
    expect(again.code, again.stdout + again.stderr).toBe(0);
    expect(await readFile(join(root, "blue/old.txt"), "utf8")).toBe("v1\n");
    expect(await readFile(join(root, "blue/a.txt"), "utf8")).toBe("v1\n");
  });
});
