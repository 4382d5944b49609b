/**
 * Listing backup_dir and the app directories in it, the one place that reads them: a directory there
 * that cannot be listed (no permission, a file or a symlink loop where a directory should be) is one
 * error naming backup_dir and the directory, for every caller. Each caller used to meet it its own
 * way: some named backup_dir, others let Node's "EACCES: permission denied, scandir …" out, and one
 * took an unreadable directory for an empty one.
 */
import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { ExitCode, errorMessage, ShipError } from "../../shared/errors.js";
import { errnoCode } from "../../shared/fs-errors.js";

/** What each errno says of the directory it was met on. */
const WHAT: Record<string, string> = {
  EACCES: "permission denied (the user ship runs as may not read it)",
  EPERM: "operation not permitted",
  ENOTDIR: "not a directory (a file stands where a directory should be)",
  ELOOP: "a symlink loop",
  EIO: "input/output error",
};

/**
 * backup_dir, or a directory in it, cannot be listed. Exit 2, as bad input: the run refuses before
 * it changes anything, since "no backups" read from a directory it could not see would restore,
 * prune or label the wrong thing; what to fix is a path or a permission, named here.
 */
export class BackupDirUnlistableError extends ShipError {
  readonly exitCode = ExitCode.badInput;
  constructor(
    readonly backupRoot: string,
    /** The directory that could not be listed: backup_dir itself or one in it. */
    readonly dir: string,
    /**
     * The errno met (EACCES, ENOTDIR, ELOOP…). Not `code`: fsErrorText and errnoErrorText read a
     * `code` as a Node system error's and would say only "permission denied (EACCES)".
     */
    readonly errno: string | undefined,
    cause: unknown,
  ) {
    const what =
      errno === undefined ? errorMessage(cause) : `${errno}: ${WHAT[errno] ?? errorMessage(cause)}`;
    const where = dir === backupRoot ? "" : ` (at ${dir})`;
    super(`backup_dir ${backupRoot} cannot be listed: ${what}${where}`, { cause });
    this.name = "BackupDirUnlistableError";
    this.problem = `${what}${where}`;
  }

  /** What is wrong, and where when not backup_dir itself: "ENOTDIR: not a directory (at …/web)". */
  readonly problem: string;
}

/**
 * The directories in `backupRoot/...names` (an app's backups, backup_dir's apps); none when it does
 * not exist. Anything else that stops the listing throws BackupDirUnlistableError.
 */
export async function backupSubdirs(backupRoot: string, ...names: string[]): Promise<string[]> {
  const dir = join(backupRoot, ...names);
  try {
    const entries = await readdir(dir, { withFileTypes: true });
    return entries.filter((e) => e.isDirectory()).map((e) => e.name);
  } catch (error) {
    const code = errnoCode(error);
    if (code === "ENOENT") return [];
    throw new BackupDirUnlistableError(backupRoot, dir, code, error);
  }
}

/**
 * Each configured source's directory in backup_dir (`backup_dir/<source>`) can be listed, or is not
 * there yet. The listing of backup_dir skips what is not a directory (a stray file someone left
 * there is no app's backups), so a file or a symlink loop where a source's backups belong was
 * silently "no backups of it": `--list-backups` printed the other apps' table and then failed, and
 * `--rollback` went ahead, where the same directory unreadable (EACCES) refused. Asked first, before
 * anything is printed or moved, it refuses the same way for all three.
 */
export async function checkSourceBackupDirs(backupRoot: string, sources: Iterable<string>): Promise<void> {
  for (const name of sources) await backupSubdirs(backupRoot, name);
}
