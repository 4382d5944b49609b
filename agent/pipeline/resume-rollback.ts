/**
 * Recovery's second half for a rollback across several backups: once the engine has finished (or
 * found no) restore journal, a rollback record left by a killed `ship --rollback` means the app sits
 * on a version between the one it had and the one asked for. The rest of the chain is restored as
 * `ship --rollback` would have (the undone releases' hooks too, unless it ran with --no-hooks).
 */
import type { AgentConfig } from "../../shared/config/schema.js";
import { errorMessage, restoredVersionLabel } from "../../shared/errors.js";
import type { Logger } from "../../shared/log.js";
import { dropUndoneRelease } from "../apply/undone-release.js";
import { sourceOfBackup } from "../backup/backup-owner.js";
import { type BackupInfo, listBackups } from "../backup/backup-store.js";
import { undoneLinksWarning } from "../backup/restore-links.js";
import {
  clearCommandsDue,
  type RollbackRecord,
  readRollbackRecord,
  releaseBeingUndone,
  removeRollbackRecord,
} from "../backup/rollback-record.js";
import { rollbackTo } from "../backup/rollback-to.js";
import { appTrashDir } from "../backup/trash.js";
import { leftAloneNote } from "../backup/unrestored.js";
import { runningCommandFile } from "../exec/running-command.js";
import { failedRollbackCommands } from "./rollback-commands.js";
import { DEFAULT_COMMAND_TIMEOUT_SECONDS, runCommands } from "./run-commands.js";
import { undoWithHooks } from "./undo-release.js";

export interface ResumedRollback {
  /** One line: what was finished, e.g. "finished the interrupted rollback to 1.0.0 (1 more backup restored)". */
  detail: string;
  /** Failed rollback commands' reasons (the files are restored). */
  problems: string[];
  /** Backups restored by the resumption (0: the killed run had restored the target already). */
  restored: number;
  /** Whether it ran rollback commands the killed run owed (`detail` says so). */
  ranCommands: boolean;
  /** What the resumed restores say as `ship --rollback` does (files whose other names keep the undone content). */
  warnings: string[];
}

/**
 * Undefined when no chained rollback was interrupted. Errors: those of rollbackTo (a restore that
 * cannot start or stops half-way), with the record kept as rollbackTo keeps it.
 */
export async function resumeRollback(
  config: AgentConfig,
  appStateDir: string,
  log: Logger,
): Promise<ResumedRollback | undefined> {
  const record = await readRollbackRecord(appStateDir);
  if (record === undefined) return undefined;
  const label = restoredVersionLabel(record.version, record.undid);
  // Where this config keeps backups now: a backup_dir moved since the kill (the record names the old
  // one) found no backup there, and "finished" a rollback that had stopped on a version in between.
  const backupRoot = config.general.backup_dir;
  const left = await listBackups(backupRoot, record.app, record.appDir);
  // The target is consumed by its own restore: if it is gone, the killed run's last restore (or the
  // engine's finishing of its journal) already brought it back.
  const due = await runCommandsDue(record, left, appStateDir, log);
  const target = left.find((b) => b.id === record.targetId);
  if (target === undefined) {
    // Killed during the last restore's rollback hooks (ended, not run again): the hard-linked copy
    // they ran in held the whole undone release's disk until the next rollback replaced it.
    await dropUndoneRelease(releaseBeingUndone(appStateDir)).catch((error: unknown) =>
      log.warn(
        `could not remove the undone release's copy: ${errorMessage(error)}; the next rollback replaces it`,
      ),
    );
    await removeRollbackRecord(appStateDir);
    return {
      detail: `finished the interrupted rollback to ${label}${due.note}${failedNote(due.problems)}`,
      problems: due.problems,
      restored: 0,
      ranCommands: due.note !== "",
      warnings: [],
    };
  }
  log.warn(`resuming the interrupted rollback to ${label}`, { backup: record.targetId });
  const owner = sourceOfBackup(config.sources, target);
  const problems: string[] = [...due.problems];
  // rollbackTo drops the record once the chain is done (and keeps it as it keeps it on failure).
  const result = await rollbackTo({
    backupRoot,
    target,
    // The app's record where this config keeps it, not where the backup was made (rollback.ts).
    stateDir: appStateDir,
    log,
    hooks: record.hooks,
    around: undoWithHooks({ config, log, hooks: record.hooks, problems }),
    // The trash that source's runs empty (rollback.ts), not the old name's a backup was made under.
    ...(owner === undefined ? {} : { trash: appTrashDir(backupRoot, owner.name), source: owner.name }),
  });
  const more = result.restored.length;
  const linked = result.restored.flatMap((r) => r.linked);
  const leftAlone = leftAloneNote(
    result.restored.flatMap((r) => [...r.outside, ...r.displaced, ...r.kept]),
    result.restored
      .filter((r) => r.outside.length + r.displaced.length + r.kept.length > 0)
      .map((r) => r.oldVersions),
  );
  return {
    detail: `finished the interrupted rollback to ${label} (${more} more backup${more === 1 ? "" : "s"} restored)${leftAlone}${due.note}${failedNote(problems)}`,
    problems,
    restored: more,
    ranCommands: due.note !== "",
    // The killed run's restores said nothing (it was killed): the resumed ones say it, or no one does.
    warnings: linked.length === 0 ? [] : [undoneLinksWarning(linked)],
  };
}

/**
 * Its line says which failed: the run exits 1 for them, and said only "finished the interrupted
 * rollback", the reason in ship.log alone.
 */
function failedNote(problems: readonly string[]): string {
  const failed = failedRollbackCommands(problems);
  return failed === undefined ? "" : `; ${failed}`;
}

/**
 * The rollback commands a killed run owed: its restore was done (the backup is consumed) but they
 * had not started. They run in the app directory (the undone release's files are gone).
 */
async function runCommandsDue(
  record: RollbackRecord,
  left: readonly BackupInfo[],
  appStateDir: string,
  log: Logger,
): Promise<{ note: string; problems: string[] }> {
  const due = record.commandsDue;
  if (due === undefined || left.some((b) => b.id === due.backupId)) return { note: "", problems: [] };
  log.warn(`running ${due.version}'s rollback commands, which the interrupted rollback had not started`);
  const problems = await runCommands(due.commands, {
    cwd: record.appDir,
    env: {
      app: record.app,
      version: due.version,
      previousVersion: due.previousVersion ?? "",
      appDir: record.appDir,
    },
    log,
    recordFile: runningCommandFile(appStateDir),
    defaultTimeoutSeconds: DEFAULT_COMMAND_TIMEOUT_SECONDS,
    stopAtFirstFailure: false,
  });
  await clearCommandsDue(appStateDir);
  return { note: `; ran ${due.version}'s rollback commands it had not started`, problems };
}
