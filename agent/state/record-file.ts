/**
 * ship's own records (the install index, a backup's meta.json, inventory.json, installed.json, the
 * journal): damaged ones (a truncated write on a failing disk, a hand edit) are named with what the
 * file is and what to do, never a bare "Unterminated string in JSON at position 100" that names
 * nothing and made `--rollback` an "internal error" and `--recover` exit 3.
 */
import { statSync } from "node:fs";
import { readFile } from "node:fs/promises";
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
  return BadInputError.single(
    path,
    "",
    `cannot be read: it is ${owner}and ship runs as ${me.username} (uid ${me.uid}); chown ${me.username} ${path} (a run as root, such as sudo ship, leaves it root's), or run ship as its owner`,
  );
}

/**
 * A directory of ship's own records it may not write in (the state directory, its lock directory):
 * a `sudo ship` makes them root's, and the timer's `ship` as its own user then stopped at once with
 * exit 1 "cannot write lock file …: permission denied (EACCES)", which no later run fixes. Exit 2,
 * naming the directory's owner, ship's user and the chown, as for a record it may not read.
 */
export function unwritableRecord(path: string, what: string): BadInputError {
  const me = userInfo();
  let dir = dirname(path);
  let stat = statSync(dir, { throwIfNoEntry: false });
  while (stat === undefined && dirname(dir) !== dir) {
    dir = dirname(dir);
    stat = statSync(dir, { throwIfNoEntry: false });
  }
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

/** Whether a failed write was refused for want of permission (not a full or read-only disk). */
export function isPermissionDenied(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException).code;
  return code === "EACCES" || code === "EPERM";
}

/** A failure reading record `path`: EACCES as unreadableRecord (exit 2), any other as it came. */
export function recordReadError(error: unknown, path: string): unknown {
  return (error as NodeJS.ErrnoException).code === "EACCES" ? unreadableRecord(path) : error;
}

/** A record's text: one ship may not read is unreadableRecord (exit 2); any other failure as it came. */
export async function readRecordText(path: string): Promise<string> {
  try {
    return await readFile(path, "utf8");
  } catch (error) {
    throw recordReadError(error, path);
  }
}
