/**
 * `git archive` runs the clone's smudge filters: git-lfs's (which downloads each LFS file from the
 * LFS server) or any `filter.<name>.smudge` the clone's config sets. The git fetch is bounded by
 * max_download_seconds; the export was not, so a stalled LFS server held the run (and the update
 * lock) for as long as it stalled. Now the export has that deadline too, and git and its filter are
 * stopped at it. A real filter process standing in for git-lfs, real git, the real CLI.
 */
import { mkdir, mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { hasProgram } from "../../support/require-program.js";
import { runShip } from "../../support/ship-cli.js";
import { commitFiles, git, makeRepos, type Repos, writeGitConfig } from "./git-repos.js";

describe.skipIf(!hasProgram("git"))("git source: a whole-tree export whose filter stalls", () => {
  let root: string;
  let repos: Repos;
  let config: string;
  let app: string;

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), "ship-git-export-deadline-"));
    repos = await makeRepos(join(root, "repos"));
    app = join(root, "app");
    await mkdir(app);
    config = await writeGitConfig(root, repos.clone, app, 'branch = "main"\nmax_download_seconds = 2');
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it("is ended at max_download_seconds, naming the commit and the key; nothing installed", async () => {
    // As git-lfs's smudge does against an LFS server that accepted the connection and sends nothing.
    await git(repos.clone, "config", "filter.lfs.smudge", "sleep 30; cat");
    const commit = await commitFiles(repos.dev, "1.1.0", {
      ".gitattributes": "*.bin filter=lfs\n",
      "model.bin": "weights\n",
    });
    await git(repos.dev, "push", "-q", "origin", "HEAD:main");
    const started = Date.now();
    const run = await runShip(["--config", config]);
    const seconds = (Date.now() - started) / 1000;
    expect(run.code, run.stdout + run.stderr).toBe(1);
    expect(run.stdout).toContain(
      `web: update failed at fetch: origin/main (${commit.slice(0, 12)}): git archive not done after 2 s, the most [sources.web] max_download_seconds allows`,
    );
    expect(seconds).toBeLessThan(25);
    expect(await readdir(app)).toEqual([]);
  });
});
