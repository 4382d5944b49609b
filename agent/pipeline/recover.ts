/**
 * `ship --recover` (and the first thing a daemon does): finish or undo whatever a killed run left,
 * for every configured app, under each app's lock. Leaves each app fully old or fully new.
 */
import type { AgentConfig } from "../../shared/config/schema.js";
import { ExitCode, errorMessage, LockedError, ShipError } from "../../shared/errors.js";
import type { Logger } from "../../shared/log.js";
import { journalPath } from "../apply/journal.js";
import { rollbackRecordPath } from "../backup/rollback-record.js";
import { endInterruptedCommand, runningCommandFile } from "../exec/running-command.js";
import { acquireAppLock } from "../lock/run-lock.js";
import { checkRecordDir } from "../state/record-file.js";
import { readState } from "../state/state-file.js";
import { lstatOrUndefined } from "../tree/fs-ops.js";
import { defaultPorts } from "./default-ports.js";
import { recordFailedRecovery } from "./failed-recovery.js";
import { checkInterruptedAppDir } from "./interrupted-app-dir.js";
import { removePartialBackups } from "./partial-backup-sweep.js";
import { APP_STATE_WHAT, lockDir, updatePaths } from "./paths.js";
import { resolvePendingUpdate } from "./pending-update.js";
import type { PipelinePorts } from "./ports.js";
import { finishedFirstNote } from "./recovered-first.js";
import { finishedRollback, recoveryOwner } from "./recovery-owner.js";
import { type AppReport, appMessage, combinedExitCode, type RecoveredFirst } from "./report.js";
import { resumeRollback } from "./resume-rollback.js";
import { syncInstalledState } from "./sync-installed.js";

export interface RecoverReport {
  source: string;
  appDir: string;
  exitCode: ExitCode;
  /** What recovery did, or why it could not. */
  detail: string;
  /** What went wrong without changing the outcome: an on_failure that did not arrive. */
  warnings?: string[];
  /** An interrupted update whose files it put back (as a run's report carries it: recovered-first.ts). */
  recovered?: RecoveredFirst;
}

export interface RecoverSummary {
  exitCode: ExitCode;
  apps: RecoverReport[];
  /** Sources a stop (stopRequested) left unrecovered: their next run recovers them. */
  notStarted?: string[];
}

export async function recover(
  config: AgentConfig,
  log: Logger,
  ports: PipelinePorts = defaultPorts(),
  stopRequested: () => boolean = () => false,
  /**
   * Only these sources' app directories (default: all). The config stays whole: a source left out
   * may fill the same directory, and whose leftovers they are is judged among all of them.
   */
  only?: readonly string[],
): Promise<RecoverSummary> {
  const apps: RecoverReport[] = [];
  const notStarted: string[] = [];
  const seen = new Set<string>();
  for (const [first, firstSource] of Object.entries(config.sources)) {
    if (only !== undefined && !only.includes(first)) continue;
    // Two sources may share one app_dir; its journal is recovered once.
    if (seen.has(firstSource.app_dir)) continue;
    seen.add(firstSource.app_dir);
    // A stop finishes the app in hand (never half of a restore) and starts no other.
    if (stopRequested()) {
      notStarted.push(first);
      continue;
    }
    let name = first;
    let source = firstSource;
    let appLog = log.child({ app: name });
    try {
      const lock = await acquireAppLock(lockDir(config), source.app_dir, appLog);
      try {
        const { appStateDir } = updatePaths(config, name, source);
        checkRecordDir(appStateDir, APP_STATE_WHAT);
        // Under the lock: the journal it reads is the one recovered.
        const owner = await recoveryOwner(config, first, firstSource, appStateDir);
        name = owner.name;
        source = owner.source;
        if (name !== first) appLog = log.child({ app: name });
        // Read before anything moves: a damaged state file was found only after the journal's
        // restore, so `--recover` changed the app and then said exit 2, "nothing changed".
        const recorded = await readState(config.general.state_file);
        await checkInterruptedAppDir(
          config,
          name,
          source,
          appStateDir,
          recorded.sources[name]?.pending_update,
        );
        const ended = await endInterruptedCommand(runningCommandFile(appStateDir), appLog);
        const files = await ports.engine.recover({
          appDir: source.app_dir,
          stateDir: appStateDir,
          log: appLog,
        });
        const { action } = files;
        const resumed = await resumeRollback(config, appStateDir, appLog);
        const interrupted = await resolvePendingUpdate({
          config,
          name,
          source,
          ports,
          appStateDir,
          journal: action,
          log: appLog,
        });
        // A finished restore (say, of a killed `ship --rollback`) changed what is installed; with
        // no interrupted update behind it, it was a rollback asked for by name, and is now done.
        const restored = action === "restored" || resumed !== undefined;
        await syncInstalledState(
          config,
          name,
          source,
          new Date(),
          (s) => (restored && interrupted === null ? finishedRollback(resumed?.problems)(s) : s),
          appLog,
        );
        await removePartialBackups(config, name, source, appStateDir, appLog);
        const finished = finishedFirstNote(files, resumed, interrupted !== null);
        const detail =
          [ended, interrupted?.detail, finished].filter((d) => d !== undefined && d !== "").join("; ") ||
          files.detail;
        apps.push({
          source: name,
          appDir: source.app_dir,
          // A failed rollback command exits 1, as `ship --rollback` does (the files are restored).
          exitCode:
            interrupted?.exitCode ??
            (resumed !== undefined && resumed.problems.length > 0
              ? ExitCode.updateFailedRestored
              : ExitCode.ok),
          detail,
          ...warningsOf([...(resumed?.warnings ?? []), ...(interrupted?.warnings ?? [])]),
          ...(interrupted?.recovered === undefined ? {} : { recovered: interrupted.recovered }),
        });
      } catch (error) {
        // Under the lock, before another run reads the state: the app is partly restored.
        if (exitCodeOf(error) === ExitCode.restoreFailed)
          await recordFailedRecovery(config, name, source, errorMessage(error), new Date(), appLog);
        throw error;
      } finally {
        await lock.release();
      }
    } catch (error) {
      const exitCode = exitCodeOf(error);
      const detail = errorMessage(error);
      appLog.error(`recovery failed: ${detail}`);
      apps.push({ source: name, appDir: source.app_dir, exitCode, detail });
    }
  }
  return {
    exitCode: combinedExitCode(apps.map((a) => a.exitCode)),
    apps,
    ...(notStarted.length > 0 ? { notStarted } : {}),
  };
}

/**
 * Recovers what a killed run left for `names` (sources this run does not update: a disabled one,
 * or every one when the once-a-day rule stops the run), and only those that left something: an
 * update or restore journal, an interrupted rollback, a hook, an unverified update. Before, a run
 * killed mid-update stayed a mixed tree when the next `ship` was within min_interval_hours of the
 * last completed run ("ship ran less than 24 h ago", exit 0) or its source was disabled meanwhile
 * ("no sources to run"): only `ship --recover` undid it. Each as the run reports an app.
 */
export async function recoverLeftBehind(
  config: AgentConfig,
  names: readonly string[],
  log: Logger,
  ports: PipelinePorts,
): Promise<AppReport[]> {
  if (names.length === 0) return [];
  const state = await readState(config.general.state_file);
  const left = names.filter((name) => {
    const source = config.sources[name];
    if (source === undefined || source.type === "hub") return false;
    const { appStateDir } = updatePaths(config, name, source);
    const files = [
      journalPath(appStateDir),
      rollbackRecordPath(appStateDir),
      runningCommandFile(appStateDir),
    ];
    return (
      state.sources[name]?.pending_update !== undefined ||
      files.some((file) => lstatOrUndefined(file) !== undefined)
    );
  });
  if (left.length === 0) return [];
  const summary = await recover(config, log, ports, undefined, left);
  // recover() brought the state in line with the install index: the version on disk. A restore that
  // failed left it where it was; one that finished moved it from the state's version before. The
  // report said null for both, read by scripts and the hub as nothing installed.
  const after = (await readState(config.general.state_file).catch(() => undefined))?.sources;
  const versions = (app: RecoverReport) => {
    const now = after?.[app.source]?.current_version ?? null;
    // An interrupted or owed update's recovery takes that update's version out.
    const recorded = state.sources[app.source];
    const before = recorded?.pending_update?.version ?? recorded?.current_version ?? null;
    return { fromVersion: app.exitCode === ExitCode.restoreFailed ? now : before, toVersion: now };
  };
  // An app whose lock a live run holds (a `ship --rollback` of it) is in hand, not left behind.
  return summary.apps
    .filter((app) => app.exitCode !== ExitCode.locked)
    .map((app) => ({
      source: app.source,
      appDir: app.appDir,
      result: RECOVERED_RESULT[app.exitCode] ?? "failed_unchanged",
      exitCode: app.exitCode,
      ...versions(app),
      releaseId: null,
      message: appMessage(app.source, app.detail),
      error: app.exitCode === ExitCode.ok ? null : app.detail,
      manualSteps: [],
      warnings: app.warnings ?? [],
      steps: [],
      merges: [],
      ...(app.recovered === undefined ? {} : { recovered: app.recovered }),
    }));
}

const RECOVERED_RESULT: Partial<Record<ExitCode, AppReport["result"]>> = {
  [ExitCode.ok]: "rolled_back",
  [ExitCode.updateFailedRestored]: "failed_restored",
  [ExitCode.restoreFailed]: "restore_failed",
};

/** A recovery's failure that is not ship's own verdict (an I/O error) may have left the app partly restored. */
function exitCodeOf(error: unknown): ExitCode {
  return error instanceof LockedError || error instanceof ShipError ? error.exitCode : ExitCode.restoreFailed;
}

function warningsOf(warnings: string[]): { warnings?: string[] } {
  return warnings.length === 0 ? {} : { warnings };
}
