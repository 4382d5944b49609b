// A retried `ship release git` after its tag landed (the tag push failed, or the job's answer was
// lost) was exit 2 "already has the tag v1.0.0; release a new version", while `http --out` and
// `sftp` take the same release again as a no-op: the same tree and description again is exit 0
// saying so and pushes a tag the remote lacks; other content under the version is still exit 2.
import { execFileSync } from "node:child_process";
import { chmod, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hasProgram } from "../../support/require-program.js";
import { runShip } from "../../support/ship-cli.js";

const git = (cwd: string, ...args: string[]): string => execFileSync("git", args, { cwd }).toString().trim();

let dir: string;
let repo: string;
let remote: string;
const release = (cwd: string, push: "--push" | "" = "", json = false) =>
  runShip(
    [
      "release",
      ...(json ? ["--json"] : []),
      "-C",
      cwd,
      "git",
      "1.0.0",
      "Hotfix",
      ...(push === "" ? [] : [push]),
    ],
    {
      env: { GIT_CONFIG_GLOBAL: "/dev/null", GIT_AUTHOR_NAME: "CI", GIT_COMMITTER_NAME: "CI" },
    },
  );

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "ship-git-release-retry-"));
  repo = join(dir, "repo");
  remote = join(dir, "remote.git");
  git(dir, "init", "-q", "--bare", remote);
  git(dir, "init", "-q", "-b", "main", repo);
  git(repo, "config", "user.email", "ci@example.com");
  git(repo, "config", "user.name", "CI");
  await writeFile(join(repo, "app.py"), "print('v1')\n");
  await writeFile(join(repo, "update-manifest.yaml"), 'version: "0.1.0"\n');
  git(repo, "add", ".");
  git(repo, "commit", "-q", "-m", "initial");
  git(repo, "remote", "add", "origin", `file://${remote}`);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe.skipIf(!hasProgram("git"))("ship release git run again (real ship process, real remote)", () => {
  it("after a failed tag push, the same command pushes the tag and says nothing was made; again, nothing at all", async () => {
    // The remote refuses tags this once: the branch lands, the tag push fails.
    const hook = join(remote, "hooks", "pre-receive");
    await writeFile(hook, "#!/bin/sh\ngrep -q refs/tags/ && { echo 'tags are frozen'; exit 1; }\nexit 0\n");
    await chmod(hook, 0o755);
    const first = await release(repo, "--push");
    expect(first.code, first.stderr).toBe(1);
    expect(first.stderr).toContain("v1.0.0 is made here: push it once that is fixed");
    const head = git(repo, "rev-parse", "HEAD");
    await rm(hook);

    const retry = await release(repo, "--push");
    expect(retry.code, retry.stderr).toBe(0);
    expect(retry.stdout).toContain(
      `unchanged v1.0.0: it already releases 1.0.0 at ${head}, with this tree and description; nothing was committed or tagged`,
    );
    expect(git(repo, "rev-parse", "HEAD")).toBe(head);
    expect(git(remote, "rev-parse", "v1.0.0^{commit}")).toBe(head);

    const again = await release(repo, "--push", true);
    expect(again.code, again.stderr).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject({
      tag: "v1.0.0",
      commit: head,
      committed: false,
      unchanged: true,
    });
  });

  it("a fresh clone without tags (CI's retry) is a no-op too: the remote's tag releases HEAD", async () => {
    const clone = join(dir, "no-tags");
    git(dir, "clone", "-q", "-b", "main", "--no-tags", `file://${remote}`, clone);
    git(clone, "config", "user.email", "ci@example.com");
    const retry = await release(clone, "--push");
    expect(retry.code, retry.stderr).toBe(0);
    expect(retry.stdout).toContain("unchanged v1.0.0");
    expect(git(clone, "tag", "--list")).toBe("");
    expect(git(clone, "rev-parse", "HEAD")).toBe(git(remote, "rev-parse", "main"));
  });

  it("other content, another description, or the remote's tag on another commit is still exit 2, nothing changed", async () => {
    const head = git(repo, "rev-parse", "HEAD");
    const other = await runShip(["release", "-C", repo, "git", "1.0.0", "Another text"]);
    expect(other.code).toBe(2);
    expect(other.stderr).toContain("already has the tag v1.0.0; release a new version");

    // The same tree on another commit, tagged here: the remote's v1.0.0 is not this one.
    git(repo, "commit", "-q", "--allow-empty", "-m", "rebuilt");
    git(repo, "tag", "-f", "-a", "v1.0.0", "-m", "Hotfix");
    const moved = git(repo, "rev-parse", "HEAD");
    const split = await release(repo, "--push");
    expect(split.code).toBe(2);
    expect(split.stderr).toContain(
      `has the tag v1.0.0 on commit ${head}, not on ${moved} as this clone's v1.0.0`,
    );
    expect(git(remote, "rev-parse", "v1.0.0^{commit}")).toBe(head);

    // Another name of the version on the remote (v1.0.0+build.7) on another commit: not a second tag.
    git(repo, "tag", "-d", "v1.0.0");
    git(repo, "tag", "-a", "v1.0.0+build.7", "-m", "Hotfix");
    const named = await release(repo, "--push");
    expect(named.code).toBe(2);
    expect(named.stderr).toContain(
      `has the tag v1.0.0 on commit ${head}, not on ${moved} as this clone's v1.0.0+build.7`,
    );
    expect(git(remote, "tag", "--list")).toBe("v1.0.0");

    await writeFile(join(repo, "app.py"), "print('v1, changed')\n");
    git(repo, "commit", "-q", "-am", "changed");
    const changed = git(repo, "rev-parse", "HEAD");
    const refused = await release(repo);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain("already has the tag v1.0.0+build.7, which releases version 1.0.0");
    expect(git(repo, "rev-parse", "HEAD")).toBe(changed);
  });
});
