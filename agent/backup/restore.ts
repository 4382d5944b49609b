/**
 * Restore: puts back the bytes an update replaced or removed, deletes what it added, and reinstates
 * the previous install index. Journaled and roll-forward only: every step is idempotent, so
 * recovery finishes a restore that was killed. A restored backup is consumed (deleted).
 */
import { lstatSync } from "node:fs";
import { chmod, lstat, rm, unlink } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import {
  BadInputError,
  ExitCode,
  errorMessage,
  RestoreFailedError,
  RestoreInterruptedError,
  RestoreNotStartedError,
  ShipError,
} from "../../shared/errors.js";
import { errnoCode, fsErrorText } from "../../shared/fs-errors.js";
import type { Logger } from "../../shared/log.js";
import { ConfinedPaths } from "../apply/confined-paths.js";
import { recreateDir } from "../apply/file-ops.js";
import {
  indexPath,
  readIndexFile,
  readInstallIndex,
  readInstallIndexHeader,
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
import { danglingLink } from "../tree/path-on-disk.js";
import { errnoRemedy } from "../tree/remove-tree.js";
import {
  type BackupInfo,
  type BackupInventory,
  type BackupMeta,
  backupFilesDir,
  backupMetaOf,
  findBackupListing,
  inUpdateOrder,
  listBackups,
  noBackupWithId,
  readBackupInstalled,
  readBackupInventory,
  readBackupMeta,
  readUndoneManifest,
} from "./backup-store.js";
import { restoreDirTimes } from "./dir-times.js";
import { META_FILE, PREVIOUS_INDEX_FILE } from "./record-names.js";
import { LinkedNames, type UndoneLink, undoneLinkText } from "./restore-links.js";
import {
  checkSavedEntries,
  firstUnreadableToJudge,
  firstUnwritableDir,
  noRoomFor,
} from "./restore-preflight.js";
import { recordRestored } from "./restored-record.js";
import { chainRefusal } from "./rollback-chain.js";
import { removeRollbackRecord, writeRollbackRecord } from "./rollback-record.js";
import { checkSavedRecords } from "./saved-records.js";
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
  const inventory = await readBackupInventory(input.backupPath);
  checkSavedRecords(input.backupPath, meta);
  await checkSavedEntries(input.backupPath, inventory, {
    appDir,
    installed: async () => (await readInstallIndex(stateDir))?.files ?? {},
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
  const journal: RestoreJournal = {
    kind: "restore",
    app: meta.app,
    appDir,
    stateDir,
    backupPath: input.backupPath,
    version: meta.fromVersion,
    undid: meta.toVersion,
    ...(input.trash === undefined ? {} : { trash: input.trash }),
  };
  await writeJournal(stateDir, journal);
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

function unreadableText(unreadable: { path: string; error: unknown }): string {
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
  const indexed = installed?.[rel];
  const state = await installedState(path, indexed);
  if (state !== "foreign" || indexed !== undefined || !rel.endsWith(".bak")) return state;
  const original = join(backupFiles, rel.slice(0, -".bak".length));
  const [copy, saved] = await Promise.all([lstat(path), lstat(original).catch(() => undefined)]);
  if (saved === undefined || !copy.isFile() || copy.size !== saved.size) return state;
  return (await hashEntry(path)) === (await hashEntry(original)) ? "installed" : state;
}

function reportLeftAlone(work: RestoreWork, backupPath: string, log?: Logger): void {
  if (work.outside.length > 0) {
    log?.warn("restore left paths behind a symlink alone: they are outside the app directory", {
      paths: work.outside,
      oldVersions: unrestoredDir(backupPath),
    });
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
    await linkEntry(saved, indexPath(journal.stateDir));
    await syncDir(journal.stateDir);
    return;
  }
  const previous = await readIndexFile(saved);
  if (previous !== undefined) {
    for (const rel of inventory.changed) {
      const entry = previous.files[rel];
      if (entry === undefined) continue;
      // Synchronous: one lstat per changed file, where a thread-pool round trip cost ~3x the call.
      const stat = lstatOrUndefined(join(journal.appDir, rel));
      if (stat !== undefined)
        previous.files[rel] = {
          ...entry,
          size: stat.size,
          mtimeMs: stat.mtimeMs,
          ino: stat.ino,
          ctimeMs: stat.ctimeMs,
        };
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

/**
 * A later restore of a chain refused after the newer ones were done (something changed in between,
 * a rollback hook say): its own "nothing was changed" was said about an app that had moved to a
 * version in between. The app is whole on that version; the rest can be asked for again. Exit 1.
 */
export class PartialRollbackError extends ShipError {
  readonly exitCode = ExitCode.updateFailedRestored;
  constructor(
    target: BackupInfo,
    chain: readonly BackupInfo[],
    restored: readonly RestoreResult[],
    cause: unknown,
  ) {
    const label = (v: string | null | undefined) => v ?? "the tree before ship's first install";
    const refused = chain[restored.length];
    // The refusal's own ending is not true of the rollback: the newer restores changed the app.
    const why =
      cause instanceof RestoreNotStartedError
        ? `cannot restore ${refused?.id}: ${cause.reason}`
        : errorMessage(cause).replace(/;? nothing was changed$/, "");
    super(
      `${target.app}: rolled back only part of the way: the app is on ${label(restored.at(-1)?.version)} (${restored.length} of ${chain.length} backups restored), not ${label(target.version)}: ${why}; once that is fixed, ship --rollback ${target.id} goes on from there`,
      { cause },
    );
    this.name = "PartialRollbackError";
  }
}

/** One backup's restore as rollbackTo's `around` runs it, with what only the caller knows. */
export type RestoreOne = (extra?: Pick<RestoreInput, "ownLinks">) => Promise<RestoreResult>;

export interface RollbackResult {
  app: string;
  version: string | null;
  /** Each backup restored, newest first. */
  restored: RestoreResult[];
}

/**
 * `ship --rollback ID|PATH`: restores that backup, first undoing every newer update of the same app
 * (newest first), since each backup only holds what its own update changed. A chain of more than one
 * restore is recorded first (rollback-record.ts), so a kill between two restores is resumed by
 * recovery instead of leaving the app on a version in between; any such record is dropped once the
 * rollback ends. Errors: those of restoreBackup; the record is kept only for RestoreInterruptedError
 * (its journal is kept too, and `--recover` finishes both), otherwise the caller has the error in
 * hand and the next run simply updates.
 */
export async function rollbackTo(options: {
  backupRoot: string;
  /** An id or path as `ship --rollback` takes it, or the backup as findBackup found it. */
  target: string | BackupInfo;
  /** Backups the caller listed already (findBackupListing): their meta.json is not read again. */
  known?: readonly BackupInfo[];
  /** The config's source names, whose places in backup_dir the listing judges (backupSourceDirs). */
  configured?: Iterable<string>;
  appDir?: string;
  stateDir?: string;
  log?: Logger;
  /** Recorded for a chain, so a resumed rollback runs the undone releases' hooks as this one did. */
  hooks?: boolean;
  /**
   * Wraps each backup's restore (newest first): what must happen around it, such as running the
   * undone release's rollback hooks. Default: just the restore.
   */
  around?: (backup: BackupInfo, restore: RestoreOne) => Promise<RestoreResult>;
  /** See RestoreInput.callerEmptiesTrash. */
  callerEmptiesTrash?: boolean;
  /** See RestoreInput.trash. */
  trash?: string;
}): Promise<RollbackResult> {
  const found =
    typeof options.target === "string"
      ? await findBackupListing(options.backupRoot, options.target, options.configured)
      : { target: options.target, listed: [] };
  const target = found.target;
  // Listed afresh (under the caller's lock), the target's meta reused: each meta.json is read once.
  // Every backup of the target's app directory, whatever source name it was made under: after
  // [sources.myapp] was renamed to [sources.web], a rollback to a myapp backup found only myapp's
  // and refused ("no backup that undoes the installed 3.0.0 … was a backup deleted by hand?")
  // while web's backup of that update was there to undo first.
  const listed = await listBackups(
    options.backupRoot,
    undefined,
    target.appDir,
    [target, ...found.listed, ...(options.known ?? [])],
    options.configured,
  );
  const stateDir = options.stateDir ?? backupMetaOf(target).stateDir;
  const current = await readInstallIndexHeader(stateDir);
  const newestFirst = inUpdateOrder(listed, current?.version);
  const position = newestFirst.findIndex((b) => b.id === target.id);
  if (position < 0) {
    // Found before the lock was taken, and restored (consumed) by another run meanwhile, or pruned
    // by an update that stood meanwhile ("another run restored it" was all it said).
    throw await noBackupWithId(
      options.backupRoot,
      target.id,
      "any more (another run restored it, or an update's keep_backups pruned it; see ship --list-backups)",
    );
  }
  const chain = newestFirst.slice(0, position + 1);
  const first = chain[0];
  let recordDir: string | undefined;
  if (first !== undefined) {
    // Each backup undoes one update, each the version the one before it brings back: a chain that
    // does not (the last update's backup deleted by hand, a gap after a rename, an install that found
    // no install index) would leave files of two versions mixed. Refused before anything moves.
    const refusal = chainRefusal(chain, current?.version);
    if (refusal !== undefined)
      throw BadInputError.single(options.backupRoot, "", `${refusal}; nothing was changed`);
    // A later backup of the chain whose record is damaged stopped the rollback after the first
    // restores: exit 2 ("nothing changed") with the app moved to a version in between. Each one is
    // read before anything moves (the first is read by its own restore before its first change).
    // So is every directory each of them writes in: one the operator made immutable (or root's,
    // under a service user) that only an older update touched refused that restore after the
    // newer ones, and "nothing was changed" was said about an app moved to a version in between.
    // Nothing a restore replaces is freed before the rollback ends: the chain needs room for all.
    const copied = chain.reduce((sum, b) => sum + backupMetaOf(b).bytes, 0);
    const noRoom = await noRoomFor(options.appDir ?? target.appDir, target.path, copied);
    if (noRoom !== undefined && chain.length > 1) throw new RestoreNotStartedError(target.app, noRoom);
    // Paths a newer restore of the chain puts back or deletes: that restore judges them itself.
    const judged = new Set<string>();
    if (chain.length > 1) {
      const newest = await readBackupInventory(first.path);
      for (const rel of [...newest.added, ...newest.changed]) judged.add(rel);
    }
    for (const later of chain.slice(1)) {
      const inventory = await readBackupInventory(later.path);
      await checkSavedEntries(later.path, inventory);
      const installed = await readBackupInstalled(later.path);
      // Read again by its restore's hooks (undo-release.ts), after the newer restores.
      await readUndoneManifest(later.path);
      // After the reads: a record they find damaged is named with what its parse found.
      checkSavedRecords(later.path, backupMetaOf(later));
      const unwritable = await firstUnwritableDir({
        appDir: options.appDir ?? backupMetaOf(later).appDir,
        stateDir,
        backupPath: later.path,
        inventory,
      });
      if (unwritable !== undefined)
        throw new RestoreNotStartedError(
          target.app,
          `${unwritable.dir} is not writable: ${fsErrorText(unwritable.error)} (restoring ${later.id}, a backup of this rollback's chain)`,
        );
      // A file the app made unreadable since, that only this older restore must read to judge,
      // stopped the rollback after the newer restores had moved the app to a version in between.
      const rels = [...inventory.added, ...inventory.changed];
      const unreadable = await firstUnreadableToJudge({
        appDir: options.appDir ?? backupMetaOf(later).appDir,
        rels: rels.filter((rel) => !judged.has(rel)),
        installed: installed ?? (await readInstallIndex(stateDir))?.files,
      });
      if (unreadable !== undefined)
        throw new RestoreNotStartedError(
          target.app,
          `${unreadableText(unreadable)} (restoring ${later.id}, a backup of this rollback's chain)`,
        );
      for (const rel of rels) judged.add(rel);
    }
    // Dropped at the end even when not written here: a resumed rollback whose chain is down to one
    // restore finishes the record the killed run wrote.
    recordDir = stateDir;
    if (chain.length > 1) {
      await writeRollbackRecord(stateDir, {
        app: target.app,
        appDir: target.appDir,
        backupRoot: options.backupRoot,
        targetId: target.id,
        targetPath: target.path,
        version: target.version,
        undid: target.replacedBy,
        hooks: options.hooks ?? true,
      });
    }
  }
  const restored: RestoreResult[] = [];
  try {
    for (const [step, backup] of chain.entries()) {
      if (step > 0) faultPoint("rollback:between-restores");
      const restore: RestoreOne = (extra = {}) =>
        restoreBackup({
          ...extra,
          backupPath: backup.path,
          meta: backupMetaOf(backup),
          ...(options.appDir === undefined ? {} : { appDir: options.appDir }),
          ...(options.stateDir === undefined ? {} : { stateDir: options.stateDir }),
          ...(options.log === undefined ? {} : { log: options.log }),
          ...(options.callerEmptiesTrash === true ? { callerEmptiesTrash: true } : {}),
          ...(options.trash === undefined ? {} : { trash: options.trash }),
        });
      restored.push(await (options.around === undefined ? restore() : options.around(backup, restore)));
    }
  } catch (error) {
    if (recordDir !== undefined && !(error instanceof RestoreInterruptedError))
      await removeRollbackRecord(recordDir);
    if (restored.length === 0 || error instanceof RestoreInterruptedError) throw error;
    throw new PartialRollbackError(target, chain, restored, error);
  }
  if (recordDir !== undefined) await removeRollbackRecord(recordDir);
  return { app: target.app, version: target.version, restored };
}
