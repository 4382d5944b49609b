/**
 * A directory the running user cannot use (the agent's app_dir, backup_dir; the hub's data dir and
 * the directory of its --db): an existing one it may not read, write and enter, a missing
 * one whose nearest existing parent it may not create it in, or one on a read-only filesystem (under
 * ship.service: not listed in ReadWritePaths=). Bad input naming the key (exit 2), judged before
 * the lock and before any hook: the update used to run its pre_update hooks (say `systemctl stop
 * myapp`) and only then fail at the apply with "cannot rename … permission denied", or fail its
 * first command with "spawn /bin/sh EACCES" (the command's working directory).
 */
import { constants, Stats } from "node:fs";
import { access, mkdir, rmdir, stat, statfs } from "node:fs/promises";
import { userInfo } from "node:os";
import { dirname, resolve } from "node:path";
import { creationErrorText, fileCreationError } from "./creatable-file.js";
import { errnoCode, fsErrorText } from "./fs-errors.js";

const USE = constants.R_OK | constants.W_OK | constants.X_OK;
const CREATE_IN = constants.W_OK | constants.X_OK;

/**
 * Why ship cannot use `appDir`, or undefined. Wrong kinds and dangling links are kindProblems'.
 * `unit`: the systemd unit the process runs under, named for a read-only filesystem.
 */
export async function appDirAccessProblem(
  appDir: string,
  unit = "ship.service",
): Promise<string | undefined> {
  const dir = resolve(appDir);
  const found = await stat(dir).catch((error: unknown) => error);
  if (found instanceof Stats) {
    if (!found.isDirectory()) return undefined;
    const denied = await access(dir, USE).catch((error: unknown) => error);
    if (denied === undefined) return undefined;
    const user = whoRuns();
    if (errnoCode(denied) === "EPERM")
      // An immutable directory refuses even root: "chown -R root" was no way out.
      return `${dir} may not be changed: ${fsErrorText(denied)} — it is probably immutable (lsattr -d shows i); clear that with chattr -i ${dir}`;
    return errnoCode(denied) === "EROFS"
      ? `${dir} is on a read-only filesystem (under ${unit}: list it in ReadWritePaths=)`
      : `${dir}: ${user} may not read, write and enter it (${owned(found)}): chown -R ${user} ${dir}, as the install steps do (${fsErrorText(denied)})`;
  }
  const code = errnoCode(found);
  if (code === "EACCES" || code === "EPERM") {
    const user = whoRuns();
    const blocker = await unsearchable(dir);
    return blocker === undefined
      ? `${dir}: ${user} may not reach it (${fsErrorText(found)})`
      : `${dir}: ${user} may not reach it: it may not enter ${blocker.path} (${owned(blocker.stats)})`;
  }
  if (code !== "ENOENT") return undefined;
  const parent = await nearestExisting(dir);
  if (parent === undefined) return undefined;
  const denied = await access(parent.path, CREATE_IN).catch((error: unknown) => error);
  if (denied === undefined) return await creationRefused(dir, parent.path);
  const user = whoRuns();
  return errnoCode(denied) === "EROFS"
    ? `${dir} does not exist, and ${parent.path} is on a read-only filesystem (under ${unit}: list it in ReadWritePaths=)`
    : `${dir} does not exist, and ${user} may not create it in ${parent.path} (${owned(parent.stats)}): create it as root and chown it to ${user} (${fsErrorText(denied)})`;
}

/**
 * Why a file ship would create at `path` cannot be made, or undefined: an existing file is ship's
 * to write (other checks judge its kind and owner); a missing one needs its directory usable
 * (appDirAccessProblem) and a filesystem that takes the new file. `state_file = "/proc/state.json"`
 * passed every check by mode (root may write anywhere by mode) and failed the run's first write
 * with a bare ENOENT, exit 1.
 */
export async function fileAccessProblem(path: string, unit = "ship.service"): Promise<string | undefined> {
  const file = resolve(path);
  const found = await stat(file).catch((error: unknown) => error);
  if (found instanceof Stats || errnoCode(found) !== "ENOENT") return undefined;
  const dir = dirname(file);
  const dirFound = await stat(dir).catch(() => undefined);
  if (dirFound === undefined || !dirFound.isDirectory()) return appDirAccessProblem(dir, unit);
  const denied = await appDirAccessProblem(dir, unit);
  if (denied !== undefined || (await ordinaryFilesystem(dir))) return denied;
  const refused = await fileCreationError(file);
  return refused === undefined ? undefined : `${file} cannot be created: ${creationErrorText(refused)}`;
}

/**
 * Whether the filesystem under `parent` takes `dir`, tried (on a filesystem not known to store
 * entries) by making the first missing directory on the way and removing it again: the run would make that very directory, and the checks by mode
 * pass for root everywhere, yet /proc answers mkdir with ENOENT under a directory that is there and
 * /sys with EACCES. `work_dir = "/proc/x"` (or an app_dir, backup_dir, state_file there) was an
 * update that failed with a bare "ENOENT … mkdir '/proc/x'", exit 1, after ship's state was written.
 */
async function creationRefused(dir: string, parent: string): Promise<string | undefined> {
  if (await ordinaryFilesystem(parent)) return undefined;
  const first = firstMissing(dir, parent);
  const made = await mkdir(first, { mode: 0o700 }).catch((error: unknown) => error);
  if (made === undefined) {
    // Another ship run that made it meanwhile and put something in it keeps it (rmdir refuses).
    await rmdir(first).catch(() => undefined);
    return undefined;
  }
  if (errnoCode(made) === "EEXIST") return undefined;
  return `${dir} cannot be created: ${creationErrorText(made)}`;
}

/**
 * statfs types of filesystems that store what is made in them (ext2-4, xfs, btrfs, tmpfs, overlay,
 * zfs, nfs, f2fs, ramfs, fuse, cifs/smb2, ceph, vfat, exfat): there the checks by mode and
 * read-only flag are the answer, and no probe changes the parent's mtime (a refused start must
 * leave ship's directories exactly as they were). Kernel filesystems (/proc, /sys, …) are probed.
 */
const ORDINARY_FILESYSTEMS = new Set([
  0xef53, 0x58465342, 0x9123683e, 0x01021994, 0x794c7630, 0x2fc12fc1, 0x6969, 0xf2f52010, 0x858458f6,
  0x65735546, 0xff534d42, 0xfe534d42, 0x00c36400, 0x4d44, 0x2011bab0,
]);

async function ordinaryFilesystem(dir: string): Promise<boolean> {
  const found = await statfs(dir).catch(() => undefined);
  return found !== undefined && ORDINARY_FILESYSTEMS.has(Number(found.type));
}

/** The directory on the way from `parent` (an ancestor) to `dir` that is made first. */
function firstMissing(dir: string, parent: string): string {
  let at = dir;
  while (dirname(at) !== parent && dirname(at) !== at) at = dirname(at);
  return at;
}

function owned(stats: Stats): string {
  return `owner uid ${stats.uid}, mode ${(stats.mode & 0o7777).toString(8)}`;
}

/** The user ship runs as, for messages: its name, else "uid N". */
export function whoRuns(): string {
  const uid = process.getuid?.();
  // userInfo() throws for a uid without a passwd entry (a container's arbitrary uid).
  try {
    return userInfo().username;
  } catch {
    return uid === undefined ? "ship's user" : `uid ${uid}`;
  }
}

/** The outermost directory on `path`'s way that the running user may not enter. */
async function unsearchable(path: string): Promise<{ path: string; stats: Stats } | undefined> {
  const ancestors: string[] = [];
  for (let at = dirname(path); at !== dirname(at); at = dirname(at)) ancestors.unshift(at);
  for (const at of ancestors) {
    const stats = await stat(at).catch(() => undefined);
    if (stats === undefined) return undefined;
    if ((await access(at, constants.X_OK).catch((error: unknown) => error)) !== undefined)
      return { path: at, stats };
  }
  return undefined;
}

async function nearestExisting(path: string): Promise<{ path: string; stats: Stats } | undefined> {
  for (let at = dirname(path); ; at = dirname(at)) {
    const stats = await stat(at).catch(() => undefined);
    if (stats?.isDirectory()) return { path: at, stats };
    if (stats !== undefined || at === dirname(at)) return undefined;
  }
}
