/**
 * `ship release bump` in a shallow clone without tags — CI's actions/checkout fetches one commit
 * and no tags unless `fetch-depth: 0` — printed 0.0.1, exit 0, and the pipeline released 0.0.1 over
 * an app already at 1.4.0. Now exit 2 saying the tags are not here and how to fetch them; a shallow
 * clone that has its tags, and a full clone without any, bump as before.
 */
import { execFileSync } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { hasProgram } from "../../support/require-program.js";
import { runShip } from "../../support/ship-cli.js";

const env = {
  ...process.env,
  GIT_AUTHOR_NAME: "CI",
  GIT_AUTHOR_EMAIL: "ci@example.com",
  GIT_COMMITTER_NAME: "CI",
  GIT_COMMITTER_EMAIL: "ci@example.com",
};
const git = (cwd: string, ...args: string[]): string =>
  execFileSync("git", ["-c", "commit.gpgsign=false", ...args], {
    cwd,
    env,
    stdio: ["ignore", "pipe", "pipe"],
  })
    .toString()
    .trim();

describe.skipIf(!hasProgram("git"))("ship release bump in a shallow clone", () => {
  let dir: string;
  let origin: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "ship-bump-shallow-"));
    origin = join(dir, "origin");
    git(dir, "init", "-q", origin);
    await writeFile(join(origin, "a.txt"), "1\n");
    git(origin, "add", ".");
    git(origin, "commit", "-q", "-m", "one");
    git(origin, "tag", "-a", "v1.4.0", "-m", "1.4.0");
    await writeFile(join(origin, "a.txt"), "2\n");
    git(origin, "commit", "-q", "-am", "two");
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("without its tags: exit 2 saying how to fetch them, no version printed", async () => {
    git(dir, "clone", "-q", "--depth", "1", "--no-tags", `file://${origin}`, "ci");
    const r = await runShip(["release", "-C", join(dir, "ci"), "bump", "patch"]);
    expect(r.stdout).toBe("");
    expect(r.stderr).toBe(
      `ship release bump: ${join(dir, "ci")} is a shallow clone without v* tags (CI checkouts fetch one commit and no tags by default), so the newest release is not known here: fetch them (git fetch --tags --unshallow; actions/checkout with fetch-depth: 0) and run again\n`,
    );
    expect(r.code).toBe(2);

    // `ship release git` alike: it would tag 0.0.1 with no word of v1.4.0. Nothing committed or tagged.
    const head = git(join(dir, "ci"), "rev-parse", "HEAD");
    const tagged = await runShip(["release", "-C", join(dir, "ci"), "git", "0.0.1", "Fixes"]);
    expect(tagged.stderr).toBe(r.stderr.replace("bump:", "git:"));
    expect(tagged.code).toBe(2);
    expect(git(join(dir, "ci"), "rev-parse", "HEAD")).toBe(head);
    expect(git(join(dir, "ci"), "tag", "--list")).toBe("");

    git(join(dir, "ci"), "fetch", "-q", "--tags");
    const fetched = await runShip(["release", "-C", join(dir, "ci"), "bump", "patch"]);
    expect(fetched.stdout).toBe("1.4.1\n");
    expect(fetched.code).toBe(0);
  });

  it("a full clone with no tags yet starts at 0.0.1", async () => {
    const fresh = join(dir, "fresh");
    git(dir, "init", "-q", fresh);
    await writeFile(join(fresh, "a.txt"), "1\n");
    git(fresh, "add", ".");
    git(fresh, "commit", "-q", "-m", "one");
    const r = await runShip(["release", "-C", fresh, "bump", "patch"]);
    expect(r.stdout).toBe("0.0.1\n");
    expect(r.code).toBe(0);
  });
});
