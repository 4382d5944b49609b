/**
 * The few file operations the journal is made of. Each prefers a metadata-only operation (rename,
 * hard link) and falls back to a copy (reflink clone where the filesystem can) when source and
 * destination are on different filesystems; the result says which happened so callers can log it.
 */
import { createHash } from "node:crypto";
import {
  type BigIntStats,
  constants,
  linkSync,
  lstatSync,
  renameSync,
  rmdirSync,
  rmSync,
  type Stats,
  unlinkSync,
} from "node:fs";
import {
  chmod,
  copyFile,
  type FileHandle,
  lchown,
  lstat,
  open,
  readlink,
  realpath,
  rename,
  rm,
  symlink,
  unlink,
} from "node:fs/promises";
import { dirname } from "node:path";
import { namingPath } from "../../shared/fs-errors.js";
import { makeDirs, makeDirsSync } from "../../shared/make-dirs.js";
import { faultPoint } from "../fault.js";
import { keepTimes } from "./exact-mtime.js";
import { hashFile } from "./hash-file.js";
import { lstatLite, specialKind } from "./lstat-lite.js";

/**
 * How an entry got to its new name. A copy whose original's owner could not be given to it (another
 * filesystem, ship not root) says the owner it lost: the caller names it to the operator.
 */
export type Transfer = "renamed" | "linked" | "copied" | `copied without owner ${number}:${number}`;

/** The `uid:gid` a copy could not keep, or undefined. */
export function ownerLost(how: Transfer): string | undefined {
  return how.startsWith("copied without owner ") ? how.slice("copied without owner ".length) : undefined;
}

function copied(lost: string | undefined): Transfer {
  return lost === undefined ? "copied" : (`copied without owner ${lost}` as Transfer);
}

// The metadata-only calls below (lstat, rename, link, unlink, rmdir) are synchronous: each takes a
// few microseconds in the kernel, while a round trip through the libuv thread pool costs tens, so a
// 200-file rollback waited more on the pool than on the disk. Data copies stay asynchronous.

function code(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException).code;
}

/** True when a cheap operation failed only because it cannot cross filesystems or is not allowed. */
function mustCopy(error: unknown): boolean {
  const c = code(error);
  return c === "EXDEV" || c === "EPERM" || c === "EMLINK" || c === "ENOTSUP";
}

/** lstat without following a symlink; undefined when the path cannot be stat'ed (missing, ENOTDIR...). */
export function lstatOrUndefined(path: string): Stats | undefined {
  try {
    return lstatSync(path);
  } catch {
    return undefined;
  }
}

/** A bigint lstat, or undefined for whatever stands in the way (as `.catch(() => undefined)` did). */
export function lstatBigOrUndefined(path: string): BigIntStats | undefined {
  try {
    return lstatSync(path, { bigint: true, throwIfNoEntry: false });
  } catch {
    return undefined;
  }
}

export async function pathExists(path: string): Promise<boolean> {
  try {
    // No Stats object (lstat-lite.ts): a restore asks this of every saved copy it moves back.
    return lstatLite(path, false) !== undefined;
  } catch (error) {
    if (code(error) === "ENOENT" || code(error) === "ENOTDIR") return false;
    throw error;
  }
}

const TEMP_SUFFIX = ".ship-tmp";
/** The longest name (bytes) a directory entry may have on Linux filesystems (ext4, xfs, tmpfs, btrfs). */
const NAME_MAX = 255;

/** Whether the last component of `path` fits NAME_MAX (one that does not can never be created). */
export function nameFits(path: string): boolean {
  return Buffer.byteLength(path.slice(path.lastIndexOf("/") + 1)) <= NAME_MAX;
}

/**
 * The temporary name a copy to `dst` is written under before it is renamed over `dst`: `<name>.ship-tmp`
 * beside it. A name within 9 bytes of NAME_MAX has no room for the suffix (ENAMETOOLONG: an app on
 * its own filesystem failed the update and then its restore, "the app needs a person"), so it gets
 * a short name derived from it, in the same directory: the same every time, so recovery finds it.
 */
export function copyTempName(dst: string): string {
  if (nameFits(`${dst}${TEMP_SUFFIX}`)) return `${dst}${TEMP_SUFFIX}`;
  const slash = dst.lastIndexOf("/");
  const base = dst.slice(slash + 1);
  const short = createHash("sha256").update(base).digest("hex").slice(0, 32);
  return `${dst.slice(0, slash + 1)}.${short}${TEMP_SUFFIX}`;
}

/** An entry copyEntry does not copy: only files and symlinks hold what a copy can keep. */
export class NotCopiedError extends Error {
  constructor(
    readonly path: string,
    kind = "a directory",
  ) {
    super(`cannot copy ${path}: it is ${kind}, not a file (only files and symlinks are copied)`);
    this.name = "NotCopiedError";
  }
}

/**
 * Copies a file or symlink (not its target) to `dst` atomically: temp name, then rename over.
 * Returns the original's `uid:gid` when the copy could not be given it (keepOwner).
 */
export async function copyEntry(src: string, dst: string): Promise<string | undefined> {
  const tmp = copyTempName(dst);
  await rm(tmp, { force: true });
  faultPoint("copy:before-write"); // the temporary's name is free: another process may take it now
  // Bigint: the times are kept from their nanoseconds (a Date's milliseconds fell short, exact-mtime.ts).
  const big = await lstat(src, { bigint: true });
  // A FIFO opened for reading waits for a writer for ever, a socket cannot be opened: neither holds
  // bytes to copy, and a copy of one hung or failed the run that met it.
  if (!big.isFile() && !big.isSymbolicLink()) throw new NotCopiedError(src, specialKind(Number(big.mode)));
  const stat = { uid: Number(big.uid), gid: Number(big.gid), mode: Number(big.mode) };
  let owner: "kept" | "changed" | "lost";
  try {
    if (big.isSymbolicLink()) {
      await symlink(await readlink(src), tmp);
      owner = await keepOwner(tmp, stat);
    } else {
      await copyNew(src, tmp, dst);
      owner = await keepOwner(tmp, stat);
      faultPoint("copy:written"); // and the copy may be swapped for something else now
      if (owner === "changed") await chmodEntry(tmp, stat.mode & 0o7777); // chown clears set-id bits
    }
    // Keep mtime so the install index's stat check still matches a copied-back file, and a symlink's
    // own (a rename keeps both).
    await keepTimes(tmp, big);
  } catch (error) {
    await rm(tmp, { force: true }).catch(() => undefined);
    throw error;
  }
  faultPoint("copy:before-rename"); // a kill mid-copy: the temporary is there, not yet renamed
  await renameOrDrop(tmp, dst);
  return owner === "lost" ? `${stat.uid}:${stat.gid}` : undefined;
}

/**
 * Copies `src` to the new file `tmp`, never through what is already there. The temporary's name
 * is fixed and it is written beside its target, in the app, whose directories the app's user may
 * own (`chown -R www-data plugins`): a symlink that user put there between the rm and the copy
 * was followed, and ship as root wrote the release's bytes over any file on the host.
 */
async function copyNew(src: string, tmp: string, dst: string): Promise<void> {
  try {
    await copyFile(src, tmp, constants.COPYFILE_FICLONE | constants.COPYFILE_EXCL);
  } catch (error) {
    if (code(error) !== "EEXIST") throw error;
    throw new Error(
      `cannot write ${dst}: ${tmp} appeared while ship was writing it (another process writes this directory); nothing was written through it`,
    );
  }
}

/**
 * chmod of the entry `path` itself, a file or a directory, for paths in the app, whose directories
 * the app's user may own: chmod follows a symlink, and one swapped in for a copy ship had just
 * written had ship as root make a root-only file 644 (or, for a directory ship had just made, 755).
 * Opened O_NOFOLLOW (a symlink is refused) and O_NONBLOCK (a FIFO swapped in is not waited on);
 * anything but a file or directory is refused. A ship not run as root that may not open it (a
 * directory of its own it cannot read) sets it by name, as before: it can only change its own.
 */
export async function chmodEntry(path: string, mode: number): Promise<void> {
  let handle: FileHandle;
  try {
    handle = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (error) {
    if (code(error) === "ELOOP")
      throw new Error(`cannot set the mode of ${path}: it was replaced by a symlink`);
    if (code(error) !== "EACCES" || process.getuid?.() === 0) throw error;
    if (lstatSync(path).isSymbolicLink())
      throw new Error(`cannot set the mode of ${path}: it was replaced by a symlink`);
    await chmod(path, mode);
    return;
  }
  try {
    const stat = await handle.stat();
    if (!stat.isFile() && !stat.isDirectory())
      throw new Error(`cannot set the mode of ${path}: it is no longer a file or directory`);
    await handle.chmod(mode);
  } finally {
    await handle.close();
  }
}

/**
 * A directory of ship's own that holds copies of an app's files (staging, backups, merge bases),
 * made or closed to its owner (700). A copy keeps its file's mode, but a 644 config inside an app
 * directory of 0750 (root:www-data) is secret by its directory: copied into a directory every local
 * user may enter, it was theirs to read. One an older ship left open is closed here too.
 */
export async function ownerOnlyDir(dir: string, options: { followLink?: boolean } = {}): Promise<void> {
  await makeDirs(dir, 0o700);
  // `followLink`: a symlink the operator put there on purpose (backup_dir/<source> linked to a
  // bigger disk, which every caller follows) closes the directory it names.
  await chmodEntry(options.followLink === true ? await realpath(dir) : dir, 0o700);
}

/**
 * Gives a copy its original's owner and group, as a rename would have kept them: a backup or a
 * restore across filesystems made `www-data:www-data` config files `root:root` (640: unreadable
 * for the app). A user that may not chown (ship not running as root) keeps its own: "lost", which
 * the caller names in a WARNING (it was dropped without a word).
 */
async function keepOwner(
  copy: string,
  original: { uid: number; gid: number },
): Promise<"kept" | "changed" | "lost"> {
  const made = lstatSync(copy);
  if (made.uid === original.uid && made.gid === original.gid) return "kept";
  try {
    await lchown(copy, original.uid, original.gid);
    return "changed";
  } catch (error) {
    if (code(error) === "EPERM") return "lost";
    throw error;
  }
}

/**
 * Renames a temporary `<name>.ship-tmp` over its target; when that fails (an immutable target, a
 * full disk) the temporary goes, so no `.ship-tmp` is left in the operator's app directory.
 */
async function renameOrDrop(tmp: string, dst: string): Promise<void> {
  try {
    await rename(tmp, dst);
  } catch (error) {
    await rm(tmp, { force: true }).catch(() => undefined);
    throw error;
  }
}

/** Runs a metadata call; when it fails because dst's directory is missing, creates it and calls once more. */
export function withParentSync(dst: string, call: () => void): void {
  try {
    call();
  } catch (error) {
    if (code(error) !== "ENOENT") throw error;
    makeDirsSync(dirname(dst));
    call();
  }
}

function sameInode(a: string, b: string): boolean {
  const x = lstatSync(a, { throwIfNoEntry: false });
  const y = lstatSync(b, { throwIfNoEntry: false });
  return x !== undefined && y !== undefined && x.ino === y.ino && x.dev === y.dev;
}

/** Hard-links `src` at `dst`, replacing what is there (atomically: a temporary link renamed over it). */
export function linkReplacingSync(src: string, dst: string): void {
  withParentSync(dst, () => {
    try {
      linkSync(src, dst);
    } catch (error) {
      if (code(error) !== "EEXIST") throw error;
      // Already a name of `src`: rename(2) of one link over another of the same inode does nothing,
      // and the temporary link was left beside `dst` (a rollback putting back the index's base).
      if (sameInode(src, dst)) return;
      const tmp = copyTempName(dst);
      rmSync(tmp, { force: true });
      linkSync(src, tmp);
      try {
        renameSync(tmp, dst);
      } catch (failure) {
        // Not left beside the target (renameOrDrop says why).
        rmSync(tmp, { force: true });
        throw failure;
      }
    }
  });
}

/** Moves `src` to `dst` (replacing it): a rename, or copy + unlink across filesystems. */
export async function moveEntry(src: string, dst: string): Promise<Transfer> {
  try {
    withParentSync(dst, () => renameSync(src, dst));
    return "renamed";
  } catch (error) {
    // Only another filesystem makes a rename copy. Its EPERM (an immutable entry, a sticky
    // directory) would refuse the copy's rename and unlink just the same, after a false
    // "different filesystems" warning: it is the error to report.
    if (code(error) !== "EXDEV") throw error;
  }
  await makeDirs(dirname(dst));
  const lost = await copyEntry(src, dst);
  await unlink(src);
  return copied(lost);
}

/** Makes `dst` a second name for `src` (hard link), or a copy where links cannot go. Replaces `dst`. */
export async function linkEntry(src: string, dst: string): Promise<Transfer> {
  try {
    linkReplacingSync(src, dst);
    return "linked";
  } catch (error) {
    if (!mustCopy(error)) throw error;
  }
  await makeDirs(dirname(dst));
  return copied(await copyEntry(src, dst));
}

/**
 * Whether `a` and `b` hold the same entry: one inode, files of the same mode, size and bytes, or
 * symlinks with the same target. Ownership is not compared: of two such copies, the caller keeps
 * the one already in place.
 */
export async function sameEntry(a: string, b: string): Promise<boolean> {
  const first = lstatOrUndefined(a);
  const second = lstatOrUndefined(b);
  if (first === undefined || second === undefined) return false;
  if (first.dev === second.dev && first.ino === second.ino) return true;
  if (first.isSymbolicLink() && second.isSymbolicLink()) return (await readlink(a)) === (await readlink(b));
  if (!first.isFile() || !second.isFile()) return false;
  if (first.size !== second.size || (first.mode & 0o7777) !== (second.mode & 0o7777)) return false;
  return (await hashFile(a)) === (await hashFile(b));
}

export async function removeIfExists(path: string): Promise<void> {
  try {
    unlinkSync(path);
  } catch (error) {
    if (code(error) !== "ENOENT") throw error;
  }
}

/**
 * Removes one of ship's record files, gone or not. ENOTDIR is gone too: its directory is something
 * else now (a pre_update hook replaced the app's state directory with a file), so no file can be
 * there, and a warning with a bare "not a directory, lstat …" beside the run's own error said nothing.
 */
export async function removeRecordFile(path: string): Promise<void> {
  try {
    await rm(path, { force: true });
  } catch (error) {
    if (code(error) !== "ENOTDIR") throw error;
  }
}

/** Removes an empty directory; a missing or non-empty one is left as it is. */
export async function removeDirIfEmpty(path: string): Promise<boolean> {
  try {
    rmdirSync(path);
    return true;
  } catch (error) {
    const c = code(error);
    if (c === "ENOENT" || c === "ENOTEMPTY" || c === "EEXIST" || c === "ENOTDIR") return false;
    throw error;
  }
}

/**
 * Writes a file so a crash leaves the old or the new content, never a mix. `durable` (default) also
 * fsyncs file and directory, so the write survives a power cut, not just a killed process. Ship's
 * records are not for other users (640, as the state file): the install index, 644, named every file
 * of an app directory of 0750 with its sha256, a merged config's too, which confirms a guessed
 * password offline (the rest of the file is the release's).
 */
export async function writeFileAtomic(
  path: string,
  data: string | Uint8Array,
  durable = true,
  mode = 0o640,
): Promise<void> {
  await makeDirs(dirname(path));
  const tmp = copyTempName(path);
  const handle = await open(tmp, "w", mode);
  try {
    try {
      await handle.writeFile(data);
      if (durable) await handle.sync();
    } finally {
      await handle.close();
    }
  } catch (error) {
    // A full disk: the half-written temporary file kept its blocks, and Node's error for a write
    // through a file handle names no file ("internal error: ENOSPC: …, write").
    await rm(tmp, { force: true }).catch(() => undefined);
    throw namingPath(error, path);
  }
  await renameOrDrop(tmp, path);
  if (durable) await syncDir(dirname(path));
}

export async function syncDir(dir: string): Promise<void> {
  const handle = await open(dir, "r");
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
