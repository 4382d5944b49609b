/**
 * A local source's `path` as the seed's "latest" symlink: once the release it pointed at is
 * deleted the run said "no such file or directory (ENOENT)" of a name `ls` shows, and links that
 * point at each other said "too many levels of symbolic links (ELOOP)". Both now say where the
 * link leads (as an sftp remote_path does). Real CLI, real links.
 */
import { mkdir, mkdtemp, readdir, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { runShip } from "../../support/ship-cli.js";

describe("a local path that is a broken symlink", () => {
  let root: string;
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), "ship-local-link-"));
    await mkdir(join(root, "app"));
    await mkdir(join(root, "releases"));
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  const run = async (path: string, ...args: string[]) => {
    await writeFile(
      join(root, "ship.toml"),
      `[general]\nstate_file = "${root}/var/state.json"\nbackup_dir = "${root}/var/backups"\nmin_interval_hours = 0\n\n[sources.myapp]\napp_dir = "${root}/app"\ntype = "local"\npath = "${path}"\n`,
    );
    return runShip(["--config", join(root, "ship.toml"), ...args]);
  };

  it("a link to a release since deleted names the file it points at, exit 2, in a run and --check-only", async () => {
    const latest = join(root, "releases/myapp-latest.tar.gz");
    await symlink("myapp-1.2.0.tar.gz", latest);
    for (const args of [[], ["--check-only"]]) {
      const result = await run(latest, ...args);
      expect(result.code, args.join(" ")).toBe(2);
      expect(result.stdout + result.stderr).toContain(
        `sources.myapp.path: ${latest} is a symlink to ${join(root, "releases/myapp-1.2.0.tar.gz")}, which is not there (the release it pointed at was moved or deleted?)`,
      );
    }
    expect(await readdir(join(root, "app"))).toEqual([]);
  });

  it("links that point at each other are named link by link, exit 2", async () => {
    const a = join(root, "releases/a.tar.gz");
    const b = join(root, "releases/b.tar.gz");
    await symlink("b.tar.gz", a);
    await symlink(a, b);
    const result = await run(a);
    expect(result.code).toBe(2);
    expect(result.stdout + result.stderr).toContain(
      `sources.myapp.path: ${a} is a symlink that leads round in a loop (${a} -> ${b} -> ${a}), never to a file: point it at the release`,
    );
  });
});
