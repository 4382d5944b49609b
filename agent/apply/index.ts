/**
 * The crash-safe apply engine (issue 3): plan → backup + journaled apply → recover / restore.
 *
 * How the pipeline uses it, per app, under the run lock:
 *   1. `await recoverApp({ stateDir })` first thing: finishes or undoes a run that was killed
 *      (applyUpdate also does it itself before planning).
 *   2. The source stages the release in a directory ON THE APP'S FILESYSTEM (else every file is
 *      copied, and the log says so). A ReleaseTree needs every file's sha256, size and mode: a source
 *      that extracts an archive records them as it goes; `describeRelease(dir)` stats and hashes a
 *      plain directory (the expensive part for big releases).
 *   3. `const applied = await applyUpdate({...})` plans, computes merges, then moves the old versions
 *      of changed files into a backup changeset and the new ones into the app, under a journal.
 *      Throws before any write: UpdateNotAppliedError (plan conflicts), BadInputError (a config that does
 *      not parse for a merge). A filesystem error mid-apply is undone at once → UpdateFailedError;
 *      if undoing fails too → RestoreFailedError.
 *   4. Once the update stands (its checks passed): `keepNewestBackups` prunes to keep_backups.
 *      If a later step fails instead: `await restoreBackup({ backupPath: applied.backup.path })` puts back
 *      the pre-update bytes (journaled too) and consumes the backup. It throws plain errors; the
 *      pipeline wraps them in RestoreFailedError (exit 3). A killed restore is finished by recoverApp.
 * `listBackups`, `findBackup` and `rollbackTo` serve `ship --list-backups` and `ship --rollback ID|PATH`.
 * Fault points (SHIP_FAULT): apply:journal-written, apply:file (after each file op),
 * apply:before-commit, apply:committed, apply:finalize, recover:file, restore:file, restore:before-finalize,
 * copy:before-rename (a copy across filesystems written, not yet renamed over its target).
 */

export type { BackupInfo } from "../backup/backup-store.js";
export { findBackup, listBackups } from "../backup/backup-store.js";
export type { RestoreResult } from "../backup/restore.js";
export { restoreBackup } from "../backup/restore.js";
export type { RollbackResult } from "../backup/rollback-to.js";
export { rollbackTo } from "../backup/rollback-to.js";
export { describeRelease } from "../tree/release-tree.js";
export type { AppliedUpdate, ApplyUpdateInput } from "./apply-update.js";
export { applyUpdate } from "./apply-update.js";
export { checkImmutable } from "./check-immutable.js";
export { checkMergeInputs } from "./check-merge-inputs.js";
export { checkPathTypes } from "./check-path-types.js";
export { keepNewestBackups } from "./finalize-update.js";
export { readInstallIndex } from "./install-index.js";
export type { PlanInput } from "./plan.js";
export { filesToHash, planUpdate, summarizePlan } from "./plan.js";
export type { RecoveryResult } from "./recover.js";
export { recoverApp } from "./recover.js";
export type {
  IndexedFile,
  InstallIndex,
  PlanStep,
  PlanSummary,
  ReleaseEntry,
  ReleaseTree,
  TreeEntry,
  TreeScan,
  UpdatePlan,
} from "./types.js";
