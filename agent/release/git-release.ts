/**
 * `ship release git VERSION "DESC"`: from a clean work tree, set the manifest's version and
 * description, commit it, create the annotated tag vVERSION, and push both when asked.
 */
import { execFile } from "node:child_process";
import { lstat, readlink, realpath, writeFile } from "node:fs/promises";
import { basename, join, relative, resolve } from "node:path";
import { promisify } from "node:util";
import { simpleGit } from "simple-git";
import { BadInputError, type Issue } from "../../shared/errors.js";
import { parseManifestText, readManifestText } from "../../shared/manifest/load.js";
import { MANIFEST_FILENAME } from "../../shared/manifest/schema.js";
import { compareVersions, isPrerelease, parseVersion } from "../../shared/versions.js";
import { shownRemote } from "../download/redact.js";
import { specialKind } from "../tree/lstat-lite.js";
import { refuseShallowWithoutTags } from "./bump.js";
import { pushOrSay, remoteTags } from "./git-remote.js";
import { setReleaseFields } from "./manifest-fields.js";
import { releaseDate, starterManifest } from "./manifest-template.js";
import { type ReleaseFile, refusePrivateKeys } from "./private-keys.js";
import { holdsThisRelease, releasedAlready, sameRelease } from "./released-tag.js";
import { nulSeparatedNames, type Utf8Refusal, utf8LinkTarget } from "./utf8-names.js";

const run = promisify(execFile);

export interface GitReleaseOptions {
  repoDir: string;
  version: string;
  description: string;
  push?: boolean;
  remote?: string;
  /** Tracked files that hold a private key and are meant to be released (--allow-private-key). */
  allowPrivateKeys?: readonly string[];
}

export interface GitRelease {
  tag: string;
  commit: string;
  /** False when the manifest already said this version and description (nothing to commit). */
  committed: boolean;
  pushed: boolean;
  manifestText: string;
  /** HEAD is no branch (a CI checkout of a commit): only the tag can be pushed, and it carries the commit. */
  detached: boolean;
  /**
   * The newest `v*` tag when it releases a higher version than this one (a maintenance release
   * of an older line): agents following `tag = "v*"` install the newest, never this one.
   */
  newerTag?: string;
  /** The work tree's top, when -C named a subdirectory of it: the tag, and its manifest, are the top's. */
  root?: string;
  /** The tag released this very content already (a retried job): nothing was committed or tagged. */
  unchanged?: boolean;
  /** What the manifest's reader warns about in the manifest tagged (none when it was tagged before). */
  warnings?: Issue[];
}

export function tagFor(version: string): string {
  return `v${version}`;
}

export async function releaseGit(o: GitReleaseOptions): Promise<GitRelease> {
  // Named absolute: "." in "ship release git: . is not clean" reads as a typo.
  const given = resolve(o.repoDir);
  if (!(await simpleGit(given).checkIsRepo()))
    throw BadInputError.single(given, "", "is not a git work tree");
  const where = await releaseRoot(given);
  const git = simpleGit(where);
  const status = await git.status();
  if (!status.isClean()) {
    const dirty = status.files.map((f) => f.path);
    const shown = dirty.slice(0, 5).join(", ") + (dirty.length > 5 ? ", ..." : "");
    throw BadInputError.single(where, "", `is not clean (${shown}); commit or stash first`);
  }
  const tag = tagFor(o.version);
  await requireTagName(where, o.version, tag);
  const remote = o.remote ?? "origin";
  const detached = !(await gitSucceeds(where, ["symbolic-ref", "-q", "HEAD"]));
  if (o.push === true) requireBranch(where, detached);
  // `v2.0.0+build.7` or `v2.0` is the same version as 2.0.0: the hub would refuse it as a duplicate.
  const tags = (await git.tags(["--list", "v*"])).all;
  // Without them, a version below a released one would be tagged with no word (see bump.ts).
  if (tags.length === 0) await refuseShallowWithoutTags(git, where);
  const same = sameRelease(tags, tag, o.version);
  if (same !== undefined) {
    if (await holdsThisRelease(where, same, o.version, o.description))
      return releasedAlready(o, { git, where, given, detached, remote, tag: same });
    throw BadInputError.single(
      where,
      "",
      same === tag
        ? `already has the tag ${tag}; release a new version`
        : `already has the tag ${same}, which releases version ${o.version}`,
    );
  }
  // Every tracked file is in the tag, and agents following it clone them all (skip rules decide
  // only what is installed from the clone): a committed key is on every server.
  await refusePrivateKeys(
    where,
    await trackedFiles(where),
    o.allowPrivateKeys ?? [],
    `the tag ${tag}`,
    "Remove it from git (git rm --cached, then .gitignore it) and commit",
  );
  await requireIdentity(git, where);
  await requireManifestNotIgnored(where);
  await requireManifestExported(where);
  // Agents following `tag = "v*"` skip pre-releases: a newer v3.0.0-rc.1 does not keep them off 2.5.1.
  const newerTag = newestAbove(
    tags.filter((t) => !isPrerelease(t)),
    o.version,
  );
  // A higher release this branch already holds (a pre-release too): the new tag would carry its
  // code under a lower version (a typo for 1.0.1, or the wrong branch checked out), and agents
  // following the branch would read the manifest's version going backwards. A maintenance line
  // branches off before it.
  const contained =
    newestAbove(tags, o.version) === undefined
      ? undefined
      : newestAbove((await git.tags(["--list", "v*", "--merged", "HEAD"])).all, o.version);
  if (contained !== undefined) {
    throw BadInputError.single(
      where,
      "",
      `already holds ${contained} in this branch's history (HEAD contains it), a higher version than ${o.version}: release a version above ${contained.slice(1)} (ship release bump patch), or ${o.version} from a branch of the older line (git checkout -b maint <an older tag>); nothing was committed or tagged`,
    );
  }
  const file = join(where, MANIFEST_FILENAME);
  const existing = (await requireManifestFile(file)) ? await readManifestText(file) : undefined;
  const fields = { version: o.version, description: o.description, releaseDate: releaseDate() };
  const manifestText =
    existing === undefined
      ? starterManifest({ ...fields, app: basename(where) })
      : setReleaseFields(existing, file, fields);
  // An invalid manifest would be refused by every agent; better to stop before tagging it.
  const { warnings } = parseManifestText(manifestText, file);
  const committed = manifestText !== existing;
  const again = `ship release git ${o.version} again`;
  if (o.push === true) {
    // A clone that lacks the remote's tags (pulled with --no-tags, fetched by branch) released a
    // version the remote has: the manifest commit was pushed, then the tag refused ("already
    // exists"), exit 1, with a hint to push it again that could never work.
    const held = await remoteTags(where, remote, again);
    const theirs = sameRelease(held.keys(), tag, o.version);
    // Pushed by a run whose answer was lost, then fetched without tags: the same release again.
    if (
      theirs !== undefined &&
      (await holdsThisRelease(where, held.get(theirs) ?? "", o.version, o.description))
    )
      return releasedAlready(o, {
        git,
        where,
        given,
        detached,
        remote,
        tag: theirs,
        onRemote: held.get(theirs),
      });
    if (theirs !== undefined)
      throw BadInputError.single(
        "--remote",
        "",
        `${shownRemote(remote)} already has the tag ${theirs}${theirs === tag ? "" : `, which releases version ${o.version}`}, which this clone lacks (git fetch --tags ${shownRemote(remote)}); release a new version; nothing was committed or tagged`,
      );
  }
  if (committed) {
    await writeFile(file, manifestText);
    await git.add(MANIFEST_FILENAME);
    await git.commit(`Release ${tag}: ${o.description}`, [MANIFEST_FILENAME]);
  }
  // The branch goes first, before the tag exists: when the remote refuses it (it moved on), the
  // run can simply be repeated once that is fixed, instead of meeting its own tag.
  if (o.push === true)
    await pushOrSay(where, remote, "HEAD", {
      behind: `nothing was tagged: bring in the remote's commits (git pull --rebase), then run ${again}`,
      other: `nothing was tagged: run ${again} once that is fixed`,
    });
  await git.addAnnotatedTag(tag, o.description === "" ? `Release ${tag}` : o.description);
  const commit = (await git.revparse(["HEAD"])).trim();
  if (o.push === true) {
    const later = `${tag} is made here: push it once that is fixed (git push ${shownRemote(remote)} ${tag})`;
    await pushOrSay(where, remote, `refs/tags/${tag}`, { behind: later, other: later });
  }
  const root = where === given ? undefined : where;
  return {
    tag,
    commit,
    committed,
    pushed: o.push === true,
    manifestText,
    detached,
    newerTag,
    root,
    warnings,
  };
}

/**
 * Checked before anything is written: git refuses some versions as tag names (`1.0.0..1`,
 * `1.0.0~1`, `1.0.0.lock`, a trailing dot) only at `git tag`, after the manifest was committed,
 * which was "internal error: fatal: 'v1.0.0..1' is not a valid tag name", exit 1, and a commit left.
 */
async function requireTagName(where: string, version: string, tag: string): Promise<void> {
  if (!(await gitSucceeds(where, ["check-ref-format", `refs/tags/${tag}`])))
    throw BadInputError.single(
      "VERSION",
      version,
      `${tag} is not a valid git tag name (no "..", "~", "^", ":", "?", "*", "[", "@{", ending in "." or ".lock"); nothing was committed or tagged`,
    );
}

/**
 * An untracked manifest a .gitignore rule matches cannot be committed: `git add` refused it after it
 * was written ("internal error: The following paths are ignored …" over five lines, exit 1), and
 * agents following the tag read their manifest from the tag. (A tracked one is never "ignored".)
 */
async function requireManifestNotIgnored(where: string): Promise<void> {
  const rule = await run("git", ["check-ignore", "-v", "--", MANIFEST_FILENAME], { cwd: where }).then(
    (r) => r.stdout.split("\t")[0]?.trim(),
    () => undefined,
  );
  if (rule === undefined || rule === "") return;
  const parts = /^(.*):(\d+):(.*)$/.exec(rule);
  const shown = parts === null ? rule : `${parts[1]}:${parts[2]}: ${parts[3]}`;
  throw BadInputError.single(
    join(where, MANIFEST_FILENAME),
    "",
    `is ignored by git (${shown}), so it cannot be committed, and agents following the tag read their manifest from it: remove that rule; nothing was committed or tagged`,
  );
}

/**
 * The top of the work tree holding `given`, spelled from `given` (git names it with symlinks
 * resolved). A tag holds the whole repository and agents following it read the manifest at its
 * top: run from a subdirectory (`-C app/src`, or cd there), the manifest was written and committed
 * there, where no agent reads it, and only that subdirectory's files were checked for private keys
 * and names agents refuse. A subdirectory with a manifest of its own is refused: it never reaches
 * an agent through a tag.
 */
/**
 * A manifest a `.gitattributes` rule marks `export-ignore` (`update-manifest.yaml export-ignore`,
 * `* export-ignore`) is in the tag but not in what agents install from it, which git archive exports:
 * they installed the tag as a release without a manifest (every file replaced, no skip or protected
 * directory, the commit id as version), and this command said "tagged", exit 0. `--cached`: the
 * attributes the commit carries (the tree is clean), as agents read them.
 */
async function requireManifestExported(where: string): Promise<void> {
  const { stdout } = await run("git", ["check-attr", "--cached", "export-ignore", "--", MANIFEST_FILENAME], {
    cwd: where,
  });
  if (!/: export-ignore: set$/m.test(stdout)) return;
  throw BadInputError.single(
    join(where, MANIFEST_FILENAME),
    "",
    "is marked export-ignore by a .gitattributes rule (git check-attr -a update-manifest.yaml), so agents following the tag, which install what git archive exports, would get no manifest (every file replaced, no skip rule or protected directory): remove that rule; nothing was committed or tagged",
  );
}

async function releaseRoot(given: string): Promise<string> {
  const top = (await run("git", ["rev-parse", "--show-toplevel"], { cwd: given })).stdout.replace(/\n$/, "");
  const up = relative(await realpath(given), top);
  if (up === "") return given;
  const where = resolve(given, up);
  const own = join(given, MANIFEST_FILENAME);
  if (
    await lstat(own).then(
      () => true,
      () => false,
    )
  )
    throw BadInputError.single(
      own,
      "",
      `is not at the top of the git work tree ${where}: agents following the tag install the whole repository and read ${join(where, MANIFEST_FILENAME)}, never this one; move it there (git mv), or release this directory as an archive (ship release http); nothing was committed or tagged`,
    );
  return where;
}

/**
 * The manifest is rewritten in place and committed: a symlink was written through, to a file
 * elsewhere in the tree (left modified, never committed) or outside the repository, while the
 * commit held the unchanged link; "committed update-manifest.yaml for 1.0.0" and the tag, exit 0,
 * carried the old version (or a link agents refuse). A directory there was "cannot open …: is a
 * directory (EISDIR)", exit 1. Both are exit 2 before anything is written. True when the file is
 * there (false: none yet, the starter manifest is written).
 */
async function requireManifestFile(file: string): Promise<boolean> {
  const found = await lstat(file).catch(() => undefined);
  if (found === undefined) return false;
  if (found.isFile()) return true;
  const nothing = "nothing was committed or tagged";
  if (found.isSymbolicLink())
    throw BadInputError.single(
      file,
      "",
      `is a symlink (to ${await readlink(file)}): the release's version is written into the manifest and committed, and agents read it at the top of the tag, so it must be a file there: replace the link with the file it points to (cp --remove-destination "$(readlink -f ${MANIFEST_FILENAME})" ${MANIFEST_FILENAME}) and commit; ${nothing}`,
    );
  const kind = found.isDirectory() ? "a directory" : (specialKind(found.mode) ?? "not a regular file");
  throw BadInputError.single(file, "", `is ${kind}, not a file: move it out of the way; ${nothing}`);
}

/** Whether `git ARGS` exits 0. Not through simple-git: it resolves a failure that prints nothing. */
async function gitSucceeds(cwd: string, args: string[]): Promise<boolean> {
  return run("git", args, { cwd }).then(
    () => true,
    () => false,
  );
}

/**
 * `--push` pushes the branch, then the tag. From a detached HEAD (CI checked out a commit) the
 * branch push failed only after the manifest commit: exit 1 with git's text cut mid-sentence ("The
 * destination you provided is not a full refname (i.e.,"), and a commit left behind.
 */
function requireBranch(where: string, detached: boolean): void {
  if (detached)
    throw BadInputError.single(
      where,
      "",
      "HEAD is detached (a checkout of a commit, not of a branch), so --push has no branch to push: check out the branch first (git checkout -B main origin/main), or leave out --push and push the tag; nothing was committed or tagged",
    );
}

/**
 * The commit and the annotated tag need a name and an email. Without them (a fresh CI runner) the
 * commit failed after the manifest was written and staged: "internal error: Author identity
 * unknown …" over a dozen lines, exit 1, and every later try was refused as "not clean".
 */
async function requireIdentity(git: ReturnType<typeof simpleGit>, where: string): Promise<void> {
  for (const who of ["GIT_AUTHOR_IDENT", "GIT_COMMITTER_IDENT"]) {
    const known = await git.raw(["var", who]).then(
      () => true,
      () => false,
    );
    if (!known)
      throw BadInputError.single(
        where,
        "",
        `has no git identity to commit and tag the release with: set one (git -C ${where} config user.name "CI" && git -C ${where} config user.email ci@example.com); nothing was changed`,
      );
  }
}

/** The newest semver-shaped tag of `tags` (`v`-prefixed) when its version is above `version`. */
function newestAbove(tags: readonly string[], version: string): string | undefined {
  const newest = tags
    .filter((t) => parseVersion(t.slice(1)).kind === "semver")
    .sort((a, b) => compareVersions(a.slice(1), b.slice(1)))
    .at(-1);
  return newest !== undefined && compareVersions(newest.slice(1), version) > 0 ? newest : undefined;
}

/**
 * Regular files git tracks, with their size (symlinks are not followed); every tracked name (any
 * kind) must be UTF-8, and so must a tracked symlink's target, as for http/sftp. Read as bytes: read as text, `caf\xe9.txt` became
 * `caf\uFFFD.txt`, a path lstat did not find, so the tag went out with a name every agent refuses
 * at fetch, and a private key under such a name was never scanned.
 */
async function trackedFiles(root: string): Promise<ReleaseFile[]> {
  const { stdout } = await run("git", ["ls-files", "-z"], {
    cwd: root,
    maxBuffer: 256 << 20,
    encoding: "buffer",
  });
  const out: ReleaseFile[] = [];
  for (const rel of nulSeparatedNames(root, stdout, GIT_REFUSAL)) {
    const path = join(root, rel);
    const stat = await lstat(path).catch(() => undefined);
    if (stat?.isFile()) out.push({ rel, path, size: stat.size });
    else if (stat?.isSymbolicLink()) await utf8LinkTarget(path, GIT_REFUSAL);
  }
  return out;
}

const GIT_REFUSAL: Utf8Refusal = {
  leaveOut: "git rm --cached it, .gitignore it and commit: every tracked file is in the tag",
  nothingDone: "nothing was committed or tagged",
};
