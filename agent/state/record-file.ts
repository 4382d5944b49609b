/**
 * ship's own records (the install index, a backup's meta.json, inventory.json, installed.json, the
 * journal): damaged ones (a truncated write on a failing disk, a hand edit) are named with what the
 * file is and what to do, never a bare "Unterminated string in JSON at position 100" that names
 * nothing and made `--rollback` an "internal error" and `--recover` exit 3.
 */
import { closeSync, constants, fstatSync, lstatSync, openSync, readFileSync, statSync } from "node:fs";
import { userInfo } from "node:os";
import { dirname } from "node:path";
import type * as z from "zod";
import { BadInputError, ExitCode, ShipError } from "../../shared/errors.js";

/**
 * A damaged journal: an update or restore was interrupted and ship cannot tell how far it got, so
 * the app may be half-updated. Exit 3, like any restore ship cannot finish: it needs a person.
 */
export class DamagedJournalError extends ShipError {
  readonly exitCode = ExitCode.restoreFailed;
  constructor(message: string) {
    super(message);
    this.name = "DamagedJournalError";
  }
}

/**
 * The text of record `path`, parsed as JSON and checked by `schema`; `what` says what the file is
 * for and what to do. Bad input (exit 2) unless `needsPerson` (DamagedJournalError, exit 3).
 */
export function parseRecord<T extends z.ZodType>(
  text: string,
  path: string,
  schema: T,
  what: string,
  needsPerson = false,
): z.infer<T> {
  let json: unknown;
  let why: string;
  try {
    json = JSON.parse(text);
    const parsed = schema.safeParse(json);
    if (parsed.success) return parsed.data;
    const first = parsed.error.issues[0];
    const at = first === undefined || first.path.length === 0 ? "" : `${first.path.join(".")}: `;
    why = `${at}${first?.message ?? "not what ship wrote"}`;
  } catch (error) {
    why = `it is not valid JSON (${(error as Error).message})`;
  }
  if (needsPerson) throw new DamagedJournalError(`${path} is damaged, ${why}: ${what}`);
  throw damagedRecord(path, what, why);
}

/** Exit 2: `<path> is damaged, <why>: <what>`, one line. */
export function damagedRecord(path: string, what: string, why: string): BadInputError {
  return BadInputError.single(path, "", `is damaged, ${why}: ${what}`);
}

/**
 * One of ship's records it may not read: left by a run as root (a `sudo ship` before a service that
 * runs as its own user), it said a bare "EACCES: permission denied, open …" on every run, and the
 * daemon exited and was restarted again and again. Exit 2, naming the owner, ship's user and the fix.
 */
export function unreadableRecord(path: string): BadInputError {
  const me = userInfo();
  const stat = statSync(path, { throwIfNoEntry: false });
  const owner =
    stat === undefined
      ? ""
      : `owned by uid ${stat.uid} (gid ${stat.gid}), mode ${(stat.mode & 0o777).toString(8)}, `;
  const tree =
    stat === undefined || stat.uid === me.uid || me.uid === 0 ? undefined : shipUsersTree(path, me);
  const fix =
    tree === undefined
      ? `chown ${me.username} ${path} (a run as root, such as sudo ship, leaves it root's)`
      : `chown -R ${me.username}: ${tree} (a run as root, such as sudo ship, leaves ship's records there root's)`;
  return BadInputError.single(
    path,
    "",
    `cannot be read: it is ${owner}and ship runs as ${me.username} (uid ${me.uid}); ${fix}, or run ship as its owner`,
  );
}

/**
 * What to chown so that ship may read its records again: the directory tree ship's user owns that
 * holds `path` (/var/lib/ship, where install.sh makes it ship's below root's /var/lib). A run as
 * root leaves a dozen records root's — the state file, the install index, each file of the backup
 * it made — and naming the one file read first had the operator chown them one refused run at a
 * time (six for a `--rollback` of that backup), as `ship agent` already names the state directory.
 * Never the home directory or above it, nor for root, whose tree would be the system's; undefined
 * when no directory above is ship's user's.
 */
function shipUsersTree(path: string, me: { uid: number; homedir: string }): string | undefined {
  let tree: string | undefined;
  for (let dir = dirname(path); dir !== me.homedir && dirname(dir) !== dir; dir = dirname(dir)) {
    const stat = statSync(dir, { throwIfNoEntry: false });
    if (stat === undefined || (stat.uid !== me.uid && tree !== undefined)) break;
    if (stat.uid === me.uid) tree = dir;
  }
  return tree;
}

/**
 * A directory of ship's own records it may not write in (the state directory, its lock directory):
 * a `sudo ship` makes them root's, and the timer's `ship` as its own user then stopped at once with
 * exit 1 "cannot write lock file …: permission denied (EACCES)", which no later run fixes. Exit 2,
 * naming the directory and what is wrong with it: its owner and the chown when ownership is the
 * cause; made immutable (chattr +i: even root gets EPERM, and "chown -R root" was said to root), on
 * a read-only filesystem, or no directory any more (a file in its place) when that is the cause.
 */
export function unwritableRecord(path: string, what: string, error?: unknown): BadInputError {
  const me = userInfo();
  let dir = dirname(path);
  let stat = statSync(dir, { throwIfNoEntry: false });
  while (stat === undefined && dirname(dir) !== dir) {
    dir = dirname(dir);
    stat = statSync(dir, { throwIfNoEntry: false });
  }
  const notOwnership = dirProblem(dir, error, stat?.isDirectory() === false);
  if (notOwnership !== undefined)
    return BadInputError.single(path, "", `(${what}) cannot be written: ${notOwnership}`);
  const owner =
    stat === undefined
      ? ""
      : `${dir} is owned by uid ${stat.uid} (gid ${stat.gid}), mode ${(stat.mode & 0o777).toString(8)}, `;
  return BadInputError.single(
    path,
    "",
    `(${what}) cannot be written: ${owner}and ship runs as ${me.username} (uid ${me.uid}); chown -R ${me.username} ${dir} (a run as root, such as sudo ship, leaves it root's), or run ship as its owner`,
  );
}

/**
 * Refuses a directory of ship's records that is something else now (a file, a link to one): a
 * pre_update hook or a hand `rm -r` + `touch` left the app's state directory a file, and each
 * command then met it where it first read a record there, with a bare "cannot open …/journal.json:
 * a component of the path is not a directory (ENOTDIR)" or "cannot read running-command.json", exit
 * 1, and `--rollback` said the same of install-index.json. Exit 2, naming the directory, what it
 * is for and the way out. Absent is fine: ship makes it.
 */
export function checkRecordDir(dir: string, what: string): void {
  const problem = recordDirProblem(dir, what);
  if (problem !== undefined) throw problem;
}

/**
 * checkRecordDir's refusal, or undefined: for `--list-backups`, which names it as the reason every
 * backup of the app is NOT RESTORABLE (it listed them all as restorable, each refused by --rollback).
 */
export function recordDirProblem(dir: string, what: string): BadInputError | undefined {
  let stat: ReturnType<typeof statSync>;
  try {
    stat = statSync(dir, { throwIfNoEntry: false });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOTDIR") throw error;
    return BadInputError.single(
      dir,
      "",
      `(${what}) cannot be used: ${dirProblem(dirname(dir), error) ?? ""}`,
    );
  }
  if (stat !== undefined && !stat.isDirectory())
    return BadInputError.single(
      dir,
      "",
      `(${what}) is not a directory (something replaced it with a file?): move that aside and let ship make the directory again`,
    );
  return undefined;
}

/**
 * What is wrong with ship's directory `dir` when ownership is not it, or undefined: EPERM is what an
 * immutable directory answers (root included; EACCES is the one for modes and owners).
 */
export function dirProblem(dir: string, error: unknown, notADirectory = false): string | undefined {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  if (notADirectory || code === "ENOTDIR")
    return `${dir} is not a directory (something replaced it with a file?): move that aside and let ship make the directory again`;
  if (code === "EPERM")
    return `${dir} may not be changed, not even by its owner: it is probably immutable or append-only (lsattr -d ${dir} shows i or a); clear that with chattr -i -a ${dir}`;
  if (code === "EROFS")
    return `${dir} is on a read-only filesystem (under ship.service: list it in ReadWritePaths=)`;
  return undefined;
}

/** Whether a failed write was refused for want of permission (not a full or read-only disk). */
export function isPermissionDenied(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException).code;
  return code === "EACCES" || code === "EPERM";
}

/** Whether a failed write of ship's record is its directory's fault: permission, immutable, read-only, gone. */
export function isUnwritableDir(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException).code;
  return isPermissionDenied(error) || code === "EROFS" || code === "ENOTDIR";
}

/** A failure reading record `path`: EACCES as unreadableRecord (exit 2), any other as it came. */
export function recordReadError(error: unknown, path: string): unknown {
  return (error as NodeJS.ErrnoException).code === "EACCES" ? unreadableRecord(path) : error;
}

/** Why a record is damaged when something else than a file is in its place: the listing's words too (saved-records.ts). */
export const NOT_A_FILE = "it is not a file";

/** What an operator reads of a record of ship's that is no file, when its reader names nothing better. */
export const RECORD_WHAT = "one of ship's own records; move it aside (ship writes it again)";

/**
 * The text of ship's record `path`, by the one rule every record and state file is read by: what
 * opens must be a regular file. A FIFO in its place (a script's `mkfifo`) made the open wait for a
 * writer for ever, `--rollback` and `--list-backups` hanging past SIGTERM; a device would be read
 * without end. So it is opened without blocking and fstat-checked before a byte is read, and a
 * directory, FIFO, socket, device or symlink that leads nowhere is `<path> is damaged, <why>:
 * <what>`, exit 2 (a dangling link was "absent", and the listing left its backup out without a
 * word). Absent is ENOENT, as it came; one ship may not read is unreadableRecord (exit 2).
 */
export async function readRecordText(path: string, what = RECORD_WHAT): Promise<string> {
  return readRecordBytesSync(path, what).toString("utf8");
}

/**
 * Record `path` opened for reading by readRecordText's rule (a regular file, or damaged); the caller
 * closes the descriptor. Synchronous, as every record read is: records are small (the largest, a
 * 20,000-file install index, is ~4 MB), and each awaited open, fstat, read and close was a round
 * trip through libuv's thread pool, ~3x the system call's own CPU (a `ship --rollback` made ~50 of
 * them for the records it reads).
 */
export function openRecordSync(path: string, what = RECORD_WHAT): number {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (error) {
    throw openFailure(error, path, what);
  }
  let isFile: boolean;
  try {
    isFile = fstatSync(fd).isFile();
  } catch (error) {
    closeSync(fd);
    throw recordReadError(error, path);
  }
  if (isFile) return fd;
  closeSync(fd);
  throw damagedRecord(path, what, NOT_A_FILE);
}

/** readRecordText's rule for a record read synchronously (its bytes). */
export function readRecordBytesSync(path: string, what = RECORD_WHAT): Buffer {
  const fd = openRecordSync(path, what);
  try {
    return readFileSync(fd);
  } catch (error) {
    throw recordReadError(error, path);
  } finally {
    closeSync(fd);
  }
}

/**
 * A record the operator linked onto other storage (a state_file, a metadata_file, a lock_file) leads
 * nowhere until ship first writes it there: absent, for a reader whose record ship writes through
 * a link, not the damage a backup record's dangling link is (readRecordText's rule).
 */
export async function linkedWhereNothingIsYet(file: string): Promise<boolean> {
  try {
    if (lstatSync(file, { throwIfNoEntry: false })?.isSymbolicLink() !== true) return false;
    return statSync(file, { throwIfNoEntry: false }) === undefined;
  } catch {
    return false; // a loop of links, a directory on the way that is no directory: not "nothing yet"
  }
}

/** A failed open of a record: a link that leads nowhere is damage, not absence (ENOENT). */
function openFailure(error: unknown, path: string, what: string): unknown {
  const dangling =
    (error as NodeJS.ErrnoException).code === "ENOENT" &&
    lstatSync(path, { throwIfNoEntry: false })?.isSymbolicLink() === true;
  return dangling
    ? damagedRecord(path, what, "it is a symlink that leads nowhere")
    : recordReadError(error, path);
}
