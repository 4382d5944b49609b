/**
 * One source, start to end, under its app lock: recover a killed run, ask the source whether there
 * is a release, run the pipeline, finalize. Everything that goes wrong becomes a report, never a
 * throw, so one broken source does not stop the others.
 */

import { readdir, rm } from "node:fs/promises";
import { join } from "node:path";
import type { AgentConfig, Source } from "../../shared/config/schema.js";
import { ExitCode, errorMessage, LockedError, ShipError } from "../../shared/errors.js";
import { errnoCode, fsErrorText } from "../../shared/fs-errors.js";
import type { Logger } from "../../shared/log.js";
import { indexMismatch, readInstallIndexHeader, readSavedIndexHeader } from "../apply/install-index.js";
import { readJournal } from "../apply/journal.js";
import { dropUndoneRelease } from "../apply/undone-release.js";
import { checkSourceBackupDirs } from "../backup/backup-dirs.js";
import { PREVIOUS_INDEX_FILE } from "../backup/record-names.js";
import { readRollbackRecord, releaseBeingUndone } from "../backup/rollback-record.js";
import { startEmptyingTrash, trashWarning } from "../backup/trash.js";
import { endInterruptedCommand, runningCommandFile } from "../exec/running-command.js";
import { acquireAppLock, type HeldLock } from "../lock/run-lock.js";
import { namingConfigFile } from "../sources/config-file-errors.js";
import type { ReleaseSource } from "../sources/types.js";
import { checkRecordDir } from "../state/record-file.js";
import { readState, updateSourceState } from "../state/state-file.js";
import { ownerOnlyDir } from "../tree/fs-ops.js";
import { sourceScratch } from "./check-scratch.js";
import { checkSourceFiles } from "./configured-files.js";
import type { UpdateContext, UpdatePaths, UpdateSettings } from "./context.js";
import { recordFailedRecovery } from "./failed-recovery.js";
import { logFailure } from "./failure-log.js";
import { finalizeUpdate, type InstalledRelease } from "./finalize.js";
import { setIndexAside } from "./index-set-aside.js";
import { pruneByInstalledRules, rememberPruneRules } from "./installed-prune-rules.js";
import {
  lastInstalledVersion,
  noneInstalledNote,
  readInstalledId,
  readInstalledRelease,
} from "./installed-release.js";
import { checkInterruptedAppDir } from "./interrupted-app-dir.js";
import { removeLeftovers } from "./leftovers.js";
import { removePartialBackups } from "./partial-backup-sweep.js";
import { APP_STATE_WHAT, lockDir, updatePaths } from "./paths.js";
import { dropPendingManifest } from "./pending-manifest.js";
import { awaitingRecovery, type PendingResolution, resolvePendingUpdate } from "./pending-update.js";
import type { PipelinePorts } from "./ports.js";
import { finishedFirstNote, sayFinishedFirst, sayRecovered } from "./recovered-first.js";
import { finishedRollback, recoveryOwner } from "./recovery-owner.js";
import { type AppReport, appMessage, type RecoveredFirst } from "./report.js";
import { resumeRollback } from "./resume-rollback.js";
import { wouldStopBeforeInstalling } from "./rollout-hold.js";
import { runAppUpdate, stoppedOnPurpose } from "./run-app-update.js";
import { rememberManifestWarnings } from "./said-manifest-warnings.js";
import { syncInstalledState, syncSharingSources } from "./sync-installed.js";

export interface SourceRunOptions {
  checkOnly: boolean;
  /** ship.toml's path, for messages about the files its keys name (default "ship.toml"). */
  configFile?: string;
  log: Logger;
  ports: PipelinePorts;
  settings: UpdateSettings;
  notifyRetryDelayMs?: number;
  notifyMaxTimeoutMs?: number;
  /**
   * Whether a failed check is recorded in the state file (default true: `--status` of a timer run).
   * The daemon passes false: its outcome goes to the hub in the report, and a release server that
   * is away is waited for, recording nothing meanwhile (carry-out.ts).
   */
  recordFailedCheck?: boolean;
  /** Notifications handed over to be sent after the report (finalize.ts); absent: sent before. */
  notifyAfter?: (send: () => Promise<string[]>) => void;
}

export async function runSource(
  config: AgentConfig,
  name: string,
  source: Source,
  options: SourceRunOptions,
): Promise<AppReport> {
  const said: Said = {};
  // Every way the run ends after its recovery (up to date, refused, skipped, a failed fetch) says it.
  const first = await runSourceOnce(config, name, source, options, said);
  // The index set aside (it no longer described app_dir): the run again installs the release.
  const report =
    "setAside" in first ? await runSourceOnce(config, name, source, options, said, first.setAside) : first;
  // A pass given setAside never sets the index aside again.
  if ("setAside" in report) throw new Error(`${name}: the install index was set aside twice`);
  return sayWhatCameFirst(report, said);
}

/** What the run's recover-first step did, for its report whichever way the run ends. */
interface Said {
  recovered?: RecoveredFirst;
  /** A killed `--rollback` or restore it finished (recovered-first.ts). */
  finished?: string;
}

/** The report with what the recover-first step moved before the run's own outcome (recovered-first.ts). */
function sayWhatCameFirst(report: AppReport, said: Said): AppReport {
  return sayFinishedFirst(sayRecovered(report, said.recovered), said.finished);
}

async function runSourceOnce(
  config: AgentConfig,
  name: string,
  source: Source,
  options: SourceRunOptions,
  said: Said,
  setAside?: string,
): Promise<AppReport | { setAside: string }> {
  const log = options.log.child({ app: name });
  // The on_failure of an update a killed run left, sent by the recovery that starts this run, that
  // did not arrive: a WARNING of this run, as the update's own would have been. And why the run's
  // first pass set the install index aside (index-set-aside.ts).
  const recoveryWarnings: string[] = setAside === undefined ? [] : [setAside];
  const bare = (fields: Pick<AppReport, "result" | "exitCode" | "message" | "error">): AppReport => ({
    source: name,
    appDir: source.app_dir,
    fromVersion: null,
    toVersion: null,
    releaseId: null,
    manualSteps: [],
    warnings: [...recoveryWarnings],
    steps: [],
    merges: [],
    ...fields,
  });

  const configured = updatePaths(config, name, source);
  // A check creates none of ship's directories (check-scratch.ts).
  const scratch = options.checkOnly
    ? await sourceScratch(lockDir(config), configured.sourceStateDir)
    : undefined;
  let lock: HeldLock;
  try {
    lock = await acquireAppLock(
      scratch?.lockDir ?? lockDir(config),
      source.app_dir,
      log,
      scratch === undefined,
    );
  } catch (error) {
    await scratch?.remove();
    if (!(error instanceof ShipError)) throw error;
    logFailure(log, options.settings, error, error.message);
    if (!(error instanceof LockedError)) {
      // The lock file could not be written (a full disk): nothing was done.
      return bare({
        result: "failed_unchanged",
        exitCode: error.exitCode,
        message: error.message,
        error: error.message,
      });
    }
    return bare({
      result: "refused",
      exitCode: ExitCode.locked,
      message: error.message,
      error: error.message,
    });
  }
  const paths =
    scratch === undefined ? configured : { ...configured, sourceStateDir: scratch.sourceStateDir };
  let staged = false;
  /** The source's cache writes, made when the run ends unless it refused the input (types.ts). */
  const cacheWrites: (() => Promise<void>)[] = [];
  let refused = false;
  /** While the source is asked for a release: a failure there is recorded as the run's (recordFailedCheck). */
  let checking = false;
  /** Closed when the run ends: a check may hold its answer open for a fetch that never came. */
  let checkedSource: ReleaseSource | undefined;
  /** The trash's emptying, begun before the check (startEmptyingTrash); finishTrash waits for it once. */
  let trashEmptied: (() => Promise<void>) | undefined;
  /**
   * The version on disk and the one the run goes to, once known: a run or check that fails after
   * reading them names them (a failed update's report names the version on disk). Its `--json` said
   * "fromVersion": null, "toVersion": null of a check refused by what stood in the release's way,
   * read by scripts as nothing installed, where the run's own report of that refusal named both.
   */
  const known: { from: string | null; to: string | null; ctx?: UpdateContext } = { from: null, to: null };
  let trashFinished = false;
  const finishTrash = async () => {
    if (trashEmptied === undefined || trashFinished) return;
    trashFinished = true;
    await trashEmptied().catch((error: unknown) => log.warn(trashWarning(error)));
  };
  try {
    const { ports } = options;
    checkRecordDir(paths.appStateDir, APP_STATE_WHAT);
    // A check applies nothing, not even a recovery; the next real run recovers first.
    /**
     * The owed restore failed again, or a killed run's restore or update could not be finished: the
     * app keeps what it could not take out. The state follows the install index (a killed run's
     * recovery: the state still named the version before the update, or the last update's
     * `updated`), and the report names that version as both ends: it said "fromVersion": null, read
     * by scripts and the hub as nothing installed.
     */
    const restoreStillFailed = async (detail: string, record: boolean): Promise<AppReport> => {
      const now = options.settings.now();
      const onDisk = record
        ? await recordFailedRecovery(config, name, source, detail, now, log)
        : await syncInstalledState(config, name, source, now, undefined, log)
            .then((synced) => synced.version)
            .catch((error: unknown) => {
              log.warn(`state not brought in line with the install index: ${errorMessage(error)}`);
              return null;
            });
      return {
        ...bare({
          result: "restore_failed",
          exitCode: ExitCode.restoreFailed,
          message: appMessage(name, detail),
          error: detail,
        }),
        fromVersion: onDisk,
        toVersion: onDisk,
      };
    };
    let interrupted: PendingResolution | null = null;
    try {
      const first = options.checkOnly
        ? undefined
        : await recoverFirst(config, name, source, ports, paths.appStateDir, log);
      interrupted = first?.interrupted ?? null;
      if (first?.finished !== undefined) said.finished = first.finished;
    } catch (error) {
      // As `ship --recover` takes it: what stopped a recovery that is not ship's own verdict (an I/O
      // error) may have left the app partly restored.
      if (error instanceof ShipError && error.exitCode !== ExitCode.restoreFailed) throw error;
      const detail = errorMessage(error);
      logFailure(log, options.settings, error, appMessage(name, detail));
      return await restoreStillFailed(detail, true);
    }
    recoveryWarnings.push(...(interrupted?.warnings ?? []));
    if (interrupted?.recovered !== undefined) said.recovered = interrupted.recovered;
    // Its own record of the failure is the pending update's (pending-update.ts).
    if (interrupted?.exitCode === ExitCode.restoreFailed)
      return await restoreStillFailed(interrupted.detail, false);
    // Each configured source's place in backup_dir, before this run changes anything (a killed
    // run's recovery, above, only puts back what that run left): a file there made the update fail
    // at its backup ("ENOTDIR … mkdir"), after its pre_update hooks had run and its state recorded a
    // failed update. The same refusal as `--list-backups` and `--rollback` (exit 2).
    await checkSourceBackupDirs(config.general.backup_dir, Object.keys(config.sources));
    // After recovery, under the lock: what a run killed while making its backup left, that nothing
    // names and nothing else removes (partial-backups.ts).
    if (!options.checkOnly) await removePartialBackups(config, name, source, paths.appStateDir, log);
    // What earlier restores took out of the app waits in its trash for this run (trash.ts): an
    // interactive `ship --rollback` does not free it, and a run with nothing to do still does. A
    // child empties it while the check reads the release; the run waits for it right after.
    if (!options.checkOnly) trashEmptied = startEmptyingTrash(config.general.backup_dir, name);
    // A restore the state file did not hear of (finished by recovery, or a rollback elsewhere):
    // the state and the source's record follow the install index before anything is decided.
    // The version the state named before the sync: with the install index deleted the sync forgets
    // it, and the run then said "the state file and the install index are gone" of a state file
    // that was there.
    const namedBefore = (await readState(config.general.state_file)).sources[name]?.current_version ?? null;
    if (!options.checkOnly)
      await syncInstalledState(config, name, source, options.settings.now(), undefined, log);
    const sourceState = (await readState(config.general.state_file)).sources[name];
    // A check does not sync the state with the install index as a run does: with the state file
    // deleted it compared with no version and said "the install index is gone" of one that was there.
    const currentVersion =
      sourceState?.current_version ??
      (options.checkOnly ? ((await readInstalledId(paths.appStateDir, sourceState))?.version ?? null) : null);
    known.from = currentVersion;
    const waiting = options.checkOnly
      ? await awaitingRecovery(sourceState?.pending_update, paths.appStateDir, sourceState)
      : undefined;
    const checked = (detail: string) =>
      appMessage(name, waiting === undefined ? detail : `${detail} — but ${waiting.note}`);
    // A killed update's recovery puts back the release the state file still names (finalize, which
    // moves both, never ran); a killed rollback's or restore's, the one its target backup's saved
    // index names (rollbackTarget).
    // The check compares with that release, as the run will once it has recovered: comparing
    // versions missed it for a source whose candidate is no version (a local archive's sha256, a
    // git commit), and said "update available 2.0.0 -> sha256:…", exit 100, where the run then said
    // "up to date (2.0.0)".
    const pending = sourceState?.pending_update;
    const restored =
      waiting === undefined
        ? undefined
        : pending?.from != null &&
            sourceState?.release_id != null &&
            sourceState.current_version === pending.from
          ? { version: pending.from, releaseId: sourceState.release_id }
          : pending === undefined
            ? await rollbackTarget(paths.appStateDir)
            : undefined;
    await checkSourceFiles(config, name, source, options.configFile ?? "ship.toml");
    const noneInstalled = await noneInstalledNote(
      currentVersion ?? namedBefore,
      config.general.backup_dir,
      source.app_dir,
      Object.keys(config.sources),
    );
    const releaseSource = namingConfigFile(
      ports.openSource(name, source, {
        stateDir: paths.sourceStateDir,
        ...(options.checkOnly ? { readOnly: true, fetchFollows: true } : {}),
        deferCacheWrite: (write) => cacheWrites.push(write),
        log,
        installed: () => readInstalledRelease(paths.appStateDir, source.app_dir, sourceState),
        installedId: async () => restored ?? readInstalledId(paths.appStateDir, sourceState),
        ...(noneInstalled === undefined ? {} : { noneInstalled }),
      }),
      options.configFile,
    );
    checkedSource = releaseSource;
    checking = true;
    const check = await releaseSource.check();
    checking = false;
    known.to = check.candidate ?? null;
    await finishTrash();
    log.info(check.detail, {
      available: check.available,
      current: check.current,
      candidate: check.candidate,
    });
    // What a check found installed, recovery takes out: the run installs it again (exit 100), and
    // an update goes from the version recovery leaves, not from the one it takes out. A check made
    // against the restored release (above) needs none of this: it is the run's own comparison.
    const reinstalled = restored === undefined ? waiting?.takesOut : undefined;
    const from = waiting?.leaves ?? "(nothing installed)";
    const upToDateAfterRecovery = (version: string): AppReport => ({
      ...bare({
        result: "up_to_date",
        exitCode: ExitCode.ok,
        message: checked(`${name}: up to date (${version})`),
        error: null,
      }),
      fromVersion: version,
    });
    // The source offers what recovery puts back (the operator pointed it at the previous release,
    // or a killed rollback's target): the run recovers, then finds it up to date.
    if (reinstalled !== undefined && waiting?.leaves != null && check.candidate === waiting.leaves)
      return upToDateAfterRecovery(waiting.leaves);
    if (!check.available && restored !== undefined) return upToDateAfterRecovery(restored.version);
    if (!check.available && reinstalled !== undefined) {
      return {
        ...bare({
          result: "update_available",
          exitCode: ExitCode.updateAvailable,
          message: checked(`${name}: update available ${from} -> ${check.candidate ?? reinstalled}`),
          error: null,
        }),
        fromVersion: waiting?.leaves ?? null,
        toVersion: check.candidate ?? reinstalled,
      };
    }
    const offeredBy = (detail: string) =>
      reinstalled === undefined
        ? detail
        : detail.replace(`available ${reinstalled} -> `, `available ${from} -> `);
    const offered = offeredBy(check.detail);
    // Up to date by the index, which may no longer describe app_dir (deleted, emptied, replaced):
    // a check says the run installs the release again; the run sets the index aside and does.
    const stale =
      check.available || setAside !== undefined
        ? undefined
        : await indexMismatch(paths.appStateDir, source.app_dir);
    if (stale !== undefined) {
      const again = check.candidate ?? currentVersion ?? "the release";
      if (!options.checkOnly) return { setAside: await setIndexAside(paths.appStateDir, stale, again, log) };
      return {
        ...bare({
          result: "update_available",
          exitCode: ExitCode.updateAvailable,
          message: checked(`${name}: update available (${stale}) -> ${again} again`),
          error: null,
        }),
        fromVersion: currentVersion,
        toVersion: check.candidate ?? currentVersion,
      };
    }
    if (!check.available) {
      if (!options.checkOnly) {
        await updateSourceState(config.general.state_file, name, (s) => ({
          ...s,
          last_result: "up_to_date",
          last_error: null,
        }));
        await pruneByInstalledRules(source.app_dir, paths.appStateDir, options.settings.now(), log);
      }
      return {
        ...bare({
          result: "up_to_date",
          exitCode: ExitCode.ok,
          message: checked(check.detail),
          error: null,
        }),
        fromVersion: currentVersion,
      };
    }
    staged = true;
    await rm(paths.stagingDir, { recursive: true, force: true });
    // Owner-only: the release's files wait here, out of the app directory whose mode may guard them.
    await ownerOnlyDir(paths.stagingDir);
    const fromVersion = waiting?.leaves !== undefined ? waiting.leaves : currentVersion;
    const lastInstalled =
      fromVersion === null
        ? await lastInstalledVersion(
            namedBefore,
            config.general.backup_dir,
            source.app_dir,
            Object.keys(config.sources),
          )
        : undefined;
    const ctx: UpdateContext = {
      app: name,
      source,
      config,
      ports,
      releaseSource,
      settings: options.settings,
      paths,
      log,
      // A check compares with what recovery leaves, as the run will after recovering (a downgrade
      // from the version a killed run installed is none from the one recovery puts back).
      currentVersion: fromVersion,
      ...(lastInstalled === undefined ? {} : { lastInstalled }),
      ...(fromVersion === null && (await emptyOrMissing(source.app_dir)) ? { freshInstall: true } : {}),
      warnings: [...recoveryWarnings],
    };
    known.from = fromVersion;
    known.ctx = ctx;
    if (options.checkOnly) {
      const stop = await wouldStopBeforeInstalling(ctx);
      // The fetch has read what the check could not name: checking again names it from that read.
      const named =
        stop === undefined && check.namedByFetch === true
          ? offeredBy((await releaseSource.check()).detail)
          : offered;
      return {
        ...bare(
          stop === undefined
            ? {
                result: "update_available",
                exitCode: ExitCode.updateAvailable,
                message: checked(named),
                error: null,
              }
            : stop.step.kind === "rollout"
              ? {
                  result: "skipped",
                  exitCode: ExitCode.ok,
                  message: checked(stop.outcome.message),
                  error: null,
                }
              : stop.outcome.result === "up_to_date"
                ? // Found installed by the fetch's read (namedByFetch): said as the check would have said it.
                  { ...stoppedOnPurpose(ctx, stop.outcome), message: checked(stop.outcome.message) }
                : stoppedOnPurpose(ctx, stop.outcome),
        ),
        fromVersion: currentVersion,
        toVersion: ctx.manifest?.version ?? check.candidate ?? null,
        warnings: ctx.warnings,
      };
    }
    const attempted = await runAppUpdate(ctx);
    refused = attempted.exitCode === ExitCode.badInput;
    // Recorded and notified as the run ends: a refusal (exit 2) records nothing, so the state keeps
    // the recovery's own failed_restored; any other outcome is recorded with the restore said.
    const report = refused ? attempted : sayWhatCameFirst(attempted, said);
    // Before the state is written: a partial download may be what fills the disk.
    await discardLeftovers(paths, log);
    // An attempt the caller makes again is recorded and notified by the attempt that ends it.
    if (report.retriedLater !== true)
      await finalizeUpdate({
        report,
        stateFile: config.general.state_file,
        ...(report.result === "restore_failed" ? { onDisk: await versionOnDisk(paths.appStateDir) } : {}),
        manifest: ctx.manifest,
        release: ctx.release,
        releaseSource,
        now: options.settings.now(),
        log,
        ...(options.notifyRetryDelayMs === undefined
          ? {}
          : { notifyRetryDelayMs: options.notifyRetryDelayMs }),
        ...(options.notifyMaxTimeoutMs === undefined
          ? {}
          : { notifyMaxTimeoutMs: options.notifyMaxTimeoutMs }),
        ...(options.notifyAfter === undefined ? {} : { notifyAfter: options.notifyAfter }),
      });
    // Another source filling this app_dir: what it installed was replaced (or restored) here.
    await syncSharingSources(config, name, source, options.settings.now(), log).catch((error: unknown) =>
      log.warn(`state not brought in line with the install index: ${errorMessage(error)}`),
    );
    // The pending record is cleared unless a restore is still owed: its manifest copy goes with it.
    if (report.result !== "restore_failed")
      await dropPendingManifest(paths.appStateDir).catch((error: unknown) => log.warn(errorMessage(error)));
    await keepPruning(report, ctx, options.settings.now());
    return report;
  } catch (error) {
    // Recovery, the check or the state file failed: nothing of the release was applied.
    const message = errorMessage(error);
    const exitCode = error instanceof ShipError ? error.exitCode : ExitCode.updateFailedRestored;
    refused = exitCode === ExitCode.badInput;
    logFailure(log, options.settings, error, appMessage(name, message));
    const failed: AppReport = {
      ...bare({
        result: exitCode === ExitCode.restoreFailed ? "restore_failed" : "failed_unchanged",
        exitCode,
        message: appMessage(name, message),
        error: message,
      }),
      // A restore that failed names no version it reached (restoreStillFailed names the one on disk).
      ...(exitCode === ExitCode.restoreFailed
        ? {}
        : {
            fromVersion: known.from,
            // The fetched manifest's version, as the run's report names it; else what the check offered.
            toVersion: known.ctx?.manifest?.version ?? known.to,
          }),
      // The check's unreachable release, as the fetch's (handle-failure.ts): the caller's to retry.
      ...(options.settings.retriedLater?.(error) === true ? { retriedLater: true as const } : {}),
    };
    const report = refused ? failed : sayWhatCameFirst(failed, said);
    if (checking && !options.checkOnly && !refused && options.recordFailedCheck !== false)
      await recordFailedCheck(config.general.state_file, report, log);
    return report;
  } finally {
    // A run that ended before its check still waits for the trash (and says what stayed in it).
    await finishTrash();
    await checkedSource?.close?.();
    if (!refused) for (const write of cacheWrites) await write();
    // A check that fetched the release (to read its rollout) keeps nothing of it either.
    if (!options.checkOnly || staged) await discardLeftovers(paths, log);
    await lock.release();
    await scratch?.remove();
  }
}

/**
 * A source that could not be asked (a server error, a refused connection, a remote gone) fails the
 * run as a failed fetch does, and is recorded as one: the state's last_error said nothing of it, so
 * `--status` showed the last good run's result. A refusal for bad input records nothing (finalize.ts).
 */
async function recordFailedCheck(stateFile: string, report: AppReport, log: Logger): Promise<void> {
  try {
    await updateSourceState(stateFile, report.source, (s) => ({
      ...s,
      // A check changes nothing: what moved was the recovery's before it (sayRecovered).
      last_result: report.result === "failed_restored" ? "failed_restored" : "failed_unchanged",
      last_error: report.error,
    }));
  } catch (error) {
    report.stateNotRecorded = errorMessage(error);
    log.error("could not record the outcome in the state file", {
      stateFile,
      error: report.stateNotRecorded,
    });
  }
}

/**
 * cleanup_old outlives the update: an installed release's rules are remembered, and a run that stops
 * on purpose before installing still prunes by the rules of what is installed.
 */
async function keepPruning(report: AppReport, ctx: UpdateContext, now: Date): Promise<void> {
  if ((report.result === "updated" || report.result === "failed_not_rolled_back") && ctx.manifest) {
    // Only now that the update stands: at its commit, one whose checks then failed had pruned the
    // backups the restored version rolls back with.
    if (ctx.applied !== undefined)
      await ctx.ports.engine.keepBackups({
        app: ctx.app,
        appDir: ctx.source.app_dir,
        stateDir: ctx.paths.appStateDir,
        backupDir: ctx.config.general.backup_dir,
        keep: ctx.manifest.rollback.keep_backups,
        backupPath: ctx.applied.backupPath,
        installed: ctx.manifest.version,
        log: ctx.log,
      });
    await rememberPruneRules(ctx.paths.appStateDir, ctx.manifest).catch((error: unknown) =>
      ctx.log.warn("could not remember the release's cleanup_old rules", { error: String(error) }),
    );
    await rememberManifestWarnings(ctx.paths.appStateDir, ctx.manifestWarnings ?? []).catch(
      (error: unknown) =>
        ctx.log.warn("could not remember the manifest's warnings", { error: String(error) }),
    );
  } else if (report.result === "skipped" || report.result === "manual_intervention_required") {
    await pruneByInstalledRules(ctx.source.app_dir, ctx.paths.appStateDir, now, ctx.log);
  }
}

/**
 * The engine's journal first (fully old or fully new), then a rollback across several backups that
 * was killed between two restores, then an update the pipeline never finished.
 */
async function recoverFirst(
  config: AgentConfig,
  name: string,
  source: Source,
  ports: PipelinePorts,
  appStateDir: string,
  log: Logger,
): Promise<{ interrupted: PendingResolution | null; finished: string | undefined }> {
  // A damaged state file stops the run before recovery moves anything (exit 2 says nothing changed).
  const recorded = await readState(config.general.state_file);
  await checkInterruptedAppDir(config, name, source, appStateDir, recorded.sources[name]?.pending_update);
  // A hook of the killed run may still be running; no command runs again while it does.
  const ended = await endInterruptedCommand(runningCommandFile(appStateDir), log);
  if (ended !== undefined) log.warn(ended);
  const owner = await recoveryOwner(config, name, source, appStateDir);
  const recovery = await ports.engine.recover({ appDir: source.app_dir, stateDir: appStateDir, log });
  log.debug("recovery", { detail: recovery.detail });
  const resumed = await resumeRollback(config, appStateDir, log);
  if (resumed !== undefined) {
    log.warn(resumed.detail, { problems: resumed.problems });
    for (const warning of resumed.warnings) log.warn(warning);
  }
  // The interrupted update is the source's that ran it: in an app_dir another source fills too, the
  // other's run undid its files ("restored 5.0.0 (interrupted update to 2.0.0 undone)") and left its
  // pending update, which a later `--recover` then called "interrupted; the app's files were not
  // changed", running its rollback commands long after the restore.
  const pendingOf =
    owner.shared && owner.named && owner.name !== name && !(await hasPendingUpdate(config, name))
      ? owner
      : { name, source };
  const resolved = await resolvePendingUpdate({
    config,
    name: pendingOf.name,
    source: pendingOf.source,
    ports,
    appStateDir,
    journal: recovery.action,
    log,
  });
  // A rollback a kill cut short, finished here, in an app_dir another source fills too: the source
  // that rolled back (this one or the other, as the journal names it) records the rollback; the
  // sync of the running source then only follows the index.
  if (
    (recovery.action === "restored" || resumed !== undefined) &&
    resolved === null &&
    owner.shared &&
    owner.named
  )
    await syncInstalledState(
      config,
      owner.name,
      owner.source,
      new Date(),
      finishedRollback(resumed?.problems),
      log,
    );
  // The copy a rollback's commands ran in is never read by a later run (each makes its own): one
  // left behind (a refused rollback of an older ship: links to the app's files, kept for good)
  // goes now. Quietly: one that will not go (an immutable file) was said by the run that left it.
  await dropUndoneRelease(releaseBeingUndone(appStateDir)).catch((error: unknown) =>
    log.debug("could not remove the undone release's copy", { error: errorMessage(error) }),
  );
  return { interrupted: resolved, finished: finishedFirstNote(recovery, resumed, resolved !== null) };
}

async function hasPendingUpdate(config: AgentConfig, name: string): Promise<boolean> {
  return (await readState(config.general.state_file)).sources[name]?.pending_update !== undefined;
}

async function discardLeftovers(paths: UpdatePaths, log: Logger): Promise<void> {
  await removeLeftovers(paths).catch((error: unknown) =>
    log.warn("could not remove the staging area and downloads", { error: fsErrorText(error) }),
  );
}

/** app_dir holds nothing yet (or is not there): what a first install starts from. */
async function emptyOrMissing(dir: string): Promise<boolean> {
  return readdir(dir).then(
    (names) => names.length === 0,
    (error: unknown) => errnoCode(error) === "ENOENT",
  );
}

/**
 * The release a killed `--rollback` or restore brings back: a rollback across several backups names
 * its target in its record; a single restore only in the engine's journal, with the backup it
 * restores (whose saved install index names the release).
 */
async function rollbackTarget(
  appStateDir: string,
): Promise<{ version: string; releaseId: string } | undefined> {
  const record = await readRollbackRecord(appStateDir);
  if (record !== undefined)
    return record.version == null ? undefined : savedIndexId(record.targetPath, record.version);
  const journal = await readJournal(appStateDir).catch(() => undefined);
  if (journal?.kind === "restore")
    return journal.version === null ? undefined : savedIndexId(journal.backupPath, journal.version);
  return undefined;
}

/** The release a backup's saved install index names, if it is the version expected. */
async function savedIndexId(
  backupPath: string,
  version: string,
): Promise<{ version: string; releaseId: string } | undefined> {
  // Unreadable or damaged: the check compares versions as before, and the run's restore says why.
  const saved = await readSavedIndexHeader(join(backupPath, PREVIOUS_INDEX_FILE)).catch(() => undefined);
  return saved?.releaseId !== undefined && saved.version === version
    ? { version: saved.version, releaseId: saved.releaseId }
    : undefined;
}

/** The install index's release; undefined when there is none or it cannot be read (the state is kept). */
async function versionOnDisk(appStateDir: string): Promise<InstalledRelease | undefined> {
  const index = await readInstallIndexHeader(appStateDir).catch(() => undefined);
  return index === undefined ? undefined : { version: index.version, releaseId: index.releaseId };
}
