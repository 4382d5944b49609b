/**
 * A remote that is itself a shallow clone (a mirror kept with `git fetch --depth 1`): each of its
 * updates starts a new shallow root. git's fetch refuses a ref that needs .git/shallow updated
 * ("rejected … because shallow roots are not allowed to be updated", a warning, exit 0), so ship
 * said "up to date" at the old commit, run after run, while the remote's branch had moved on. It
 * installs the new commit now, tag mode alike. Real git (file:// remote), real CLI.
 */
import { mkdir, mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { hasProgram } from "../../support/require-program.js";
import { runShip } from "../../support/ship-cli.js";
import { commitFiles, git, makeRepos, type Repos, writeGitConfig } from "./git-repos.js";

describe.skipIf(!hasProgram("git"))("git source whose remote is a shallow clone", () => {
  let root: string;
  let repos: Repos;
  let mirror: string;
  let clone: string;
  let app: string;

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), "ship-git-shallow-"));
    repos = await makeRepos(join(root, "repos"));
    await git(repos.dev, "tag", "v1.0.0");
    await git(repos.dev, "push", "-q", "origin", "HEAD:main", "--tags");
    mirror = join(root, "mirror");
    clone = join(root, "clone");
    await git(root, "clone", "-q", "--depth", "1", "--no-single-branch", `file://${repos.bare}`, mirror);
    await git(root, "clone", "-q", mirror, clone);
    app = join(root, "app");
    await mkdir(app);
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  /** 1.1.0 committed upstream and taken into the mirror as such mirrors are kept: depth 1. */
  async function releaseThroughMirror(): Promise<void> {
    await commitFiles(repos.dev, "1.1.0", { "app.txt": "v1.1\n" });
    await git(repos.dev, "tag", "v1.1.0");
    await git(repos.dev, "push", "-q", "origin", "HEAD:main", "--tags");
    await git(mirror, "fetch", "-q", "--depth", "1", "--tags", "origin", "+main:refs/remotes/origin/main");
    await git(mirror, "reset", "-q", "--hard", "origin/main");
  }

  it.each([
    ["branch", 'branch = "main"'],
    ["tag", 'tag = "v*"'],
  ])("installs the remote's new commit (%s mode)", async (_, mode) => {
    const config = await writeGitConfig(root, clone, app, mode);
    const first = await runShip(["--config", config]);
    expect(first.code, first.stdout + first.stderr).toBe(0);
    expect(first.stdout).toContain("web: installed 1.0.0");

    await releaseThroughMirror();
    const run = await runShip(["--config", config]);
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(run.stdout).toContain("web: updated 1.0.0 → 1.1.0");
    expect(await readFile(join(app, "app.txt"), "utf8")).toBe("v1.1\n");
  });
});
