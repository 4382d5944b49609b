/**
 * A local source's `path` one level above the release: a tarball unpacked with its top directory
 * (/srv/releases/myapp/myapp-1.2.3/update-manifest.yaml, path = "/srv/releases/myapp"). An archive's
 * single top directory holding the manifest is its release root, but a directory is read as it is:
 * ship installed app/myapp-1.2.3/… (the manifest as a plain file, its rules ignored) as version
 * "tree:…", exit 0. Now it is exit 2 naming the key and the path to set, before anything is written.
 */
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { runShip } from "../../support/ship-cli.js";

describe("local source: path names the directory around the release", () => {
  let root: string;
  let config: string;
  const writeConfig = (path: string) =>
    writeFile(
      config,
      `[general]\nstate_file = "${root}/var/state.json"\nbackup_dir = "${root}/var/backups"\nmin_interval_hours = 0\n\n` +
        `[sources.myapp]\ntype = "local"\npath = "${path}"\napp_dir = "${root}/app"\n`,
    );

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), "ship-local-nested-"));
    config = join(root, "ship.toml");
    const release = join(root, "releases/myapp/myapp-1.2.3");
    await mkdir(join(release, "data"), { recursive: true });
    await writeFile(
      join(release, "update-manifest.yaml"),
      'version: "1.2.3"\ndirectories:\n  data:\n    preserve: true\n',
    );
    await writeFile(join(release, "app.py"), "print('1.2.3')\n");
    await writeFile(join(release, "data/seed.db"), "release data\n");
    await mkdir(join(root, "app"));
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it("is exit 2 naming the key and the release's directory, in a run and in --check-only; nothing written", async () => {
    await writeConfig(join(root, "releases/myapp"));
    for (const args of [[], ["--check-only"]]) {
      const run = await runShip(["--config", config, ...args]);
      expect(run.code, run.stdout + run.stderr).toBe(2);
      expect(run.stderr).toContain(
        `sources.myapp.path: ${root}/releases/myapp holds only the directory myapp-1.2.3/, and the release's update-manifest.yaml is in it: set path = "${root}/releases/myapp/myapp-1.2.3"`,
      );
    }
    expect(await readdir(join(root, "app"))).toEqual([]);
    expect(await readdir(root)).not.toContain("var");

    await writeConfig(join(root, "releases/myapp/myapp-1.2.3"));
    const fixed = await runShip(["--config", config]);
    expect(fixed.code, fixed.stdout + fixed.stderr).toBe(0);
    expect(fixed.stdout).toContain("myapp: installed 1.2.3");
    expect(await readFile(join(root, "app/app.py"), "utf8")).toBe("print('1.2.3')\n");
  });

  it("is exit 2 too when the tarball it was unpacked from lies beside it; nothing written", async () => {
    // `cd /srv/releases/myapp && tar -xzf myapp-1.2.3.tar.gz` leaves the tarball beside the release:
    // ship installed app/myapp-1.2.3/… and app/myapp-1.2.3.tar.gz as version "tree:…", exit 0.
    await writeFile(join(root, "releases/myapp/myapp-1.2.3.tar.gz"), "not read\n");
    await writeFile(join(root, "app/app.py"), "print('1.0.0')\n");
    await writeConfig(join(root, "releases/myapp"));
    for (const args of [[], ["--check-only"]]) {
      const run = await runShip(["--config", config, ...args]);
      expect(run.code, run.stdout + run.stderr).toBe(2);
      expect(run.stderr).toContain(
        `sources.myapp.path: ${root}/releases/myapp holds no update-manifest.yaml, but its directory myapp-1.2.3/ does: set path = "${root}/releases/myapp/myapp-1.2.3"`,
      );
    }
    expect(await readdir(join(root, "app"))).toEqual(["app.py"]);
    expect(await readdir(root)).not.toContain("var");
  });

  it("a directory whose one subdirectory holds no manifest is a release as before", async () => {
    const plain = join(root, "plain");
    await mkdir(join(plain, "public"), { recursive: true });
    await writeFile(join(plain, "public/index.html"), "<p>hi</p>\n");
    await writeConfig(plain);
    const run = await runShip(["--config", config]);
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(await readFile(join(root, "app/public/index.html"), "utf8")).toBe("<p>hi</p>\n");
  });
});
