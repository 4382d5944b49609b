/**
 * `ship release git` refuses, before it commits anything, what would only fail after the manifest
 * commit: a version git cannot name a tag after, `--push` from a detached HEAD (a CI checkout
 * of a commit), and a manifest .gitignore keeps out of git (git add refused it: "internal error:
 * The following paths are ignored …" over five lines, the manifest left written). Each used to commit the manifest and
 * then fail with exit 1 ("internal error: fatal: 'v1.0.0..1' is not a valid tag name", or git's
 * text cut mid-sentence), leaving a commit behind.
 */
import { execFileSync } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { hasProgram } from "../../support/require-program.js";
import { runShip } from "../../support/ship-cli.js";

const git = (cwd: string, ...args: string[]): string => execFileSync("git", args, { cwd }).toString().trim();

describe.skipIf(!hasProgram("git"))("ship release git: refusals before the manifest is committed", () => {
  let dir: string;
  let repo: string;
  const manifest = '# ours\nversion: "0.1.0"\ndescription: "first"\n';

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "ship-git-before-commit-"));
    repo = join(dir, "repo");
    execFileSync("git", ["init", "-q", "-b", "main", repo]);
    git(repo, "config", "user.email", "ci@example.com");
    git(repo, "config", "user.name", "CI");
    git(repo, "config", "commit.gpgsign", "false");
    git(repo, "config", "tag.gpgsign", "false");
    await writeFile(join(repo, "app.py"), "print('v1')\n");
    await writeFile(join(repo, "update-manifest.yaml"), manifest);
    git(repo, "add", ".");
    git(repo, "commit", "-q", "-m", "initial");
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function expectUnchanged(head: string): Promise<void> {
    expect(git(repo, "rev-parse", "HEAD")).toBe(head);
    expect(git(repo, "tag", "--list")).toBe("");
    expect(git(repo, "status", "--porcelain")).toBe("");
    expect(await readFile(join(repo, "update-manifest.yaml"), "utf8")).toBe(manifest);
  }

  it.each(["1.0.0..1", "1.0.0~1", "1.0.0.lock", "1.0.0-a..b", "1.0.0."])(
    "refuses %s, which git cannot name a tag v<VERSION> after: exit 2 naming VERSION, nothing committed",
    async (version) => {
      const head = git(repo, "rev-parse", "HEAD");
      const r = await runShip(["release", "-C", repo, "git", version, "Fixes"]);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(`VERSION ${version}`);
      expect(r.stderr).toContain(`v${version}`);
      expect(r.stderr).toContain("not a valid git tag name");
      expect(r.stderr).not.toMatch(/internal error/);
      expect(r.stderr.trim().split("\n")).toHaveLength(1);
      await expectUnchanged(head);
    },
  );

  it("refuses --push from a detached HEAD: exit 2 saying to check out the branch, nothing committed", async () => {
    execFileSync("git", ["init", "-q", "--bare", join(dir, "origin.git")]);
    git(repo, "remote", "add", "origin", join(dir, "origin.git"));
    git(repo, "push", "-q", "origin", "main");
    git(repo, "checkout", "-q", "--detach");
    const head = git(repo, "rev-parse", "HEAD");
    const r = await runShip(["release", "-C", repo, "git", "1.0.0", "Fixes", "--push"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/HEAD is detached/);
    expect(r.stderr).toMatch(/git checkout/);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    await expectUnchanged(head);
    expect(git(join(dir, "origin.git"), "tag", "--list")).toBe("");

    // Without --push a detached HEAD is tagged (the tag keeps the commit), and the hint pushes the tag only.
    const local = await runShip(["release", "-C", repo, "git", "1.0.0", "Fixes"]);
    expect(local.code).toBe(0);
    expect(git(repo, "tag", "--list")).toBe("v1.0.0");
    expect(local.stdout).toContain("push with: git push origin v1.0.0");
    expect(local.stdout).not.toContain("git push &&");
  });

  it("refuses a manifest .gitignore keeps out of git: exit 2 naming the rule, nothing written", async () => {
    git(repo, "rm", "-q", "--cached", "update-manifest.yaml");
    await rm(join(repo, "update-manifest.yaml"));
    await writeFile(join(repo, ".gitignore"), "*.log\nupdate-manifest.yaml\n");
    git(repo, "add", ".gitignore");
    git(repo, "commit", "-q", "-m", "ignore the manifest");
    const head = git(repo, "rev-parse", "HEAD");
    const r = await runShip(["release", "-C", repo, "git", "1.0.0", "Fixes"]);
    expect(r.stderr).toBe(
      `ship release git: ${repo}/update-manifest.yaml is ignored by git (.gitignore:2: update-manifest.yaml), so it cannot be committed, and agents following the tag read their manifest from it: remove that rule; nothing was committed or tagged\n`,
    );
    expect(r.code).toBe(2);
    expect(git(repo, "rev-parse", "HEAD")).toBe(head);
    expect(git(repo, "tag", "--list")).toBe("");
    expect(git(repo, "status", "--porcelain", "--ignored")).toBe("");
  });
});
