/**
 * recoverApp: run first on every start. An update killed before its commit is undone (the app is
 * byte-for-byte its old self); one killed after its commit is finished; a restore is finished.
 * Protected directories and the user's files are never in a journal, so they are never touched.
 */
import { rm } from "node:fs/promises";
import { restoredVersionLabel } from "../../shared/errors.js";
import type { Logger } from "../../shared/log.js";
import { backupFilesDir, readBackupInventory } from "../backup/backup-store.js";
import { restoreDirTimes } from "../backup/dir-times.js";
import { finishRestore } from "../backup/restore.js";
import { leftAloneNote, setAsidePaths, unrestoredDir } from "../backup/unrestored.js";
import { faultPoint } from "../fault.js";
import { ConfinedPaths } from "./confined-paths.js";
import { type OpContext, runUndo } from "./file-ops.js";
import { finalizeUpdate } from "./finalize-update.js";
import { readJournal, removeJournal, type UpdateJournal } from "./journal.js";

export interface RecoveryResult {
  /** none: no interrupted run; rolled-back: back on the old version; completed/restored: finished. */
  action: "none" | "rolled-back" | "completed" | "restored";
  app?: string;
  /** The version the app is on now (null: the tree ship found before its first install). */
  version?: string | null;
  /** For `completed`: the backup that undoes the update recovery just finished. */
  backupPath?: string;
  /** One line for the log and the report, e.g. "myapp: restored 1.0.0 (interrupted update to 2.0.0 undone)". */
  message: string;
}

/**
 * Undoes every operation of an uncommitted update, newest first, puts back the times of the
 * directories it touched (as a restore from the backup does), then drops its partial backup.
 */
export async function rollBackUpdate(journal: UpdateJournal): Promise<void> {
  const confined = new ConfinedPaths(journal.appDir);
  const ctx: OpContext = {
    appDir: journal.appDir,
    stagingDir: journal.stagingDir,
    backupFiles: backupFilesDir(journal.backupPath),
    onCopy: () => {},
    confined,
  };
  // The inventory is written before the journal, so every journal has one; read first, while the
  // backup that holds it is there (a second, killed recovery reads it again: it is dropped last).
  // One damaged by hand costs only the directories' times, never the undo of the files.
  const dirTimes = await readBackupInventory(journal.backupPath).then(
    (inventory) => inventory.dirTimes,
    () => [],
  );
  for (const op of [...journal.ops].reverse()) {
    await runUndo(op, ctx);
    faultPoint("recover:file");
  }
  // Last, after every entry moved back: each undo stamped its directory with the time of recovery.
  await restoreDirTimes(journal.appDir, dirTimes, confined);
  await rm(journal.backupPath, { recursive: true, force: true });
  await removeJournal(journal.stateDir);
}

export async function recoverApp(options: { stateDir: string; log?: Logger }): Promise<RecoveryResult> {
  const journal = await readJournal(options.stateDir);
  if (journal === undefined) return { action: "none", message: "nothing to recover" };
  if (journal.kind === "restore") {
    const work = await finishRestore(journal, {
      ...(options.log === undefined ? {} : { log: options.log }),
      resumed: true,
    });
    // This run's findings and what an earlier, killed run of the same restore had set aside.
    const paths = new Set([
      ...work.outside,
      ...work.displaced,
      ...work.kept,
      ...(await setAsidePaths(journal.backupPath)),
    ]);
    const leftAlone = leftAloneNote([...paths].sort(), [unrestoredDir(journal.backupPath)]);
    const message = `${journal.app}: restored ${restoredVersionLabel(journal.version, journal.undid)} (finished an interrupted restore)${leftAlone}`;
    options.log?.warn(message);
    return { action: "restored", app: journal.app, version: journal.version, message };
  }
  if (journal.phase === "committed") {
    await finalizeUpdate(journal);
    const message = `${journal.app}: completed ${journal.toVersion} (the interrupted update had committed)`;
    options.log?.warn(message);
    return {
      action: "completed",
      app: journal.app,
      version: journal.toVersion,
      backupPath: journal.backupPath,
      message,
    };
  }
  await rollBackUpdate(journal);
  const message = `${journal.app}: restored ${restoredVersionLabel(journal.fromVersion, journal.toVersion)} (interrupted update to ${journal.toVersion} undone)`;
  options.log?.warn(message);
  return { action: "rolled-back", app: journal.app, version: journal.fromVersion, message };
}
