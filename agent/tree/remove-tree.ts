/**
 * Deleting a tree ship owns (the trash of restored backups, an old backup) with a failure an
 * operator can act on.
 *
 * Node's recursive `rm` reports the wrong thing when an entry cannot go: an immutable file
 * (`chattr +i`) fails its unlink with EPERM, which rm takes for "maybe a directory" and retries as
 * one, so the error says ENOTDIR about a regular file. So the fast `rm` runs first, and only when it
 * fails does a walk of what is left find the entry that really cannot be removed and why.
 */
import { type Dirent, rmSync, type Stats } from "node:fs";
import { chmod, lstat, readdir, rmdir, unlink } from "node:fs/promises";
import { join } from "node:path";
import { errnoCode, fsErrorText } from "../../shared/fs-errors.js";

/** An entry inside a tree that could not be deleted: which one, and what the operator can do. */
export class TreeRemovalError extends Error {
  constructor(
    /** The entry the removal stopped at. */
    readonly entry: string,
    failure: unknown,
  ) {
    super(`cannot remove ${entry}: ${fsErrorText(failure)}${errnoRemedy(errnoCode(failure))}`, {
      cause: failure,
    });
    this.name = "TreeRemovalError";
  }
}

/**
 * What usually causes a refusal to change an entry, and what lets the next try succeed (" — …"),
 * for any message that names the entry; "" when there is nothing to add.
 */
export function errnoRemedy(code: string | undefined): string {
  switch (code) {
    case "EPERM":
      // For root, unlink and rmdir fail with EPERM only on an immutable or append-only entry or directory.
      return " — it or its directory is probably immutable or append-only (lsattr shows i or a); clear that with chattr -i -a";
    case "EACCES":
      return " — ship's user lacks permission on it or its directory; give that user read, write and search permission there (chmod u+rwx), or delete it as root";
    case "EROFS":
      return " — its filesystem is mounted read-only; remount it read-write";
    case "EBUSY":
      return " — something is mounted there or holds it; unmount or stop it";
    default:
      return "";
  }
}

/**
 * Deletes `path` and everything under it; a missing path is fine. Throws TreeRemovalError naming the
 * first entry that cannot be deleted (what could be deleted is gone).
 *
 * rmSync, not fs/promises' rm: Node 20's asynchronous one makes an lstat and an unlink per entry,
 * each a thread-pool round trip costing ~3x the call (a restore's 200-file trash emptied by the next
 * update: 400 round trips). Blocking the loop is fine here: most trees hold what one update changed,
 * the largest (a first install's staging, 20,000 files) takes about a second, and the daemon's hub
 * connection allows 30 s of silence.
 */
export async function removeTree(path: string): Promise<void> {
  try {
    rmSync(path, { recursive: true, force: true });
  } catch {
    await removeOneByOne(path);
  }
}

/** The slow walk behind removeTree's failure: each entry's own syscall error, not rm's guess. */
async function removeOneByOne(path: string): Promise<void> {
  let stat: Stats;
  try {
    stat = await lstat(path);
  } catch (error) {
    if (errnoCode(error) === "ENOENT") return;
    throw new TreeRemovalError(path, error);
  }
  const isDir = stat.isDirectory();
  if (isDir) {
    // A directory of ship's own user that it may not read, enter or write (chmod 0 by a hook, say):
    // its owner may open it up, so only a directory of another user stops the removal.
    if ((stat.mode & 0o700) !== 0o700 && stat.uid === process.getuid?.())
      await chmod(path, (stat.mode & 0o7777) | 0o700).catch(() => undefined);
    let entries: Dirent[];
    try {
      entries = await readdir(path, { withFileTypes: true });
    } catch (error) {
      // Gone since the lstat (a detached `rm` of an earlier run, or another run, emptying the same
      // trash): what was to be deleted is deleted.
      if (errnoCode(error) === "ENOENT") return;
      throw new TreeRemovalError(path, error);
    }
    for (const entry of entries) await removeOneByOne(join(path, entry.name));
  }
  try {
    await (isDir ? rmdir(path) : unlink(path));
  } catch (error) {
    if (errnoCode(error) !== "ENOENT") throw new TreeRemovalError(path, error);
  }
}
