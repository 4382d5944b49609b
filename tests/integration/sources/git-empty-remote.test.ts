/**
 * A git source whose remote is an empty repository (made for the app, CI has not pushed to it yet):
 * the run said only `has no branch "main"`, which sends the operator after the branch name. It now
 * says the repository is empty; a remote with branches but not this one keeps the old line. Real
 * CLI, real bare repositories.
 */
import { mkdir, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { hasProgram } from "../../support/require-program.js";
import { runShip } from "../../support/ship-cli.js";
import { commitFiles, git } from "./git-repos.js";

describe.skipIf(!hasProgram("git"))("a git source whose remote is empty", () => {
  let root: string;
  let bare: string;

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), "ship-git-empty-remote-"));
    bare = join(root, "origin.git");
    await mkdir(bare);
    await git(bare, "init", "--bare", "-q", "-b", "main");
    await mkdir(join(root, "app"));
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  const run = async (branchLine = "") => {
    const config = join(root, "ship.toml");
    await writeFile(
      config,
      `[general]\nstate_file = "${root}/var/state.json"\nbackup_dir = "${root}/var/backups"\nmin_interval_hours = 0\n\n[sources.web]\ntype = "git"\nremote = "${bare}"\nlocal_path = "${root}/clone"\napp_dir = "${root}/app"\n${branchLine}`,
    );
    return runShip(["--config", config]);
  };

  it("says the repository is empty, exit 2, nothing installed", async () => {
    await git(root, "clone", "-q", bare, join(root, "clone"));
    const result = await run();
    expect(result.code).toBe(2);
    expect(result.stdout).toBe(
      `web: ${root}/ship.toml sources.web.branch: the remote ${bare} has no branch "main": the repository is empty (nothing was pushed to it yet)\n`,
    );
    expect(await readdir(join(root, "app"))).toEqual([]);
  });

  it("a remote holding only another branch (HEAD unborn) is not called empty", async () => {
    const dev = join(root, "dev");
    await git(root, "clone", "-q", bare, dev);
    await commitFiles(dev, "1.0.0", { "app.txt": "v1\n" });
    await git(dev, "push", "-q", "origin", "HEAD:release");
    await git(root, "clone", "-q", bare, join(root, "clone"));
    const result = await run();
    expect(result.code).toBe(2);
    expect(result.stdout).toBe(
      `web: ${root}/ship.toml sources.web.branch: the remote ${bare} has no branch "main"\n`,
    );
    expect((await run('branch = "release"\n')).code).toBe(0);
    expect(await readdir(join(root, "app"))).toEqual(["app.txt"]);
  });
});
