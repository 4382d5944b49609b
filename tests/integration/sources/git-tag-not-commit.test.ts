/**
 * Tag mode installs a commit's tree. A newest tag naming a file or a tree (`git tag v2.0.0
 * HEAD:app.txt`, a wrong id pasted into `git tag`) was taken for "no tag from the remote matches
 * "v*"", exit 2 naming the pattern, while v1.0.0 stood beside it: the operator looked for a typo
 * in ship.toml. It names the tag and what it points to now. Real git (file:// remote), real CLI.
 */
import { mkdir, mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { hasProgram } from "../../support/require-program.js";
import { runShip } from "../../support/ship-cli.js";
import { git, makeRepos, type Repos, writeGitConfig } from "./git-repos.js";

describe.skipIf(!hasProgram("git"))("git source, tag mode: a newest tag that names no commit", () => {
  let root: string;
  let repos: Repos;
  let config: string;
  let app: string;

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), "ship-git-not-commit-"));
    repos = await makeRepos(join(root, "repos"));
    await git(repos.dev, "tag", "v1.0.0");
    app = join(root, "app");
    await mkdir(app);
    config = await writeGitConfig(root, repos.clone, app, 'tag = "v*"');
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it.each([
    ["a file (lightweight)", ["v2.0.0", "HEAD:app.txt"], "a blob"],
    ["a tree (annotated)", ["-a", "-m", "2.0.0", "v2.0.0", "HEAD^{tree}"], "a tree"],
  ])("is refused naming the tag when it names %s, exit 2, nothing installed", async (_, tagArgs, what) => {
    await git(repos.dev, "tag", ...tagArgs);
    await git(repos.dev, "push", "-q", "origin", "HEAD:main", "--tags");
    for (const args of [["--check-only"], []]) {
      const result = await runShip(["--config", config, ...args]);
      const out = result.stdout + result.stderr;
      expect(result.code, out).toBe(2);
      expect(out).toContain(`web: git tag v2.0.0: the newest tag matching "v*" points to ${what} (`);
      expect(out).toContain("not a commit: ship installs a commit's tree");
    }
    expect(await readdir(app)).toEqual([]);
  });
});
