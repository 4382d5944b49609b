import { execFileSync } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { list } from "tar";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { buildReleaseArchive } from "../../../agent/release/build-archive.js";
import { bumpVersion, nextVersion } from "../../../agent/release/bump.js";
import { ReleaseFailedError } from "../../../agent/release/errors.js";
import { releaseGit } from "../../../agent/release/git-release.js";
import { BadInputError } from "../../../shared/errors.js";
import { parseManifestText } from "../../../shared/manifest/load.js";
import { hasProgram } from "../../support/require-program.js";

const git = (cwd: string, ...args: string[]): string => execFileSync("git", args, { cwd }).toString().trim();

async function makeRepo(dir: string): Promise<void> {
  git(dir, "init", "-q", "-b", "main");
  git(dir, "config", "user.email", "ci@example.com");
  git(dir, "config", "user.name", "CI");
  git(dir, "config", "commit.gpgsign", "false");
  git(dir, "config", "tag.gpgsign", "false");
  await writeFile(join(dir, "app.py"), "print('v1')\n");
  await writeFile(
    join(dir, "update-manifest.yaml"),
    '# our manifest\nversion: "0.1.0"\ndescription: "first"\n',
  );
  git(dir, "add", ".");
  git(dir, "commit", "-q", "-m", "initial");
}

describe("bumpVersion", () => {
  it("follows semver, releasing pre-releases", () => {
    expect(bumpVersion("1.2.3", "patch")).toBe("1.2.4");
    expect(bumpVersion("1.2.3", "minor")).toBe("1.3.0");
    expect(bumpVersion("1.2.3", "major")).toBe("2.0.0");
    expect(bumpVersion("1.3.0-rc.1", "patch")).toBe("1.3.0");
    expect(bumpVersion("1.3.0-rc.1", "minor")).toBe("1.3.0");
    expect(bumpVersion("2.0.0-beta", "major")).toBe("2.0.0");
    expect(() => bumpVersion("r42", "patch")).toThrow(BadInputError);
  });
});

describe.skipIf(!hasProgram("git"))("ship release git (real repository)", () => {
  let dir: string;
  let repo: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "ship-git-release-"));
    repo = join(dir, "repo");
    execFileSync("mkdir", [repo]);
    await makeRepo(repo);
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("bumps from the newest v* tag by version order, not by name", async () => {
    expect(await nextVersion(repo, "minor")).toEqual({ from: undefined, next: "0.1.0" });
    for (const t of ["v1.9.0", "v1.10.0", "v1.10.1-rc.1", "vnext", "other-9.9.9"]) git(repo, "tag", t);
    expect(await nextVersion(repo, "patch")).toEqual({ from: "1.10.1-rc.1", next: "1.10.1" });
    git(repo, "tag", "v1.10.1");
    expect((await nextVersion(repo, "minor")).next).toBe("1.11.0");
    expect((await nextVersion(repo, "major")).next).toBe("2.0.0");
    // A tag with build metadata is that version: bumping past it, never offering it (or less) again.
    git(repo, "tag", "v2.0.0+build.7");
    expect(await nextVersion(repo, "patch")).toEqual({ from: "2.0.0+build.7", next: "2.0.1" });
    expect((await nextVersion(repo, "major")).next).toBe("3.0.0");
    git(repo, "tag", "V9.0.0");
    git(repo, "tag", "v2.1.0-rc.1+ci.3");
    expect(await nextVersion(repo, "minor")).toEqual({ from: "2.1.0-rc.1+ci.3", next: "2.1.0" });
  });

  it("commits the manifest, creates an annotated tag, and pushes both", async () => {
    const remote = join(dir, "remote.git");
    git(dir, "init", "-q", "--bare", remote);
    git(repo, "remote", "add", "origin", remote);
    const release = await releaseGit({
      repoDir: repo,
      version: "1.2.3",
      description: "New features",
      push: true,
    });
    expect(release).toMatchObject({ tag: "v1.2.3", committed: true, pushed: true });
    const text = await readFile(join(repo, "update-manifest.yaml"), "utf8");
    expect(text).toContain("# our manifest");
    expect(parseManifestText(text, "m").manifest).toMatchObject({
      version: "1.2.3",
      description: "New features",
    });
    expect(git(repo, "log", "-1", "--format=%s")).toBe("Release v1.2.3: New features");
    expect(git(repo, "cat-file", "-t", "v1.2.3")).toBe("tag");
    expect(git(repo, "rev-list", "-n", "1", "v1.2.3")).toBe(release.commit);
    expect(git(repo, "status", "--porcelain")).toBe("");
    expect(git(remote, "rev-list", "-n", "1", "v1.2.3")).toBe(release.commit);
    expect(git(remote, "rev-parse", "main")).toBe(release.commit);
  });

  // The remote moved on since this clone was made: the push was "internal error: To …/origin.git
  // ! HEAD:refs/heads/main [rejected] (fetch first)" plus git's hints, with the tag already made,
  // so the same command run again after a pull met "already has the tag".
  it("a push the remote refuses says why and what to do, tags nothing, and works once repeated", async () => {
    const remote = join(dir, "origin.git");
    git(dir, "init", "-q", "--bare", remote);
    git(repo, "remote", "add", "origin", remote);
    git(repo, "push", "-q", "origin", "HEAD:main");
    const other = join(dir, "other");
    git(dir, "clone", "-q", "--branch", "main", remote, other);
    await writeFile(join(other, "other.txt"), "someone else's commit\n");
    git(other, "add", ".");
    git(other, "-c", "user.email=o@example.com", "-c", "user.name=O", "commit", "-q", "-m", "other");
    git(other, "push", "-q", "origin", "HEAD:main");

    const refused = await releaseGit({ repoDir: repo, version: "1.2.3", description: "x", push: true }).catch(
      (e: unknown) => e,
    );
    expect(refused).toBeInstanceOf(ReleaseFailedError);
    expect((refused as ReleaseFailedError).exitCode).toBe(1);
    expect((refused as Error).message).toBe(
      "git push origin HEAD: the remote refused it (fetch first): it has commits this clone lacks; nothing was tagged: bring in the remote's commits (git pull --rebase), then run ship release git 1.2.3 again",
    );
    expect(git(repo, "tag", "--list", "v1.2.3")).toBe("");

    git(repo, "pull", "-q", "--rebase", "origin", "main");
    const again = await releaseGit({ repoDir: repo, version: "1.2.3", description: "x", push: true });
    expect(again).toMatchObject({ tag: "v1.2.3", committed: false, pushed: true });
    expect(git(remote, "rev-list", "-n", "1", "v1.2.3")).toBe(again.commit);

    const nowhere = await releaseGit({
      repoDir: repo,
      version: "1.2.4",
      description: "y",
      push: true,
      remote: "nope",
    }).catch((e: unknown) => e);
    // Asked before the manifest commit: it used to be committed, then the push failed (exit 1).
    expect((nowhere as Error).message).toBe(
      "--remote nope: this repository has no such remote (it has origin): pass --remote with one of them, or add it (git remote add nope URL); nothing was committed or tagged",
    );
    expect((nowhere as BadInputError).exitCode).toBe(2);
    expect(git(repo, "rev-parse", "HEAD")).toBe(again.commit);
  });

  it("refuses a dirty work tree and an existing tag, changing nothing", async () => {
    const head = git(repo, "rev-parse", "HEAD");
    await writeFile(join(repo, "app.py"), "print('uncommitted')\n");
    const dirty = releaseGit({ repoDir: repo, version: "1.0.0", description: "x" });
    await expect(dirty).rejects.toThrow(/not clean \(app\.py\)/);
    expect(git(repo, "rev-parse", "HEAD")).toBe(head);
    expect(git(repo, "tag", "--list")).toBe("");
    git(repo, "checkout", "--", "app.py");
    git(repo, "tag", "v1.0.0");
    await expect(releaseGit({ repoDir: repo, version: "1.0.0", description: "x" })).rejects.toThrow(
      /already has the tag v1\.0\.0; release a new version/,
    );
    git(repo, "tag", "v1.1.0+build.2");
    await expect(releaseGit({ repoDir: repo, version: "1.1.0", description: "x" })).rejects.toThrow(
      /already has the tag v1\.1\.0\+build\.2, which releases version 1\.1\.0/,
    );
    expect(git(repo, "rev-parse", "HEAD")).toBe(head);
  });

  /** v1.9.0, then a commit tagged `newer`, then the branch maint-1.9 checked out at v1.9.0. */
  async function maintenanceBranchBelow(newer: string): Promise<void> {
    git(repo, "tag", "v1.9.0");
    await writeFile(join(repo, "app.py"), `print('${newer}')\n`);
    git(repo, "commit", "-qam", `${newer} work`);
    git(repo, "tag", newer);
    git(repo, "checkout", "-q", "-b", "maint-1.9", "v1.9.0");
  }

  it("tags a maintenance release below the newest tag, and says agents following tags will not take it", async () => {
    await maintenanceBranchBelow("v2.0.0");
    const older = await releaseGit({ repoDir: repo, version: "1.9.1", description: "backport" });
    expect(older.tag).toBe("v1.9.1");
    expect(older.newerTag).toBe("v2.0.0");
    expect(git(repo, "rev-list", "-n", "1", "v1.9.1")).toBe(older.commit);
    const newer = await releaseGit({ repoDir: repo, version: "2.0.1", description: "next" });
    expect(newer.newerTag).toBeUndefined();
  });

  it("a newer pre-release tag does not keep agents off a release: no note, as they skip it", async () => {
    await maintenanceBranchBelow("v3.0.0-rc.1");
    const release = await releaseGit({ repoDir: repo, version: "1.9.1", description: "fix" });
    expect(release.newerTag).toBeUndefined();
  });

  it("refuses a version below a tag the branch already holds, changing nothing", async () => {
    git(repo, "tag", "v2.0.0");
    const head = git(repo, "rev-parse", "HEAD");
    const manifest = await readFile(join(repo, "update-manifest.yaml"), "utf8").catch(() => undefined);
    const typo = releaseGit({ repoDir: repo, version: "0.9.0", description: "meant 2.0.1" });
    await expect(typo).rejects.toThrow(
      `already holds v2.0.0 in this branch's history (HEAD contains it), a higher version than 0.9.0: release a version above 2.0.0 (ship release bump patch), or 0.9.0 from a branch of the older line (git checkout -b maint <an older tag>); nothing was committed or tagged`,
    );
    expect(git(repo, "rev-parse", "HEAD")).toBe(head);
    expect(git(repo, "tag", "--list", "v0.9.0")).toBe("");
    expect(await readFile(join(repo, "update-manifest.yaml"), "utf8").catch(() => undefined)).toBe(manifest);
  });

  it("http archives from a work tree hold what git would commit, not ignored files", async () => {
    await writeFile(join(repo, ".gitignore"), "*.log\nnode_modules/\n");
    await writeFile(join(repo, "debug.log"), "noise\n");
    await writeFile(join(repo, "new-module.py"), "print('untracked but not ignored')\n");
    execFileSync("mkdir", ["-p", join(repo, "node_modules/x")]);
    await writeFile(join(repo, "node_modules/x/index.js"), "\n");
    const built = await buildReleaseArchive({
      sourceDir: repo,
      app: "myapp",
      version: "1.0.0",
      outDir: repo,
    });
    const paths: string[] = [];
    await list({ file: built.path, onReadEntry: (e) => paths.push(e.path) });
    expect(paths).toEqual([
      "myapp-1.0.0/",
      "myapp-1.0.0/.gitignore",
      "myapp-1.0.0/app.py",
      "myapp-1.0.0/new-module.py",
      "myapp-1.0.0/update-manifest.yaml",
    ]);
  });
});
