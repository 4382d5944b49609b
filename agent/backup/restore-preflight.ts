/**
 * Before a restore changes anything, every directory it will write in must be writable by this
 * process. A restore is roll-forward only (recovery finishes its journal, never undoes it), so one
 * that stopped half-way on a directory it may not write would leave old and new files side by side
 * until a person fixed the directory and ran `ship --recover`. Asked up front, the usual causes — a
 * directory someone made as root while ship runs as a service user, a read-only mount, `chattr +i` —
 * refuse the restore with nothing changed. access(2) answers for this process's credentials, and
 * also reports EROFS for a read-only mount and EPERM/EACCES for an immutable directory.
 */
import { accessSync, constants, lstatSync, realpathSync } from "node:fs";
import { stat, statfs } from "node:fs/promises";
import { dirname, join } from "node:path";
import { errnoCode, fsErrorText } from "../../shared/fs-errors.js";
import { ConfinedPaths } from "../apply/confined-paths.js";
import type { IndexFiles } from "../apply/index-files.js";
import { statMatches } from "../apply/stat-match.js";
import { damagedRecord } from "../state/record-file.js";
import { lstatOrUndefined } from "../tree/fs-ops.js";
import { loopSlices } from "../tree/loop-slices.js";
import {
  isFileMode,
  type LiteStatNs,
  lstatLiteNsOrUndefined,
  lstatLiteOrUndefined,
} from "../tree/lstat-lite.js";
import { type BackupInventory, backupFilesDir } from "./backup-store.js";
import { MISSING_COPY, resizedCopies, savedRecords } from "./saved-sizes.js";

export interface UnwritableDir {
  dir: string;
  error: unknown;
}

/**
 * The first file the restore must read to tell whether it is still the one ship installed that this
 * process may not read, or undefined. It reads a file whose stat the install index no longer
 * vouches for (installedState hashes it), and a `.bak` no index lists (compared with the saved
 * original). A file the app made unreadable since (`chmod 000`, with ship as a service user) stopped
 * the restore half-way on that read, exit 3, with the files before it already moved.
 */
export async function firstUnreadableToJudge(input: {
  appDir: string;
  rels: readonly string[];
  installed: IndexFiles | undefined;
}): Promise<{ path: string; error: unknown } | undefined> {
  const paths = new ConfinedPaths(input.appDir);
  const slice = loopSlices();
  for (const rel of input.rels) {
    const pause = slice();
    if (pause !== undefined) await pause;
    const path = join(input.appDir, rel);
    const stat = lstatLiteOrUndefined(path);
    if (stat === undefined || !isFileMode(stat.mode)) continue;
    const indexed = input.installed?.get(rel);
    const read = indexed === undefined ? rel.endsWith(".bak") : !statMatches(stat, indexed);
    if (!read || !(await paths.reachable(rel))) continue;
    try {
      accessSync(path, constants.R_OK);
    } catch (error) {
      return { path, error };
    }
  }
  return undefined;
}

/**
 * The first saved copy (`rels` under `savedDir`, a newer backup's files) that a newer restore of a
 * chain puts back and an older one must then read to judge, which this process may not read, or
 * undefined. The restore's rename changes the file's ctime, so the older restore reads it: a copy
 * saved while the app had it at mode 000 stopped the rollback half-way.
 */
export function firstUnreadableSaved(
  savedDir: string,
  rels: readonly string[],
): { path: string; error: unknown } | undefined {
  for (const rel of rels) {
    const path = join(savedDir, rel);
    const stat = lstatLiteOrUndefined(path);
    if (stat === undefined || !isFileMode(stat.mode)) continue;
    try {
      accessSync(path, constants.R_OK);
    } catch (error) {
      return { path, error };
    }
  }
  return undefined;
}

/**
 * Why a saved copy a restore must copy back cannot be read, or undefined. A backup on another
 * filesystem than the app is copied back, not renamed, so every saved copy is read: one ship's user
 * may not read (an app file at mode 000 the update moved aside unread, a directory of `files/`
 * closed since) stopped the restore half-way ("RESTORE STOPPED HALF-WAY", exit 3, the app mixed).
 * `changed` are the backup's saved paths; a symlink is copied as a link, never read through.
 */
export async function unreadableCopyBack(
  appDir: string,
  backupPath: string,
  changed: readonly string[],
): Promise<string | undefined> {
  if (changed.length === 0) return undefined;
  const app = await stat(appDir).catch(() => undefined);
  const backup = await stat(backupPath).catch(() => undefined);
  if (app === undefined || backup === undefined || app.dev === backup.dev) return undefined;
  const files = backupFilesDir(backupPath);
  for (const rel of changed) {
    const path = join(files, rel);
    try {
      if (lstatSync(path).isFile()) accessSync(path, constants.R_OK);
    } catch (error) {
      // A copy that is not there was judged by checkSavedEntries (a killed restore moved it back).
      if (errnoCode(error) === "ENOENT") continue;
      return `${path} cannot be read: ${fsErrorText(error)}: chmod u+r it (and u+x its directories): the restore copies it back into ${appDir}, which is on another filesystem than the backup`;
    }
  }
  return undefined;
}

/**
 * `rel`'s parent in `root`, or its nearest ancestor that exists (the restore creates the rest). One
 * answer per parent directory: a backup's files share few directories (200 files of a 1 % rollback,
 * 100 directories), and each answer costs an lstat.
 */
function nearestExistingParents(root: string): (rel: string) => string {
  const known = new Map<string, string>();
  return (rel) => {
    const parentRel = dirname(rel);
    let found = known.get(parentRel);
    if (found === undefined) {
      found = dirname(join(root, rel));
      while (found.length > root.length && lstatOrUndefined(found) === undefined) found = dirname(found);
      known.set(parentRel, found);
    }
    return found;
  };
}

/**
 * The first directory the restore of this backup would write in that this process may not, or
 * undefined. Paths the restore leaves alone (behind a symlinked directory: outside the app) are not
 * asked about. The backup's parent is asked about for the rename of the consumed backup into the
 * app's `.trash/` (trash.ts).
 */
export async function firstUnwritableDir(input: {
  appDir: string;
  stateDir: string;
  backupPath: string;
  inventory: Omit<BackupInventory, "modeChangedDirs" | "dirTimes">;
}): Promise<UnwritableDir | undefined> {
  const { appDir, backupPath, inventory } = input;
  const files = backupFilesDir(backupPath);
  const paths = new ConfinedPaths(appDir);
  // The journal and index; the backup (undone/ and meta.json); its parent (the rename into .trash/).
  const dirs = new Set([input.stateDir, backupPath, dirname(backupPath)]);
  const appRels = [
    ...inventory.added,
    ...inventory.changed,
    ...inventory.createdDirs,
    ...inventory.removedDirs.map((d) => d.rel),
  ];
  const inApp = nearestExistingParents(appDir);
  const slice = loopSlices();
  for (const rel of appRels) {
    const pause = slice();
    if (pause !== undefined) await pause;
    if (await paths.reachable(rel)) dirs.add(inApp(rel));
  }
  const inFiles = nearestExistingParents(files);
  for (const rel of inventory.changed) {
    const pause = slice();
    if (pause !== undefined) await pause;
    dirs.add(inFiles(rel));
  }
  for (const dir of dirs) {
    const pause = slice();
    if (pause !== undefined) await pause;
    try {
      accessSync(dir, constants.W_OK | constants.X_OK);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") continue;
      return { dir, error };
    }
  }
  return undefined;
}

/**
 * The state file is written once a rollback's files are back (the version now installed): a state
 * directory ship may not write (`chattr +i`, made by root) let `ship --rollback` restore every file
 * and then fail with exit 1, "cannot write …/state.json", and no word that the app had moved. Asked
 * up front, like the restore's own directories. A state file that is a link is written where it leads.
 */
export function unwritableStateFile(stateFile: string): UnwritableDir | undefined {
  let file = stateFile;
  try {
    file = realpathSync(stateFile);
  } catch {
    // Not there yet: its directory is asked.
  }
  for (const [path, mode] of [
    [file, constants.W_OK],
    [dirname(file), constants.W_OK | constants.X_OK],
  ] as const) {
    try {
      accessSync(path, mode);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === "ENOENT") continue;
      // The file is replaced by a rename in its directory, which its own mode does not stop (a
      // root-owned 644 state.json is rewritten by every run): only an immutable one (EPERM) does.
      // Refused on EACCES, `--rollback` said "not writable" where a run wrote it without a word.
      if (path === file && code === "EACCES") continue;
      return { dir: path, error };
    }
  }
  return undefined;
}

/**
 * Every entry the backup says it saved must be there: a saved copy deleted by hand (or by a removal
 * of the backup that was cut short) was skipped without a word, so `ship --rollback` said "back on
 * 1.0.0", exit 0, with the undone version's file left among 1.0.0's and the install index claiming
 * 1.0.0's. Exit 2 naming the backup and the entry, before anything moves. One lstat per entry.
 *
 * One exception, `cleanup.remove_*` (pipeline/cleanup-backup.ts): it lists what it sets aside
 * before moving it, so an entry that would not move (an immutable file, which failed the update)
 * or that a kill stopped before its move is listed, absent from the backup and still in the app as
 * it was. `undone` (what the install index being undone lists) tells the two apart: an entry it
 * does not list that the app still holds was never taken out, and there is nothing to put back.
 */
export async function checkSavedEntries(
  backupPath: string,
  inventory: Pick<BackupInventory, "changed">,
  undone?: { appDir: string; installed: () => Promise<IndexFiles> },
): Promise<void> {
  const files = backupFilesDir(backupPath);
  // Read only when an entry is missing: a rollback parses the install index only where it must.
  let installed: IndexFiles | undefined;
  // Each copy's lstat, taken once for both checks: the size check below took a second one of every
  // saved copy (200 more lstat calls in a 1 % rollback of a 20,000-file app).
  const stats = new Map<string, LiteStatNs>();
  const slice = loopSlices();
  for (const rel of inventory.changed) {
    const pause = slice();
    if (pause !== undefined) await pause;
    const stat = lstatLiteNsOrUndefined(join(files, rel));
    if (stat !== undefined) {
      stats.set(rel, stat);
      continue;
    }
    if (undone !== undefined && lstatOrUndefined(join(undone.appDir, rel)) !== undefined) {
      installed ??= await undone.installed();
      if (!installed.has(rel)) continue;
    }
    throw missingCopy(backupPath, rel);
  }
  await checkSavedCopies(backupPath, stats, false, inventory.changed);
}

/**
 * A saved copy reached through a symlink (files/ itself, or a directory in it, made a link since)
 * is not in the backup: the restore renamed the file it led to into the app, taking an operator's
 * file from outside both (`files/lib -> /srv/shared/lib`: /srv/shared/lib/a.txt was gone, and
 * `--rollback` said "back on 2.0.0"), and `--list-backups` listed the backup as restorable. Exit 2
 * naming it, before anything moves. One lstat per directory on the way.
 */
async function checkNoLinkOnTheWay(backupPath: string, rels: readonly string[]): Promise<void> {
  const files = backupFilesDir(backupPath);
  const root = lstatOrUndefined(files);
  const confined = new ConfinedPaths(files);
  for (const rel of root?.isSymbolicLink() === true ? [] : new Set(rels)) {
    const blocker = await confined.blocker(rel);
    if (blocker === undefined) continue;
    // A file in a directory's place leads nowhere: the copy is simply not there, in the words the
    // rollback's own check of each copy says it (it called it "lies behind …, not a directory now
    // (the restore would take the file from wherever it leads)" in the listing only).
    if (!blocker.symlink) throw missingCopy(backupPath, rel);
    throw behindLink(backupPath, rel, join(files, blocker.dir));
  }
  if (root?.isSymbolicLink() === true && rels.length > 0)
    throw behindLink(backupPath, rels[0] as string, files);
}

function behindLink(backupPath: string, rel: string, dir: string) {
  return damagedRecord(
    backupPath,
    "a restore takes its files from the backup only; put that directory back as it was, or move the backup out of the backup directory; nothing was changed",
    `its saved copy of ${rel} lies behind ${dir}, which is a symlink now (the restore would take the file from wherever it leads)`,
  );
}

/**
 * A saved copy that is not there, one rule for the rollback and the listing: with a file where a
 * directory of files/ was, the file in its place is named, not "deleted by hand".
 */
function missingCopy(backupPath: string, rel: string) {
  return damagedRecord(
    backupPath,
    "this backup cannot be restored (the undone version's copy would stay in the app); move it out of the backup directory; nothing was changed",
    `its saved copy of ${rel} is missing (${whyMissing(backupFilesDir(backupPath), rel)})`,
  );
}

/** Why a copy under `files` is not there: a directory on its way is no directory now, or deleted. */
function whyMissing(files: string, rel: string): string {
  const parts = rel.split("/");
  for (let i = 1; i < parts.length; i++) {
    const dir = join(files, ...parts.slice(0, i));
    const stat = lstatOrUndefined(dir);
    if (stat === undefined) break;
    if (stat.isSymbolicLink()) return `${dir} is a symlink that leads nowhere now`;
    if (!stat.isDirectory()) return `${dir} is not a directory now: something replaced it with a file`;
  }
  return "deleted by hand, or a removal of the backup was cut short";
}

/**
 * Throws what is wrong with the copies saved.json records (replaced by a directory or a link,
 * resized, edited), in the rollback's words. `missingToo`: a recorded copy that is gone is damage
 * too (`--list-backups`, which reads no inventory; a rollback judges missing copies against it).
 * `--list-backups` listed a backup whose saved copy was made a symlink as restorable, and the
 * rollback then refused it. One lstat per copy; a copy is read only when its time moved.
 */
export async function checkSavedCopies(
  backupPath: string,
  stats: ReadonlyMap<string, LiteStatNs> = new Map(),
  missingToo = false,
  /** Copies the inventory lists besides those saved.json records (cleanup's): judged for links too. */
  listed: readonly string[] = [],
): Promise<void> {
  const records = await savedRecords(backupPath);
  // Before the sizes: a copy behind a link has the size of the file the link leads to.
  await checkNoLinkOnTheWay(backupPath, listed.length > 0 ? listed : Object.keys(records));
  const copies = await resizedCopies(backupPath, stats, missingToo, records);
  const missing = copies.find((c) => c.kind === MISSING_COPY);
  if (missing !== undefined) throw missingCopy(backupPath, missing.rel);
  const replaced = copies.find((c) => c.kind !== undefined);
  if (replaced !== undefined)
    throw damagedRecord(
      backupPath,
      "the restore cannot put back the file it saved; put that file back, or move the backup out of the backup directory; nothing was changed",
      `its saved copy of ${replaced.rel} is ${replaced.kind} now, but it was a file of ${replaced.saved} bytes when the update saved it`,
    );
  const [resized, ...more] = copies;
  if (resized !== undefined) {
    const others = more.length === 0 ? "" : ` (and ${more.length} more)`;
    throw damagedRecord(
      backupPath,
      `the restore would put that copy into the app as it is now; if that is what you want, delete ${join(backupPath, "saved.json")} and run it again; nothing was changed`,
      resized.edited === true
        ? `its saved copy of ${resized.rel} is not the content the update saved (same size, ${resized.now} bytes, but another sha256)${others} (edited by hand since)`
        : `its saved copy of ${resized.rel} is ${resized.now} bytes, but it was ${resized.saved} when the update saved it${others} (truncated or edited by hand since)`,
    );
  }
}

/**
 * Why the app's filesystem has no room for what a restore copies back, or undefined. A backup on
 * another filesystem than the app (backup_dir elsewhere) is copied back, not renamed, and nothing
 * the restore replaces is freed meanwhile (each keeps a second name in the consumed backup): with
 * the app's disk nearly full, the restore stopped half-way on ENOSPC, the app partly restored
 * ("RESTORE STOPPED HALF-WAY", exit 3). Asked up front, it is refused with nothing changed.
 */
export async function noRoomFor(
  appDir: string,
  backupPath: string,
  bytes: number,
): Promise<string | undefined> {
  if (bytes === 0) return undefined;
  const app = await stat(appDir).catch(() => undefined);
  const backup = await stat(backupPath).catch(() => undefined);
  if (app === undefined || backup === undefined || app.dev === backup.dev) return undefined;
  const fs = await statfs(appDir).catch(() => undefined);
  if (fs === undefined) return undefined;
  const free = fs.bavail * fs.bsize;
  if (bytes <= free) return undefined;
  return `${appDir} has ${kib(free)} free, but the restore copies ${kib(bytes)} of saved files back from ${dirname(backupPath)}, which is on another filesystem (on the app's, it would rename them): free space on the app's filesystem and try again`;
}

function kib(bytes: number): string {
  return bytes < 1024 * 1024 ? `${Math.ceil(bytes / 1024)} KiB` : `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}
