/**
 * A branch or tag name goes into a `git fetch` refspec. One git would refuse ("ma..in", "v1:x", a
 * leading "-") reached git and failed the run as a download ("git fetch failed: fatal: invalid
 * refspec", exit 1, retried on every run), naming no key; a hub's release tag went into the refspec
 * before its signature was checked. Both are refused where they enter: ship.toml's `branch` and
 * `tag` (exit 2 naming the key, nothing fetched or installed) and the release's `source.tag` in
 * the protocol schema (the hub refuses to store it, the agent to take it).
 */
import { mkdir, mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ReleaseSourceRef } from "../../../shared/protocol/messages.js";
import { hasProgram } from "../../support/require-program.js";
import { runShip } from "../../support/ship-cli.js";
import { git, makeRepos, type Repos, writeGitConfig } from "../sources/git-repos.js";

const COMMIT = "0123456789abcdef0123456789abcdef01234567";

describe("a hub release's git tag", () => {
  it.each([
    ["v1:x", '":"'],
    ["v1..2", '".."'],
    ["-v1", '"-"'],
    ["v 1", "a space"],
    ["v1\n", "control character"],
    ["v1~1", '"~"'],
    ["v1^{}", '"^"'],
    ["v1?", '"?"'],
    ["v*", '"*"'],
    ["v[1]", '"["'],
    ["v\\1", '"\\"'],
    ["v1@{0}", '"@{"'],
    ["v1.lock", ".lock"],
    ["v1/", "empty part"],
    ["/v1", "empty part"],
    ["a//b", "empty part"],
    ["v1.", 'ends with "."'],
    [".v1", 'starting with "."'],
    ["a/.b", 'starting with "."'],
    ["@", '"@"'],
  ])("%j is refused by the schema, naming source.tag", (tag, why) => {
    const parsed = ReleaseSourceRef.safeParse({ type: "git", commit: COMMIT, tag });
    expect(parsed.success).toBe(false);
    const issue = parsed.error?.issues[0];
    expect(issue?.path).toEqual(["tag"]);
    expect(issue?.message).toContain(why);
  });

  it.each(["v1.2.3", "release/2026-12", "v1.0.0-rc.1+build.5", "app@1.0", "ünï"])("%j is taken", (tag) => {
    expect(ReleaseSourceRef.safeParse({ type: "git", commit: COMMIT, tag }).success).toBe(true);
  });
});

describe.skipIf(!hasProgram("git"))("ship.toml's git branch and tag", () => {
  let root: string;
  let repos: Repos;
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), "ship-git-refnames-"));
    repos = await makeRepos(join(root, "repos"));
  });
  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it.each([
    ["branch", 'branch = "ma..in"', '".."'],
    ["branch", 'branch = "-main"', '"-"'],
    ["branch", 'branch = "main*"', '"*"'],
    ["branch", 'branch = "main.lock"', ".lock"],
    ["tag", 'tag = "v1:*"', '":"'],
    ["tag", 'tag = "v 1*"', "a space"],
    ["tag", 'tag = "v*/"', "empty part"],
    ["tag", 'tag = "release@{1}"', '"@{"'],
  ])("%s: %s is bad input naming the key (exit 2), nothing fetched or installed", async (key, line, why) => {
    const dir = await mkdtemp(join(root, "case-"));
    const app = join(dir, "app");
    await mkdir(app);
    const refsBefore = await git(repos.clone, "for-each-ref");
    const config = await writeGitConfig(dir, repos.clone, app, line);
    const run = await runShip(["--config", config]);
    expect(run.code, run.stderr).toBe(2);
    const said = run.stderr.split("\n").find((l) => l.includes(`sources.web.${key}`));
    expect(said, run.stderr).toContain(why);
    expect(await readdir(app)).toEqual([]);
    expect(await git(repos.clone, "for-each-ref")).toBe(refsBefore);
  });

  it('a tag pattern with globs ("v[0-9]*") is a pattern, not a bad name', async () => {
    await git(repos.dev, "tag", "v1.0.0");
    await git(repos.dev, "push", "-q", "origin", "v1.0.0");
    const dir = await mkdtemp(join(root, "glob-"));
    const app = join(dir, "app");
    await mkdir(app);
    const run = await runShip(["--config", await writeGitConfig(dir, repos.clone, app, 'tag = "v[0-9]*"')]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).not.toContain("not a valid git ref name");
  });
});
