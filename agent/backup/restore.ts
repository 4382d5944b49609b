/**
 * Restore: puts back the bytes an update replaced or removed, deletes what it added, and reinstates
 * the previous install index. Journaled and roll-forward only: every step is idempotent, so
 * recovery finishes a restore that was killed. A restored backup is consumed (deleted).
 */
import { lstatSync } from "node:fs";
import { chmod, lstat, rm, unlink } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import {
  RestoreFailedError,
  RestoreInterruptedError,
  RestoreNotStartedError,
  ShipError,
} from "../../shared/errors.js";
import { errnoCode, errnoErrorText, fsErrorText } from "../../shared/fs-errors.js";
import type { Logger } from "../../shared/log.js";
import { ConfinedPaths } from "../apply/confined-paths.js";
import { recreateDir } from "../apply/file-ops.js";
import { IndexFiles } from "../apply/index-files.js";
import {
  indexBaseOf,
  indexPath,
  readInstallIndex,
  readSavedIndexFile,
  removeStaleBases,
  writeInstallIndex,
} from "../apply/install-index.js";
import { type InstalledState, installedState } from "../apply/installed-file.js";
import {
  type RestoreJournal,
  readJournal,
  removeJournal,
  WAITS_FOR_RECOVERY,
  writeJournal,
} from "../apply/journal.js";
import type { InstallIndex } from "../apply/types.js";
import { PROGRESS_DELAY_MS, progressReporter } from "../download/progress.js";
import { faultPoint } from "../fault.js";
import {
  linkEntry,
  lstatOrUndefined,
  moveEntry,
  pathExists,
  removeDirIfEmpty,
  removeIfExists,
  syncDir,
} from "../tree/fs-ops.js";
import { hashEntry, mapLimit } from "../tree/hash-file.js";
import { danglingLink, realDir } from "../tree/path-on-disk.js";
import { errnoRemedy } from "../tree/remove-tree.js";
import {
  type BackupInventory,
  type BackupMeta,
  backupFilesDir,
  readBackupInstalled,
  readBackupInventory,
  readBackupMeta,
  restoresDir,
} from "./backup-store.js";
import { restoreDirTimes } from "./dir-times.js";
import { META_FILE, PREVIOUS_INDEX_FILE, SAVED_INDEX_BASE_FILE } from "./record-names.js";
import { LinkedNames, type UndoneLink, undoneLinkText } from "./restore-links.js";
import {
  checkSavedEntries,
  firstUnreadableToJudge,
  firstUnwritableDir,
  noRoomFor,
  unreadableCopyBack,
} from "./restore-preflight.js";
import { recordRestored } from "./restored-record.js";
import { checkSavedIndexReads, checkSavedRecords } from "./saved-records.js";
import { discardBackupDir, keepSecondName, moveAside, UNDONE_DIR } from "./trash.js";
import { setAsideSaved, unrestoredDir } from "./unrestored.js";

/** Files restored at once: enough to keep the disk busy, few enough for any fd limit. */
const RESTORE_CONCURRENCY = 16;

export interface RestoreInput {
  backupPath: string;
  /** The backup's meta.json when the caller has read it already (it never changes). */
  meta?: BackupMeta;
  /** Defaults to the app and state directories recorded in the backup. */
  appDir?: string;
  stateDir?: string;
  log?: Logger;
  /**
   * The caller empties the app's trash itself once the restore returns (the daemon, whose app may
   * see no run for weeks): the restore then never starts a detached `rm` for a big trash as well.
   */
  callerEmptiesTrash?: boolean;
  /** The restoring source's trash (appTrashDir); default: beside the backup. See RestoreJournal.trash. */
  trash?: string;
  /** Directories mirroring the app whose entries are the rollback's own hard links (ownLinksOf). */
  ownLinks?: readonly string[];
  /** The configured source restoring (RestoreJournal.source). */
  source?: string;
}

export interface RestoreResult {
  app: string;
  /** The version the app is on again (null: the tree ship found before its first install). */
  version: string | null;
  /** The version the restore undid. */
  undid: string;
  /** Files put back, and files the update had added that were deleted. */
  returned: number;
  deleted: number;
  copied: number;
  /** Paths behind a symlinked directory (outside the app): left alone. */
  outside: string[];
  /** Paths under a directory ship installed that is now a file (or other non-directory): left alone. */
  displaced: string[];
  /** Paths holding something ship did not install (changed or created since): left alone. */
  kept: string[];
  /** Where the previous versions of the paths left alone are kept (`<backup>.unrestored`). */
  oldVersions: string;
  /** Files whose other names (hard links) keep the undone version's content. */
  linked: UndoneLink[];
}

export async function restoreBackup(input: RestoreInput): Promise<RestoreResult> {
  const meta = input.meta ?? (await readBackupMeta(input.backupPath));
  const appDir = input.appDir ?? meta.appDir;
  const stateDir = input.stateDir ?? meta.stateDir;
  if (!meta.complete)
    throw new RestoreFailedError(meta.app, "restore requested", `backup ${meta.id} is incomplete`);
  // Refused before anything moves. It was RestoreFailedError: `ship --rollback` over an update
  // killed mid-apply said "UPDATE FAILED AND RESTORE FAILED — the app needs a person", exit 3, and
  // recorded restore_failed, though no update had run and nothing had been restored.
  if ((await readJournal(stateDir)) !== undefined) {
    throw new RestoreNotStartedError(meta.app, WAITS_FOR_RECOVERY);
  }
  // An app directory behind a dangling symlink (a volume not mounted, a shared directory moved) can
  // take no file: the restore would stop half-way at its first mkdir.
  const dangling = await danglingLink(appDir);
  if (dangling !== undefined)
    throw new RestoreNotStartedError(
      meta.app,
      `the app directory ${appDir}: ${dangling.link} is ${dangling.leadsTo}`,
    );
  // The backup's inodes and records are of the directory it was made in: through an app_dir
  // re-pointed since (a post_update hook's `ln -sfn releases/2 current`), the automatic restore
  // left the updated directory new and wrote the old files into the other one.
  if (!restoresDir(meta, appDir))
    throw new RestoreNotStartedError(
      meta.app,
      `the app directory ${appDir} leads to ${realDir(appDir)} now, but backup ${meta.id} restores ${meta.appRealDir ?? meta.appDir}, where it led when the update began: make it lead there again`,
    );
  const inventory = await readBackupInventory(input.backupPath);
  checkSavedRecords(input.backupPath, meta);
  checkSavedIndexReads(input.backupPath, meta);
  await checkSavedEntries(input.backupPath, inventory, {
    appDir,
    installed: async () => (await readInstallIndex(stateDir))?.files ?? new IndexFiles(),
  });
  const unwritable = await firstUnwritableDir({ appDir, stateDir, backupPath: input.backupPath, inventory });
  if (unwritable !== undefined) {
    throw new RestoreNotStartedError(
      meta.app,
      `${unwritable.dir} is not writable: ${fsErrorText(unwritable.error)}`,
    );
  }
  const unreadable = await firstUnreadableToJudge({
    appDir,
    rels: [...inventory.added, ...inventory.changed],
    installed: (await readBackupInstalled(input.backupPath)) ?? (await readInstallIndex(stateDir))?.files,
  });
  if (unreadable !== undefined) throw new RestoreNotStartedError(meta.app, unreadableText(unreadable));
  const noRoom = await noRoomFor(appDir, input.backupPath, meta.bytes);
  if (noRoom !== undefined) throw new RestoreNotStartedError(meta.app, noRoom);
  const uncopiable = await unreadableCopyBack(appDir, input.backupPath, inventory.changed);
  if (uncopiable !== undefined) throw new RestoreNotStartedError(meta.app, uncopiable);
  const journal: RestoreJournal = {
    kind: "restore",
    app: meta.app,
    appDir,
    stateDir,
    backupPath: input.backupPath,
    version: meta.fromVersion,
    undid: meta.toVersion,
    ...(input.trash === undefined ? {} : { trash: input.trash }),
    ...(input.source === undefined ? {} : { source: input.source }),
  };
  // Before anything moves: a disk too full for the journal refuses the restore, said as the other
  // refusals are (it was "internal error: ENOSPC: no space left on device, write", exit 1).
  await writeJournal(stateDir, journal).catch((error: unknown) => {
    throw new RestoreNotStartedError(meta.app, errnoErrorText(error));
  });
  const { returned, copied, deleted, outside, displaced, kept, linked } = await finishRestore(journal, {
    ...(input.log === undefined ? {} : { log: input.log }),
    inventory,
    background: input.callerEmptiesTrash !== true,
    ...(input.ownLinks === undefined ? {} : { ownLinks: input.ownLinks }),
  });
  input.log?.info("restored backup", { app: meta.app, backup: meta.id, version: meta.fromVersion });
  return {
    app: meta.app,
    version: meta.fromVersion,
    undid: meta.toVersion,
    returned,
    deleted,
    copied,
    outside,
    displaced,
    kept,
    oldVersions: unrestoredDir(input.backupPath),
    linked,
  };
}

export function unreadableText(unreadable: { path: string; error: unknown }): string {
  return `${unreadable.path} changed since the update and cannot be read to tell whether it is still the file ship installed: ${fsErrorText(unreadable.error)}${errnoRemedy(errnoCode(unreadable.error))}`;
}

/** What a restore put back, and what it left alone because it was not ship's to touch. */
interface RestoreWork {
  returned: number;
  copied: number;
  deleted: number;
  /** Paths behind a symlinked directory: outside the app, never touched. */
  outside: string[];
  /** Paths under a directory ship installed that something else (a file) replaced: never touched. */
  displaced: string[];
  /** Paths whose entry is not the one ship installed (changed or created since): left as they are. */
  kept: string[];
  /** Files whose other names (hard links) keep the undone version's content. */
  linked: UndoneLink[];
}

/**
 * Runs (or re-runs) a restore to its end. Order matters for file/directory swaps: the update's new
 * files go first, then its new directories (deepest first), then the directories it removed come
 * back (parents first), and last the old files.
 *
 * Only what ship installed is deleted or replaced: each path is checked against the install index
 * of the update being undone (still in place until the end), and never through a symlink. The old
 * versions of paths left alone are kept beside the backup (`<backup>.unrestored/`), never dropped.
 * Every decision depends only on the disk and that index, so a re-run decides the same way.
 */
export async function finishRestore(
  journal: RestoreJournal,
  options: RestoreRunOptions = {},
): Promise<RestoreWork> {
  try {
    return await runRestore(journal, options);
  } catch (error) {
    if (error instanceof ShipError) throw error;
    // The journal stays: recovery finishes the restore once the cause is gone.
    throw new RestoreInterruptedError(journal.app, whatFailed(error));
  }
}

/** "permission denied (EACCES): rename <from> -> <to>": the errno in words and the paths it names. */
function whatFailed(error: unknown): string {
  const e = error as NodeJS.ErrnoException & { dest?: string };
  if (e.path === undefined) return fsErrorText(error);
  const paths = e.dest === undefined ? e.path : `${e.path} -> ${e.dest}`;
  return `${fsErrorText(error)}: ${e.syscall ?? "at"} ${paths}${errnoRemedy(errnoCode(error))}`;
}

/** How finishRestore runs; the defaults suit recovery. */
export interface RestoreRunOptions {
  log?: Logger;
  /** The backup's inventory when the caller has read it already. */
  inventory?: BackupInventory;
  /** A restore a killed run started: paths it already moved are recognised, not refused. */
  resumed?: boolean;
  /** Whether a big trash gets a detached `rm` (trash.ts); false when the caller empties it. Default true. */
  background?: boolean;
  /** See RestoreInput.ownLinks. */
  ownLinks?: readonly string[];
}

async function runRestore(journal: RestoreJournal, options: RestoreRunOptions): Promise<RestoreWork> {
  const { log, inventory: knownInventory, resumed = false } = options;
  const { appDir, backupPath } = journal;
  const none: RestoreWork = {
    returned: 0,
    copied: 0,
    deleted: 0,
    outside: [],
    displaced: [],
    kept: [],
    linked: [],
  };
  if (!(await pathExists(join(backupPath, META_FILE)))) {
    // The backup was already being deleted: everything before that step had finished.
    await rm(backupPath, { recursive: true, force: true });
    await removeJournal(journal.stateDir);
    return none;
  }
  const inventory = knownInventory ?? (await readBackupInventory(backupPath));
  const files = backupFilesDir(backupPath);
  // What the undone update installed at the paths it wrote: the backup's own record (a 1 % change
  // reads 1 % of the index), or the whole install index for backups made before it was kept.
  const installed = await installedByUpdate(journal);
  const paths = new ConfinedPaths(appDir);
  // What the restore takes out of the app keeps a name here until the backup is discarded: freeing
  // it is left to the app's next run or a background removal (trash.ts says why).
  const undone = join(backupPath, UNDONE_DIR);
  const work = { ...none, outside: [] as string[], displaced: [] as string[], kept: [] as string[] };
  const linkedNames = new LinkedNames();
  /** What is at `rel`: absent or ship's own entry may be touched; outside or foreign never. */
  const stateOf = async (rel: string): Promise<InstalledState | "outside"> => {
    const blocker = await paths.blocker(rel);
    if (blocker !== undefined) {
      (blocker.symlink ? work.outside : work.displaced).push(rel);
      return "outside";
    }
    const state = await installedStateOf(appDir, rel, installed, files);
    if (state === "foreign") work.kept.push(rel);
    return state;
  };
  // Undoing a first install of 20,000 files takes seconds: shown once it has taken more than one.
  const progress = progressReporter({
    label: journal.app,
    ...(log === undefined ? {} : { log }),
    action: "restoring",
    unit: "files",
    delayMs: PROGRESS_DELAY_MS,
  });
  const total = inventory.added.length + inventory.changed.length;
  let done = 0;
  const fileDone = () => {
    faultPoint("restore:file");
    progress(++done, total);
  };
  const putBackEarlier = resumed ? earlierRunPutBack(appDir, backupPath, inventory) : undefined;
  // Files of one phase never depend on each other (directories are handled between the phases),
  // so they are restored a few at a time: a 1 % rollback waits on the disk less, not on each file.
  await mapLimit(inventory.added, RESTORE_CONCURRENCY, async (rel) => {
    if (putBackEarlier !== undefined && (await putBackEarlier(rel))) {
      fileDone();
      return;
    }
    if ((await stateOf(rel)) === "installed") {
      linkedNames.note(join(appDir, rel), rel);
      if (!moveAside(join(appDir, rel), join(undone, rel))) await removeIfExists(join(appDir, rel));
      work.deleted++;
    }
    fileDone();
  });
  for (const rel of [...inventory.createdDirs].reverse()) {
    if (!(await paths.isRealDir(rel))) continue;
    if (await removeDirIfEmpty(join(appDir, rel))) paths.forget(rel);
  }
  // Parents first (a parent's path is shorter): the inventory lists them deepest first, as the apply
  // removed them, and making `plugins/sub` first made `plugins` with root's 755, not its own.
  const parentsFirst = [...inventory.removedDirs].sort((a, b) => a.rel.length - b.rel.length);
  for (const dir of parentsFirst) {
    if (await paths.reachable(dir.rel)) await recreateDir(join(appDir, dir.rel), dir);
  }
  // Every state first, then every move: a keep-copy's check (`x.bak`) reads the saved `x`, which
  // its own move would otherwise be taking out of the backup at the same moment.
  const states = await mapLimit(inventory.changed, RESTORE_CONCURRENCY, async (rel) =>
    (await pathExists(join(files, rel))) ? { rel, state: await stateOf(rel) } : { rel, state: undefined },
  );
  await mapLimit(states, RESTORE_CONCURRENCY, async ({ rel, state }) => {
    if (state !== undefined) {
      const saved = join(files, rel);
      if (state === "installed" || state === "absent") {
        if (state === "installed") {
          linkedNames.note(join(appDir, rel), rel);
          keepSecondName(join(appDir, rel), join(undone, rel));
        }
        if (!["renamed", "linked"].includes(await moveEntry(saved, join(appDir, rel)))) work.copied++;
        work.returned++;
      } else {
        await setAsideSaved(backupPath, saved, rel);
      }
    }
    fileDone();
  });
  // Last: an old mode without the owner's write bit must not stop the files going back. Only a mode
  // the update set is put back; a chmod since is the operator's.
  for (const dir of inventory.modeChangedDirs) {
    if (!(await paths.isRealDir(dir.rel))) continue;
    const stat = await lstat(join(appDir, dir.rel));
    if ((stat.mode & 0o7777) === dir.set) await chmod(join(appDir, dir.rel), dir.mode);
  }
  // After every entry moved: each move stamped its directory with the time of the restore.
  await restoreDirTimes(appDir, inventory.dirTimes, paths);
  work.outside.sort();
  work.displaced.sort();
  work.kept.sort();
  if (work.copied > 0)
    log?.warn("restore copied files instead of renaming them (slower): another filesystem", {
      copied: work.copied,
    });
  reportLeftAlone(work, backupPath, log);
  work.linked = linkedNames.othersKeeping(
    [undone, ...(options.ownLinks ?? [])],
    [...inventory.added, ...inventory.changed],
  );
  if (work.linked.length > 0)
    log?.warn(
      "restore took app names from files that have other names (hard links): those keep the undone version's content",
      {
        files: work.linked.map((link) => undoneLinkText(link)),
      },
    );
  faultPoint("restore:before-finalize");
  await reinstateIndex(journal, inventory, work.copied > 0);
  // meta.json goes first: a half-deleted backup is then never listed or restored again.
  await rm(join(backupPath, META_FILE), { force: true });
  await dropReinstatedIndexName(journal);
  // Before the trash takes it: a second --rollback of this id must say so after the trash is emptied.
  await recordRestored(dirname(backupPath), basename(backupPath));
  await discardBackupDir(backupPath, work.deleted + work.returned, options.background ?? true, journal.trash);
  await removeJournal(journal.stateDir);
  return work;
}

/**
 * For a restore a kill interrupted: whether the update's added path `rel` is already gone because
 * the killed run put the old version back where the path changed type. Then the entry in its way is
 * ship's own restored one, not the operator's: `rel` lies under an old file or symlink that is back
 * (no longer in the backup, nor set aside), or `rel` is a directory the restore brought back. Said
 * as left alone, these would read as the operator's changes in the line that ends the restore.
 */
function earlierRunPutBack(
  appDir: string,
  backupPath: string,
  inventory: BackupInventory,
): (rel: string) => Promise<boolean> {
  const changed = new Set(inventory.changed);
  const removedDirs = new Set(inventory.removedDirs.map((d) => d.rel));
  const files = backupFilesDir(backupPath);
  const returned = async (rel: string) =>
    changed.has(rel) &&
    !(await pathExists(join(files, rel))) &&
    !(await pathExists(join(unrestoredDir(backupPath), rel)));
  return async (rel) => {
    const parts = rel.split("/");
    for (let i = 1; i < parts.length; i++) {
      const dir = parts.slice(0, i).join("/");
      const stat = await lstat(join(appDir, dir)).catch(() => undefined);
      if (stat === undefined) return false;
      if (!stat.isDirectory()) return returned(dir);
    }
    if (!removedDirs.has(rel)) return false;
    return (await lstat(join(appDir, rel)).catch(() => undefined))?.isDirectory() === true;
  };
}

async function installedByUpdate(journal: RestoreJournal): Promise<InstallIndex["files"] | undefined> {
  const recorded = await readBackupInstalled(journal.backupPath);
  if (recorded !== undefined) return recorded;
  return (await readInstallIndex(journal.stateDir))?.files;
}

/**
 * An entry ship installed is in the index; a sibling keep-copy (`x.bak`, written from the backup's
 * old `x`) is not, and is recognised by being byte-equal to that saved version.
 */
async function installedStateOf(
  appDir: string,
  rel: string,
  installed: InstallIndex["files"] | undefined,
  backupFiles: string,
): Promise<InstalledState> {
  const path = join(appDir, rel);
  const indexed = installed?.get(rel);
  const state = await installedState(path, indexed);
  if (state !== "foreign" || indexed !== undefined || !rel.endsWith(".bak")) return state;
  const original = join(backupFiles, rel.slice(0, -".bak".length));
  const [copy, saved] = await Promise.all([lstat(path), lstat(original).catch(() => undefined)]);
  if (saved === undefined || !copy.isFile() || copy.size !== saved.size) return state;
  return (await hashEntry(path)) === (await hashEntry(original)) ? "installed" : state;
}

function reportLeftAlone(work: RestoreWork, backupPath: string, log?: Logger): void {
  if (work.outside.length > 0) {
    log?.warn(
      "restore left paths behind a symlink or mount point alone: they are outside the app directory",
      {
        paths: work.outside,
        oldVersions: unrestoredDir(backupPath),
      },
    );
  }
  if (work.displaced.length > 0) {
    log?.warn("restore left paths alone whose directory is no longer one (something else stands there now)", {
      paths: work.displaced,
      oldVersions: unrestoredDir(backupPath),
    });
  }
  if (work.kept.length > 0) {
    log?.warn("restore kept files ship did not install (changed or created since the update)", {
      paths: work.kept,
      oldVersions: unrestoredDir(backupPath),
    });
  }
}

/**
 * Puts the previous install index back. Files renamed back are the very inodes the index describes,
 * so the saved file is linked into place as it is; only copies (other filesystem) need fresh stats.
 */
async function reinstateIndex(
  journal: RestoreJournal,
  inventory: BackupInventory,
  copied: boolean,
): Promise<void> {
  const saved = join(journal.backupPath, PREVIOUS_INDEX_FILE);
  if (!(await pathExists(saved))) {
    await writeInstallIndex(journal.stateDir, undefined);
    return;
  }
  if (!copied) {
    // A head's base goes in first: the head never stands without it (install-index.ts).
    const base = indexBaseOf(saved);
    if (base !== undefined)
      await linkEntry(join(journal.backupPath, SAVED_INDEX_BASE_FILE), join(journal.stateDir, base.name));
    await linkEntry(saved, indexPath(journal.stateDir));
    await syncDir(journal.stateDir);
    await removeStaleBases(journal.stateDir, base?.name);
    return;
  }
  const previous = await readSavedIndexFile(saved);
  if (previous !== undefined) {
    for (const rel of inventory.changed) {
      const entry = previous.files.get(rel);
      if (entry === undefined) continue;
      // Synchronous: one lstat per changed file, where a thread-pool round trip cost ~3x the call.
      const stat = lstatOrUndefined(join(journal.appDir, rel));
      if (stat !== undefined)
        previous.files.set(rel, {
          ...entry,
          size: stat.size,
          mtimeMs: stat.mtimeMs,
          ino: stat.ino,
          ctimeMs: stat.ctimeMs,
        });
    }
  }
  await writeInstallIndex(journal.stateDir, previous);
}

/**
 * Unlinks the backup's saved index when reinstateIndex linked it into place (the live install index's
 * second name; a copy, another filesystem, is left to the trash). Left there, the app's next run
 * unlinked it as it emptied the trash, which moved the live index's ctime at that run's start: its
 * stamp was then too recent to trust (the racy rule, install-index.ts) and every read of that run
 * read the whole index again (~4 MB at 20,000 files, three times an update). Here the unlink frees
 * nothing, and the ctime moves while the rollback writes the index anyway. Only once meta.json is
 * gone: a restore resumed after that point deletes the backup instead of reading its index.
 */
async function dropReinstatedIndexName(journal: RestoreJournal): Promise<void> {
  const saved = join(journal.backupPath, PREVIOUS_INDEX_FILE);
  const kept = lstatSync(saved, { throwIfNoEntry: false });
  const live = lstatSync(indexPath(journal.stateDir), { throwIfNoEntry: false });
  if (kept === undefined || live === undefined || kept.ino !== live.ino || kept.dev !== live.dev) return;
  // Only time is at stake: a name that will not go is left to the trash, as before.
  await unlink(saved).catch(() => undefined);
}
