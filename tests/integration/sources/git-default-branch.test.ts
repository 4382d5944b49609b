/**
 * A git source whose `branch` the remote does not have because the remote's default branch is
 * another: renamed upstream (master to main), or an older repository on master under the default
 * branch = "main" the seed's configs leave out. The line said only `has no branch "main"`; it now
 * names the branch the remote's HEAD points at. Real CLI, real bare repository.
 */
import { mkdir, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { hasProgram } from "../../support/require-program.js";
import { runShip } from "../../support/ship-cli.js";
import { commitFiles, git } from "./git-repos.js";

describe.skipIf(!hasProgram("git"))(
  "a git branch the remote does not have, its default being another",
  () => {
    let root: string;
    let bare: string;
    let clone: string;

    beforeEach(async () => {
      root = await mkdtemp(join(tmpdir(), "ship-git-default-branch-"));
      bare = join(root, "origin.git");
      const dev = join(root, "dev");
      clone = join(root, "clone");
      await mkdir(bare);
      await git(bare, "init", "--bare", "-q", "-b", "master");
      await git(root, "clone", "-q", bare, dev);
      await commitFiles(dev, "1.0.0", { "app.txt": "v1\n" });
      await git(dev, "push", "-q", "origin", "HEAD:master");
      await git(root, "clone", "-q", bare, clone);
      await mkdir(join(root, "app"));
    });
    afterEach(async () => {
      await rm(root, { recursive: true, force: true });
    });

    const run = async (branchLine: string) => {
      const config = join(root, "ship.toml");
      await writeFile(
        config,
        `[general]\nstate_file = "${root}/var/state.json"\nbackup_dir = "${root}/var/backups"\nmin_interval_hours = 0\n\n[sources.web]\ntype = "git"\nlocal_path = "${clone}"\napp_dir = "${root}/app"\n${branchLine}`,
      );
      return runShip(["--config", config]);
    };

    it("an older repository on master, branch left at its default (main): names master", async () => {
      const result = await run("");
      expect(result.code).toBe(2);
      expect(result.stdout).toBe(
        `web: ${root}/ship.toml sources.web.branch: the remote origin (${bare}) has no branch "main"; its default branch is "master" (renamed?): set branch = "master" if that is the one to follow\n`,
      );
      expect(await readdir(join(root, "app"))).toEqual([]);
    });

    it("a default branch renamed upstream after installs: names the new one", async () => {
      expect((await run('branch = "master"\n')).code).toBe(0);
      await git(bare, "branch", "-m", "master", "main");
      await git(bare, "symbolic-ref", "HEAD", "refs/heads/main");
      const result = await run('branch = "master"\n');
      expect(result.code).toBe(2);
      expect(result.stdout).toBe(
        `web: ${root}/ship.toml sources.web.branch: the remote origin (${bare}) has no branch "master"; its default branch is "main" (renamed?): set branch = "main" if that is the one to follow\n`,
      );
      expect(await readdir(join(root, "app"))).toEqual(["app.txt"]);
    });
  },
);
