/**
 * Tag mode installs the newest tag the remote has now. The clone's own refs/tags kept a tag the
 * remote had deleted (a release withdrawn after it was found bad), and ship installed it: "installed
 * 1.1.0" from a tag nobody publishes any more. Real git (file:// remote), real CLI.
 */
import { mkdir, mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { hasProgram } from "../../support/require-program.js";
import { runShip } from "../../support/ship-cli.js";
import { commitFiles, git, makeRepos, type Repos, writeGitConfig } from "./git-repos.js";

describe.skipIf(!hasProgram("git"))("git source, tag mode: a tag the remote withdrew", () => {
  let root: string;
  let repos: Repos;
  let config: string;
  let app: string;
  const ship = (...args: string[]) => runShip(["--config", config, ...args]);

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), "ship-git-withdrawn-"));
    repos = await makeRepos(join(root, "repos"));
    await git(repos.dev, "tag", "v1.0.0");
    await commitFiles(repos.dev, "1.1.0", { "app.txt": "v1.1 (bad)\n" });
    await git(repos.dev, "tag", "-a", "v1.1.0", "-m", "1.1.0");
    await git(repos.dev, "push", "-q", "origin", "HEAD:main", "--tags");
    app = join(root, "app");
    await mkdir(app);
    config = await writeGitConfig(root, repos.clone, app, 'tag = "v*"');
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it("is not installed, whether the clone fetched it itself or ship's last check saw it", async () => {
    // The operator's clone has every tag (a `git fetch --tags`); ship's check sees v1.1.0 too.
    await git(repos.clone, "fetch", "-q", "--tags");
    const before = await ship("--check-only");
    expect(before.code, before.stdout + before.stderr).toBe(100);
    expect(before.stdout).toContain("-> v1.1.0");

    // 1.1.0 is found bad and withdrawn: its tag is deleted on the remote.
    await git(repos.dev, "push", "-q", "origin", ":refs/tags/v1.1.0");
    const check = await ship("--check-only");
    expect(check.code, check.stdout + check.stderr).toBe(100);
    expect(check.stdout).toContain("-> v1.0.0");
    const run = await ship();
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(run.stdout).toContain("web: installed 1.0.0");
    expect(await readFile(join(app, "app.txt"), "utf8")).toBe("v1\n");

    // A tag made by hand in the clone is not the remote's either.
    await git(repos.clone, "tag", "v9.0.0", "v1.1.0");
    const again = await ship("--check-only");
    expect(again.code, again.stdout + again.stderr).toBe(0);
    expect(again.stdout).toContain("up to date (1.0.0 at v1.0.0");
  });
});
