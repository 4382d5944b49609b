/**
 * Installed files get sane metadata through the real `ship` CLI: modes are the release's masked by
 * the manifest's permissions.umask (default "022"), mtimes are the install time unless the source
 * says keep_mtimes. Git (whose archives carry 664/775) and reproducible archives (mtime 0) are the
 * cases that went wrong.
 */
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, stat, utimes, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { runShip } from "../../support/ship-cli.js";
import { buildTar, type RawEntry } from "../../unit/sources/tar-builder.js";
import { commitFiles, git, makeRepos } from "../sources/git-repos.js";

const EPOCH = new Date(0);

describe("installed file metadata (real ship process)", () => {
  let root: string;
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), "ship-meta-"));
    await mkdir(join(root, "app"));
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  async function ship(source: string): Promise<void> {
    const file = join(root, "ship.toml");
    await writeFile(
      file,
      `[general]\nstate_file = "${root}/var/state.json"\nbackup_dir = "${root}/var/backups"\nmin_interval_hours = 0\n\n` +
        `[sources.myapp]\napp_dir = "${root}/app"\n${source}\n`,
    );
    const run = await runShip(["--config", file]);
    expect(run.code, run.stdout + run.stderr).toBe(0);
  }
  const modeOf = async (rel: string) => (await stat(join(root, "app", rel))).mode & 0o7777;
  const mtimeOf = async (rel: string) => (await stat(join(root, "app", rel))).mtimeMs;

  /** A reproducible archive: every entry has mtime 0; modes as a careless packer leaves them. */
  async function reproducibleArchive(manifestExtra = ""): Promise<string> {
    const entries: RawEntry[] = [
      { path: "update-manifest.yaml", body: `version: "1.0.0"\n${manifestExtra}` },
      { path: "bin/", type: "Directory", mode: 0o777 },
      { path: "bin/run", body: "#!/bin/sh\n", mode: 0o775 },
      { path: "lib/mod.py", body: "x = 1\n", mode: 0o666 },
    ];
    const tar = buildTar(entries.map((e) => ({ ...e, mtime: EPOCH })));
    const path = join(root, "release.tar");
    await writeFile(path, tar);
    return path;
  }

  it("git: files and directories are installed 644/755, not git archive's 664/775", async () => {
    const repos = await makeRepos(root);
    await mkdir(join(repos.dev, "bin"), { recursive: true });
    await writeFile(join(repos.dev, "bin/tool"), "#!/bin/sh\n");
    await chmod(join(repos.dev, "bin/tool"), 0o755);
    await commitFiles(repos.dev, "1.1.0", { "app.txt": "v1.1\n" });
    await git(repos.dev, "push", "-q", "origin", "HEAD:main");
    await ship(`type = "git"\nlocal_path = "${repos.clone}"\nbranch = "main"`);
    expect((await modeOf("app.txt")).toString(8)).toBe("644");
    expect((await modeOf("bin/tool")).toString(8)).toBe("755");
    expect((await modeOf("bin")).toString(8)).toBe("755");
    expect((await modeOf("config")).toString(8)).toBe("755");
  });

  it("a reproducible archive installs with the install time as mtime and modes masked by 022", async () => {
    const before = Date.now() - 5_000;
    await ship(`type = "local"\npath = "${await reproducibleArchive()}"`);
    expect(await mtimeOf("lib/mod.py")).toBeGreaterThan(before);
    expect(await mtimeOf("bin/run")).toBeGreaterThan(before);
    expect((await modeOf("lib/mod.py")).toString(8)).toBe("644");
    expect((await modeOf("bin/run")).toString(8)).toBe("755");
    expect((await modeOf("bin")).toString(8)).toBe("755");
  });

  it('keep_mtimes = true keeps the archive\'s mtimes; permissions.umask "002" keeps group write', async () => {
    const archive = await reproducibleArchive('permissions:\n  umask: "002"\n');
    await ship(`type = "local"\npath = "${archive}"\nkeep_mtimes = true`);
    expect(await mtimeOf("lib/mod.py")).toBe(EPOCH.getTime());
    expect((await modeOf("lib/mod.py")).toString(8)).toBe("664");
    expect((await modeOf("bin/run")).toString(8)).toBe("775");
    expect((await modeOf("bin")).toString(8)).toBe("775");
  });

  it("a directory's mode follows the release that changes it, a mode the operator set stays, and --rollback puts the old modes back", async () => {
    // Before: an existing directory kept its first mode for ever (d stayed 700 after v2 said 755).
    const release = async (name: string, version: string, modes: Record<string, number>) => {
      const dir = join(root, name);
      for (const rel of ["d/e", "s"]) await mkdir(join(dir, rel), { recursive: true });
      await writeFile(join(dir, "update-manifest.yaml"), `version: "${version}"\n`);
      await writeFile(join(dir, "d/e/f.txt"), `${version}\n`);
      await writeFile(join(dir, "s/g.txt"), `${version}\n`);
      for (const [rel, mode] of Object.entries(modes)) await chmod(join(dir, rel), mode);
      return `type = "local"\npath = "${dir}"`;
    };
    const modes = async () =>
      Object.fromEntries(
        await Promise.all(["d", "d/e", "s"].map(async (rel) => [rel, (await modeOf(rel)).toString(8)])),
      );
    await ship(await release("v1", "1.0.0", { d: 0o700, "d/e": 0o755, s: 0o755 }));
    expect(await modes()).toEqual({ d: "700", "d/e": "755", s: "755" });
    await chmod(join(root, "app/s"), 0o770); // the operator's: the web server's group writes there
    await ship(await release("v2", "2.0.0", { d: 0o777, "d/e": 0o750, s: 0o750 }));
    expect(await modes()).toEqual({ d: "755", "d/e": "750", s: "770" });
    const backups = (await readdir(join(root, "var/backups/myapp"))).sort();
    const run = await runShip(["--config", join(root, "ship.toml"), "--rollback", backups[1] as string]);
    expect(run.code, run.stderr).toBe(0);
    expect(await modes()).toEqual({ d: "700", "d/e": "755", s: "770" });
    expect(await readFile(join(root, "app/d/e/f.txt"), "utf8")).toBe("1.0.0\n");
  });

  it("a local release directory changed only in a directory's mode is an update that applies the mode", async () => {
    // Before: "up to date" for ever, as directory modes were not part of a local release's id.
    const dir = join(root, "rel");
    await mkdir(join(dir, "conf"), { recursive: true });
    await writeFile(join(dir, "update-manifest.yaml"), 'version: "1.0.0"\n');
    await writeFile(join(dir, "conf/app.toml"), "a = 1\n");
    await chmod(join(dir, "conf"), 0o755);
    await ship(`type = "local"\npath = "${dir}"`);
    expect((await modeOf("conf")).toString(8)).toBe("755");
    await chmod(join(dir, "conf"), 0o750);
    await ship(`type = "local"\npath = "${dir}"`);
    expect((await modeOf("conf")).toString(8)).toBe("750");
    await chmod(join(dir, "conf"), 0o755);
    await ship(`type = "local"\npath = "${dir}"`);
    expect((await modeOf("conf")).toString(8)).toBe("755");
  });

  it("a release's empty directories are installed, dropped with the release that drops them, and come back on --rollback", async () => {
    // Before: an empty tmp/ or uploads/ in a local or tarball release was never created.
    const release = async (name: string, version: string, dirs: string[]) => {
      const dir = join(root, name);
      for (const rel of dirs) await mkdir(join(dir, rel), { recursive: true });
      await writeFile(join(dir, "update-manifest.yaml"), `version: "${version}"\n`);
      await writeFile(join(dir, "app.txt"), `${version}\n`);
      return `type = "local"\npath = "${dir}"`;
    };
    const tree = async () => (await readdir(join(root, "app"), { recursive: true })).sort();
    await ship(await release("v1", "1.0.0", ["tmp/cache", "uploads"]));
    expect(await tree()).toEqual(["app.txt", "tmp", "tmp/cache", "uploads"]);
    await writeFile(join(root, "app/uploads/photo.jpg"), "the user's\n");
    await ship(await release("v2", "2.0.0", ["spool"]));
    // tmp/ went (ship made it, it is empty); uploads/ holds the user's file and stays.
    expect(await tree()).toEqual(["app.txt", "spool", "uploads", "uploads/photo.jpg"]);
    const backups = (await readdir(join(root, "var/backups/myapp"))).sort();
    const run = await runShip(["--config", join(root, "ship.toml"), "--rollback", backups[1] as string]);
    expect(run.code, run.stderr).toBe(0);
    expect(await tree()).toEqual(["app.txt", "tmp", "tmp/cache", "uploads", "uploads/photo.jpg"]);
  });

  it("a local release directory: modes masked by 022, mtimes of the copy unless keep_mtimes", async () => {
    const dir = join(root, "rel");
    await mkdir(dir);
    await writeFile(join(dir, "update-manifest.yaml"), 'version: "1.0.0"\n');
    await writeFile(join(dir, "shared.txt"), "x\n");
    await chmod(join(dir, "shared.txt"), 0o666);
    await utimes(join(dir, "shared.txt"), EPOCH, EPOCH);
    await ship(`type = "local"\npath = "${dir}"\nkeep_mtimes = true`);
    expect((await modeOf("shared.txt")).toString(8)).toBe("644");
    expect(await mtimeOf("shared.txt")).toBe(0);
  });
});
