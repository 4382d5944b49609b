/**
 * The crash-safe apply engine (issue 3): plan → backup + journaled apply → recover / restore.
 *
 * How the pipeline uses it, per app, under the run lock:
 *   1. `await recoverApp({ appDir, stateDir })` first thing: finishes or undoes a run that was killed.
 *   2. The source stages the release in a directory ON THE APP'S FILESYSTEM; `describeRelease(dir)`
 *      hashes it unless the source already has the hashes.
 *   3. `const applied = await applyUpdate({...})` plans, computes merges, then moves the old versions
 *      of changed files into a backup changeset and the new ones into the app, under a journal.
 *      Throws UpdateFailedError (nothing written) when the plan has conflicts or a merge fails.
 *   4. If a later step fails: `await restoreBackup({ appDir, stateDir, backupPath: applied.backup.path })`
 *      puts back the pre-update bytes (journaled too) and consumes the backup.
 * `listBackups`, `findBackup` and `rollbackTo` serve `ship --list-backups` and `ship --rollback ID|PATH`.
 */

export type { BackupInfo } from "../backup/backup-store.js";
export { findBackup, listBackups } from "../backup/backup-store.js";
export type { RestoreResult, RollbackResult } from "../backup/restore.js";
export { restoreBackup, rollbackTo } from "../backup/restore.js";
export { describeRelease } from "../tree/release-tree.js";
export type { AppliedUpdate, ApplyUpdateInput } from "./apply-update.js";
export { applyUpdate } from "./apply-update.js";
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
