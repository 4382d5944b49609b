/**
 * Listing backup_dir and the app directories in it, the one place that reads them: a directory there
 * that cannot be listed (no permission, a file or a symlink loop where a directory should be) is one
 * error naming backup_dir and the directory, for every caller. Each caller used to meet it its own
 * way: some named backup_dir, others let Node's "EACCES: permission denied, scandir …" out, and one
 * took an unreadable directory for an empty one.
 */
import { type Dirent, readdirSync } from "node:fs";
import { realpath, stat } from "node:fs/promises";
import { join } from "node:path";
import { ExitCode, errorMessage, ShipError } from "../../shared/errors.js";
import { errnoCode } from "../../shared/fs-errors.js";
import { lstatOrUndefined } from "../tree/fs-ops.js";

/** What each errno says of the directory it was met on. */
const WHAT: Record<string, string> = {
  EACCES: "permission denied (the user ship runs as may not read it)",
  EPERM: "operation not permitted",
  ENOTDIR: "not a directory (a file stands where a directory should be)",
  ELOOP: "a symlink loop",
  // Met only on a name that is there (a dangling symlink): a name not there is "no backups yet".
  ENOENT: "a symlink that leads nowhere (what it names is not there: a disk not mounted?)",
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
 * The directories in a directory of backup_dir (`backupRoot/name/...names`: one source name's
 * backups, a trash); none when it does not exist. Anything else that stops the listing throws
 * BackupDirUnlistableError: a dangling symlink too (its disk not mounted), which readdir answers as
 * ENOENT, "no backups", while an update could not make its backup through it. A symlink in it is
 * refused whatever it leads to (backupIdEntry says why). backup_dir itself: backupSourceDirs.
 * Listed synchronously, as rootEntries lists backup_dir: one call each, where an awaited one was a
 * round trip through libuv's thread pool on every `--rollback` and `--list-backups`.
 */
export async function backupSubdirs(backupRoot: string, name: string, ...names: string[]): Promise<string[]> {
  const dir = join(backupRoot, name, ...names);
  let entries: Dirent[];
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch (error) {
    const code = errnoCode(error);
    if (code === "ENOENT" && !danglingLink(dir)) return [];
    throw new BackupDirUnlistableError(backupRoot, dir, code, error);
  }
  return entries.filter((entry) => backupIdEntry(backupRoot, dir, entry)).map((entry) => entry.name);
}

/** Whether `path` is a symlink that leads nowhere (the name is there, what it names is not). */
function danglingLink(path: string): boolean {
  return lstatOrUndefined(path)?.isSymbolicLink() === true;
}

const SYMLINK_IN_APP =
  "a symlink where a backup directory should be (ship consumes and prunes a backup by moving it, which would move only the link; put the backup directory itself there)";

/**
 * Whether an entry of an app's backup directory is a directory to list (a backup, `.trash`, a set-
 * aside copy); files there (`.restored.json`, set-aside records) are not. A symlink there is
 * refused: ship consumes and prunes a backup by moving it, which would move the link and leave
 * what it leads to behind for good, and skipping it would hide a backup the operator counts on.
 */
function backupIdEntry(backupRoot: string, dir: string, entry: Dirent): boolean {
  if (entry.isSymbolicLink())
    throw new BackupDirUnlistableError(
      backupRoot,
      join(dir, entry.name),
      undefined,
      new Error(SYMLINK_IN_APP),
    );
  return entry.isDirectory();
}

/**
 * The source directories in backup_dir (`backup_dir/<source>`, each holding one source name's
 * backups): the one rule every listing of backup_dir follows. A directory is listed, and so is a
 * symlink that leads to one (an app's backups moved to another disk, a link left in their place):
 * as `ls backup_dir/app/` shows them, ship lists, restores and prunes through it. Anything else at a
 * `configured` source's name (a file, a symlink loop, a dangling symlink, a link to a file) refuses,
 * naming it: that source's backups cannot be seen, and "none" would restore, prune or label the
 * wrong thing, or fail an update half-way when it makes its backup there. At a name no configured
 * source has, such an entry holds no backups and is skipped (a note someone left, a stale link).
 * Of several refused, the one named first in `configured`.
 */
export async function backupSourceDirs(backupRoot: string, configured: Iterable<string>): Promise<string[]> {
  const names = new Set(configured);
  const { listed, refused } = await judgeSourceDirs(backupRoot, names);
  // The first in `configured`'s order, not readdir's: `--list-backups --sources web` names web's.
  for (const name of names) {
    const error = refused.get(name);
    if (error !== undefined) throw error;
  }
  return listed;
}

/** backupSourceDirs's rule: the names listed, and the refusal for each configured name refused. */
async function judgeSourceDirs(
  backupRoot: string,
  names: ReadonlySet<string>,
): Promise<{ listed: string[]; refused: Map<string, BackupDirUnlistableError> }> {
  const out: string[] = [];
  /** Symlinks to directories, with the directory each leads to (device:inode). */
  const linked: { name: string; dir: string }[] = [];
  const refused = new Map<string, BackupDirUnlistableError>();
  for (const entry of await rootEntries(backupRoot)) {
    if (entry.isDirectory()) {
      out.push(entry.name);
      continue;
    }
    const path = join(backupRoot, entry.name);
    // Where a symlink leads (stat follows it): a directory, or why not (ENOENT: it leads nowhere).
    const led = entry.isSymbolicLink()
      ? await stat(path).then(
          (s) => (s.isDirectory() ? { dir: `${s.dev}:${s.ino}` } : { code: "ENOTDIR", cause: undefined }),
          (error: unknown) => ({ code: errnoCode(error), cause: error }),
        )
      : { code: "ENOTDIR", cause: undefined };
    if ("dir" in led) linked.push({ name: entry.name, dir: led.dir });
    else if (names.has(entry.name))
      refused.set(entry.name, new BackupDirUnlistableError(backupRoot, path, led.code, led.cause));
  }
  const misplaced = await misplacedLinks(backupRoot, out, linked);
  for (const [name, error] of misplaced) if (names.has(name)) refused.set(name, error);
  const placed = linked.filter((l) => !misplaced.has(l.name));
  return { listed: [...out, ...(await distinctLinks(backupRoot, out, placed, names))], refused };
}

/** `child` is `parent` or inside it (both real, absolute paths). */
function within(child: string, parent: string): boolean {
  return child === parent || child.startsWith(parent === "/" ? "/" : `${parent}/`);
}

/**
 * The links to directories whose directory cannot be a source's place, each with its refusal: one
 * that is backup_dir or holds it (its listing would take the other places for backups), one inside
 * another place (`api -> web/web-2026…Z`: web's keep_backups pruned that backup with api's backups in
 * it, and the link then led nowhere) and one holding another place (its pruning would remove that
 * place's backups). Compared where the links lead (realpath: a chain of links, relative targets);
 * one directory under several names is not misplaced (distinctLinks lists it once). Refused at a
 * configured source's name, skipped at another (as a dangling link there is). Costs a realpath of
 * each directory only when backup_dir holds a link to one.
 */
async function misplacedLinks(
  backupRoot: string,
  dirs: readonly string[],
  linked: readonly { name: string }[],
): Promise<Map<string, BackupDirUnlistableError>> {
  const misplaced = new Map<string, BackupDirUnlistableError>();
  if (linked.length === 0) return misplaced;
  const root = await realpath(backupRoot);
  const refuse = (name: string, why: string) => {
    const path = join(backupRoot, name);
    misplaced.set(
      name,
      new BackupDirUnlistableError(
        backupRoot,
        path,
        undefined,
        new Error(
          `${why}: ship prunes a place's backups with all that is in them; make ${path} a directory of its own`,
        ),
      ),
    );
  };
  const places: { name: string; real: string }[] = dirs.map((name) => ({ name, real: join(root, name) }));
  const links: { name: string; real: string }[] = [];
  for (const { name } of linked) {
    // Stat followed it to a directory a moment ago; gone since, it is refused as it would be then.
    const real = await realpath(join(backupRoot, name)).catch((error: unknown) => error);
    if (typeof real !== "string") {
      misplaced.set(
        name,
        new BackupDirUnlistableError(backupRoot, join(backupRoot, name), errnoCode(real), real),
      );
      continue;
    }
    if (within(root, real))
      refuse(
        name,
        real === root ? "a symlink to backup_dir itself" : `a symlink to ${real}, which holds backup_dir`,
      );
    else links.push({ name, real });
  }
  const shown = (p: { name: string; real: string }) => {
    const path = join(backupRoot, p.name);
    return p.real === join(root, p.name) ? path : `${path} (→ ${p.real})`;
  };
  // A link holding another place first: the one inside it (`web -> /mnt/big/web` under
  // `api -> /mnt/big`) is then no intruder, and is not refused for it.
  const others = (link: { name: string; real: string }, among: readonly { name: string; real: string }[]) =>
    among.filter((o) => o.name !== link.name && o.real !== link.real);
  for (const link of links) {
    const held = others(link, [...places, ...links]).find((o) => within(o.real, link.real));
    if (held !== undefined)
      refuse(link.name, `a symlink to ${link.real}, which holds ${shown(held)}, another source's place`);
  }
  const kept = links.filter((l) => !misplaced.has(l.name));
  for (const link of kept) {
    const around = others(link, [...places, ...kept]).find((o) => within(link.real, o.real));
    if (around !== undefined)
      refuse(link.name, `a symlink to ${link.real}, inside ${shown(around)}, another source's place`);
  }
  return misplaced;
}

/**
 * The linked directories not listed already under another name: a link from a source's new name to
 * its old name's directory (`web -> myapp`), or two links to one directory, listed each backup twice,
 * and a rollback chain then restored one backup twice. A directory is listed under its own name, or
 * else under a configured source's link, or else the first link (by name). Costs a stat of each
 * directory only when backup_dir holds a link to one.
 */
async function distinctLinks(
  backupRoot: string,
  dirs: readonly string[],
  linked: readonly { name: string; dir: string }[],
  names: ReadonlySet<string>,
): Promise<string[]> {
  if (linked.length === 0) return [];
  const seen = new Set<string>();
  for (const name of dirs) {
    const s = await stat(join(backupRoot, name)).catch(() => undefined);
    if (s !== undefined) seen.add(`${s.dev}:${s.ino}`);
  }
  const order = [...linked].sort((a, b) =>
    names.has(a.name) !== names.has(b.name) ? (names.has(a.name) ? -1 : 1) : a.name < b.name ? -1 : 1,
  );
  const out: string[] = [];
  for (const { name, dir } of order) {
    if (seen.has(dir)) continue;
    seen.add(dir);
    out.push(name);
  }
  return out;
}

/** backup_dir's entries; none when it is not there yet (a dangling symlink to it refuses). */
async function rootEntries(backupRoot: string): Promise<Dirent[]> {
  try {
    return readdirSync(backupRoot, { withFileTypes: true });
  } catch (error) {
    const code = errnoCode(error);
    if (code === "ENOENT" && !danglingLink(backupRoot)) return [];
    throw new BackupDirUnlistableError(backupRoot, backupRoot, code, error);
  }
}

/**
 * Each configured source's directory in backup_dir (`backup_dir/<source>`) can be listed, or is not
 * there yet: backupSourceDirs's rule, and each one's own listing (unreadable, a symlink in it).
 * Asked first, before anything is printed or moved (`--list-backups`, `--rollback`, an update), so
 * that each refuses the same way before changing anything.
 */
export async function checkSourceBackupDirs(backupRoot: string, sources: Iterable<string>): Promise<void> {
  const names = new Set(sources);
  const { refused } = await judgeSourceDirs(backupRoot, names);
  // In `sources`' order, whichever way each fails: the one line names the first one asked about.
  // Each one's own listing also when it is a link listed under another name (distinctLinks).
  for (const name of names) {
    const error = refused.get(name);
    if (error !== undefined) throw error;
    await backupSubdirs(backupRoot, name);
  }
}
