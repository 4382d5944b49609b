/**
 * `ship --rollback`'s chain: the backups between what is installed and the one asked for, restored
 * newest first after the whole chain is checked, and recorded so a kill between two restores is
 * resumed. Each restore is restore.ts's.
 */
import {
  BadInputError,
  ExitCode,
  errorMessage,
  RestoreInterruptedError,
  RestoreNotStartedError,
  ShipError,
} from "../../shared/errors.js";
import { errnoErrorText, fsErrorText } from "../../shared/fs-errors.js";
import type { Logger } from "../../shared/log.js";
import { readInstallIndex, readInstallIndexHeader } from "../apply/install-index.js";
import { faultPoint } from "../fault.js";
import {
  type BackupInfo,
  type BackupInventory,
  backupFilesDir,
  backupMetaOf,
  findBackupListing,
  inUpdateOrder,
  listBackups,
  noBackupWithId,
  readBackupInstalled,
  readBackupInventory,
  readUndoneManifest,
} from "./backup-store.js";
import { type RestoreInput, type RestoreResult, restoreBackup, unreadableText } from "./restore.js";
import {
  checkSavedEntries,
  firstUnreadableSaved,
  firstUnreadableToJudge,
  firstUnwritableDir,
  noRoomFor,
  unreadableCopyBack,
} from "./restore-preflight.js";
import { chainRefusal } from "./rollback-chain.js";
import { removeRollbackRecord, writeRollbackRecord } from "./rollback-record.js";
import { checkSavedIndexReads, checkSavedRecords } from "./saved-records.js";
import { notUndoingTheApp } from "./update-left-files.js";

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
  /** See RestoreInput.source. */
  source?: string;
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
  const newestFirst = inUpdateOrder(listed, current?.version, current?.releaseId);
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
    const refusal =
      chainRefusal(chain, current?.version, current?.releaseId, current?.source) ??
      (await notUndoingTheApp(first, target, options.appDir ?? target.appDir, stateDir, current));
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
    // Of those, the ones a newer restore puts back from its saved copy (with that restore's id):
    // the older restore reads what it put back.
    const putBack = new Map<string, BackupInfo>();
    const notePutBack = (backup: BackupInfo, inventory: BackupInventory) => {
      for (const rel of inventory.added) putBack.delete(rel);
      for (const rel of inventory.changed) putBack.set(rel, backup);
    };
    if (chain.length > 1) {
      const newest = await readBackupInventory(first.path);
      for (const rel of [...newest.added, ...newest.changed]) judged.add(rel);
      notePutBack(first, newest);
    }
    for (const later of chain.slice(1)) {
      const inventory = await readBackupInventory(later.path);
      await checkSavedEntries(later.path, inventory);
      const installed = await readBackupInstalled(later.path);
      // Read again by its restore's hooks (undo-release.ts), after the newer restores.
      await readUndoneManifest(later.path);
      // After the reads: a record they find damaged is named with what its parse found.
      checkSavedRecords(later.path, backupMetaOf(later));
      checkSavedIndexReads(later.path, backupMetaOf(later));
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
      // Its own restore asks too, but only once the newer restores have moved the app.
      const uncopiable = await unreadableCopyBack(
        options.appDir ?? backupMetaOf(later).appDir,
        later.path,
        inventory.changed,
      );
      if (uncopiable !== undefined)
        throw new RestoreNotStartedError(
          target.app,
          `${uncopiable} (restoring ${later.id}, a backup of this rollback's chain)`,
        );
      for (const rel of rels) {
        const newer = putBack.get(rel);
        const saved =
          newer === undefined ? undefined : firstUnreadableSaved(backupFilesDir(newer.path), [rel]);
        if (newer !== undefined && saved !== undefined)
          throw new RestoreNotStartedError(
            target.app,
            `${saved.path} cannot be read: ${fsErrorText(saved.error)}: chmod u+r it (it is the saved copy restoring ${newer.id} puts back at ${rel}, which restoring ${later.id}, a backup of this rollback's chain, must then read to tell whether it is still the file ship installed)`,
          );
      }
      for (const rel of rels) judged.add(rel);
      notePutBack(later, inventory);
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
      }).catch((error: unknown) => {
        throw new RestoreNotStartedError(target.app, errnoErrorText(error));
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
          ...(options.source === undefined ? {} : { source: options.source }),
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
