/**
 * A clone's refs before a fetch, to put back when the fetch is refused after it moved them (a pack
 * past max_download_mb, git-pack-size.ts): the pack is removed then, and a ref left naming one of
 * its objects would break the clone (and a next fetch would find the objects "already there").
 * Symbolic refs (`refs/remotes/origin/HEAD`) are left out: a fetch moves what they name, not them.
 */
import type { RunGit } from "./git-run.js";

/** Ref name → the object id it names. */
export type RefsSnapshot = ReadonlyMap<string, string>;

/** Every non-symbolic ref of the clone (`git for-each-ref`). Rejects with git's error. */
export async function snapshotRefs(git: RunGit): Promise<RefsSnapshot> {
  const out = await git(["for-each-ref", "--format=%(objectname) %(symref) %(refname)"]);
  const refs = new Map<string, string>();
  for (const line of out.split("\n")) {
    // "<id>  <refname>" when not symbolic: the empty %(symref) leaves two spaces.
    const match = /^([0-9a-f]+) {2}(.+)$/.exec(line);
    if (match?.[1] !== undefined && match[2] !== undefined) refs.set(match[2], match[1]);
  }
  return refs;
}

/**
 * Puts the clone's refs back to `before`: refs the fetch made are deleted, refs it moved or pruned
 * are set again, each only if it still names what the fetch left (`update-ref`'s old value), one git
 * process per ref changed (a fetch moves a few). Rejects with git's error on the first that fails.
 * A logged ref's reflog loses the fetch's entry and the restore's: an entry naming a removed
 * object is an error to `git fsck` and `git gc`.
 */
export async function restoreRefs(git: RunGit, before: RefsSnapshot): Promise<void> {
  const now = await snapshotRefs(git);
  for (const [ref, id] of now) {
    const was = before.get(ref);
    if (was === undefined) await git(["update-ref", "--no-deref", "-d", ref, id]);
    else if (was !== id) {
      await git(["update-ref", "--no-deref", ref, was, id]);
      await dropMove(git, ref, was, id);
    }
  }
  for (const [ref, was] of before) {
    if (!now.has(ref)) await git(["update-ref", "--no-deref", ref, was, ""]);
  }
}

/** Drops the newest two entries of `ref`'s reflog when they are the move to `id` and back to `was`. */
async function dropMove(git: RunGit, ref: string, was: string, id: string): Promise<void> {
  // No reflog (refs/ship/* and tags are not logged by default) is no output, or git's error.
  const log = await git(["reflog", "show", "--format=%H", "-n", "2", ref]).catch(() => "");
  if (log.split("\n").slice(0, 2).join(" ") !== `${was} ${id}`) return;
  await git(["reflog", "delete", `${ref}@{0}`]);
  await git(["reflog", "delete", `${ref}@{0}`]);
}
