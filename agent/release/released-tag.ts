/**
 * A tag that releases the version `ship release git` is asked for already. The same release again
 * (a CI job retried after the tag landed, its answer lost or its tag push failed) is a no-op, as
 * the same bytes again are for `http --out` and `sftp`: the tag's tree is HEAD's, and the manifest
 * in it says this version and description. Anything else under that version is refused.
 */
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import type { SimpleGit } from "simple-git";
import { BadInputError } from "../../shared/errors.js";
import { parseManifestText } from "../../shared/manifest/load.js";
import { MANIFEST_FILENAME } from "../../shared/manifest/schema.js";
import { compareVersions } from "../../shared/versions.js";
import { shownRemote } from "../download/redact.js";
import type { GitRelease, GitReleaseOptions } from "./git-release.js";
import { pushOrSay, remoteTags } from "./git-remote.js";

const run = promisify(execFile);

/** The tag of `tags` that releases `version` (itself, or `v2.0.0+build.7` for 2.0.0), if any. */
export function sameRelease(tags: Iterable<string>, tag: string, version: string): string | undefined {
  for (const t of tags) if (t === tag || compareVersions(t.slice(1), version) === 0) return t;
  return undefined;
}

/**
 * Whether `rev` (a tag name, or the commit a remote's tag peels to) holds the release this run
 * would make: HEAD's tree (the work tree is clean), whose manifest says `version` and
 * `description`. A commit this clone lacks is not known to hold it.
 */
export async function holdsThisRelease(
  where: string,
  rev: string,
  version: string,
  description: string,
): Promise<boolean> {
  const tree = (ref: string) =>
    run("git", ["rev-parse", "--verify", "-q", `${ref}^{tree}`], { cwd: where }).then(
      (r) => r.stdout.trim(),
      () => undefined,
    );
  const [theirs, ours] = await Promise.all([tree(rev), tree("HEAD")]);
  if (theirs === undefined || theirs !== ours) return false;
  const text = await run("git", ["show", `HEAD:${MANIFEST_FILENAME}`], {
    cwd: where,
    maxBuffer: 64 << 20,
  }).then(
    (r) => r.stdout,
    () => undefined,
  );
  if (text === undefined) return false;
  try {
    const { manifest } = parseManifestText(text, MANIFEST_FILENAME);
    return manifest.version === version && (manifest.description ?? "") === description;
  } catch {
    return false;
  }
}

/**
 * The same release again: nothing is committed or tagged; with --push the tag goes to a remote that
 * lacks it (a retry after the tag push failed), and one holding another commit under it is refused.
 * Only the tag is pushed: it carries its commit, and the branch may have moved on since.
 */
export async function releasedAlready(
  o: GitReleaseOptions,
  at: {
    git: SimpleGit;
    where: string;
    given: string;
    detached: boolean;
    remote: string;
    tag: string;
    onRemote?: string;
  },
): Promise<GitRelease> {
  const { git, where, remote, tag } = at;
  const commit = (await git.revparse([`${tag}^{commit}`]).catch(() => at.onRemote ?? "")).trim();
  let pushed = false;
  if (o.push === true) {
    // The remote's tag of this version by any name (v1.0.0+build.7 too): a second name for it there
    // would be a duplicate version the hub refuses.
    const held =
      at.onRemote === undefined
        ? await remoteTags(where, remote, `ship release git ${o.version} again`)
        : new Map([[tag, at.onRemote]]);
    const name = sameRelease(held.keys(), tag, o.version);
    const theirs = name === undefined ? undefined : held.get(name);
    if (theirs !== undefined && theirs !== commit)
      throw BadInputError.single(
        "--remote",
        "",
        `${shownRemote(remote)} has the tag ${name} on commit ${theirs}, not on ${commit} as this clone's ${tag}: the two releases of ${o.version} differ; release a new version; nothing was pushed`,
      );
    if (theirs === undefined) {
      const later = `${tag} is made here: push it once that is fixed (git push ${shownRemote(remote)} ${tag})`;
      await pushOrSay(where, remote, `refs/tags/${tag}`, { behind: later, other: later });
    }
    pushed = true;
  }
  const root = where === at.given ? undefined : where;
  const manifestText = (await git.show([`HEAD:${MANIFEST_FILENAME}`])).toString();
  return {
    tag,
    commit,
    committed: false,
    pushed,
    manifestText,
    detached: at.detached,
    root,
    unchanged: true,
  };
}
