/**
 * Carries out one hub instruction for one app and says what happened as a protocol Report.
 * The same pipeline as `ship` runs, with a source that fetches the hub's release and without the
 * once-a-day rule. A rollback whose release the newest backup brings back is a restore (fast and
 * exact); any other rollback is a deploy of the older release with downgrade allowed, once the
 * release is one this host ran before (rollback-target.ts).
 */
import type { AgentConfig } from "../../shared/config/schema.js";
import { BadInputError, errorMessage, LockedError, restoredVersionLabel } from "../../shared/errors.js";
import type { Logger } from "../../shared/log.js";
import type { Deploy, Report, ReportOutcome } from "../../shared/protocol/messages.js";
import { listBackups, rollbackTo } from "../apply/index.js";
import { readInstallIndexHeader } from "../apply/install-index.js";
import { sourceOfBackup } from "../backup/backup-owner.js";
import { inUpdateOrder } from "../backup/backup-store.js";
import { undoneLinksWarning } from "../backup/restore-links.js";
import { chainRefusal } from "../backup/rollback-chain.js";
import { appTrashDir, emptyTrash, trashWarning } from "../backup/trash.js";
import { leftAloneNote } from "../backup/unrestored.js";
import { DownloadError } from "../download/errors.js";
import { acquireAppLock } from "../lock/run-lock.js";
import { defaultPorts } from "../pipeline/default-ports.js";
import { failedRollbackResult, stateAfterFailedRollback } from "../pipeline/failed-rollback.js";
import { appStateDir, lockDir } from "../pipeline/paths.js";
import type { PipelinePorts } from "../pipeline/ports.js";
import { recoveredNote } from "../pipeline/recovered-first.js";
import type { AppReport } from "../pipeline/report.js";
import { failedRollbackCommands } from "../pipeline/rollback-commands.js";
import { runSource } from "../pipeline/run-source.js";
import { syncInstalledState, unlessStateUnwritable } from "../pipeline/sync-installed.js";
import { undoWithHooks } from "../pipeline/undo-release.js";
import { type RunResult, readState, type SourceState } from "../state/state-file.js";
import { recordEndedInstruction } from "./ended-instruction-state.js";
import { instructionReport } from "./failed-report.js";
import { HubReleaseSource } from "./hub-release-source.js";
import { installedVersion, versionOnDisk } from "./installed-version.js";
import { fitMergeReports, fitText, fitWarnings } from "./merge-reports.js";
import { type ProgressEvent, progressLogger } from "./progress-log.js";
import { rollbackRefusal } from "./rollback-target.js";

export interface CarryOutInput {
  config: AgentConfig;
  /** The config's path, named in bad-input messages about its keys (default "ship.toml"). */
  configFile?: string;
  instruction: Deploy;
  hubUrl: string;
  token: string;
  log: Logger;
  progress: (event: ProgressEvent) => void;
  /** Multiplies post_update_tests retry delays (tests: 0). */
  delayScale?: number;
  /** Base of network retry backoff (tests: 0). */
  retryDelayMs?: number;
  /** Defaults to the production wiring; a test may pass its own. */
  ports?: PipelinePorts;
  /** Given the update's notifications, to send once the report is on its way (finalize.ts). */
  notifyAfter?: (send: () => Promise<string[]>) => void;
  /** Aborted when the agent stops: a download under way is dropped (hub-release-source.ts). */
  stop?: AbortSignal;
}

const OUTCOMES: Record<AppReport["result"], ReportOutcome> = {
  updated: "succeeded",
  // Only a rollback asked for by name records it, and it did what was asked.
  rolled_back: "succeeded",
  up_to_date: "succeeded",
  skipped: "skipped",
  // Nothing was installed and nothing failed: the host waits for a person (the wave still counts it
  // against its threshold, as any host that did not take the release).
  manual_intervention_required: "skipped",
  failed_unchanged: "failed",
  failed_restored: "rolled_back",
  failed_not_rolled_back: "failed",
  restore_failed: "restore_failed",
  refused: "failed",
  update_available: "failed",
};

/**
 * A report, or "retry": nothing was done and trying later may work (another ship run holds the
 * app, or the release could not be downloaded because its server is unreachable).
 */
export type CarryOutResult = { kind: "report"; report: Report } | { kind: "retry"; reason: string };

export async function carryOut(input: CarryOutInput): Promise<CarryOutResult> {
  try {
    const report = await carryOutOnce(input);
    return typeof report === "string" ? { kind: "retry", reason: report } : { kind: "report", report };
  } catch (error) {
    if (error instanceof LockedError) return { kind: "retry", reason: error.message };
    throw error;
  }
}

/** A Report, or the reason to retry later. */
async function carryOutOnce(input: CarryOutInput): Promise<Report | string> {
  const { config, instruction } = input;
  const { app, release } = instruction;
  const base = instructionReport(instruction);
  if (release.app !== app) {
    // The hub pairs them from one release record; only a tampered hub sends another app's release.
    return {
      ...base,
      outcome: "failed",
      fromVersion: await versionOnDisk(config, app),
      toVersion: release.version,
      error: `refused: the hub's instruction for ${app} carries a release of ${release.app} (${release.id}); nothing was downloaded or installed`,
      steps: [],
    };
  }
  const source = config.sources[app];
  if (source === undefined) {
    return {
      ...base,
      outcome: "failed",
      fromVersion: null,
      toVersion: release.version,
      error: `this agent has no [sources.${app}] in its ship.toml`,
      steps: [],
    };
  }
  const state = await readState(config.general.state_file);
  const installed = await installedVersion(config, state, app, source);
  if (!source.enabled) {
    // An instruction the hub sent before the operator disabled the app (or one resumed from disk):
    // ship leaves a disabled app alone, in hub mode as in a timer run.
    return {
      ...base,
      outcome: "failed",
      fromVersion: installed,
      toVersion: release.version,
      error: `[sources.${app}] has enabled = false in this agent's ship.toml: it takes no releases for ${app}`,
      steps: [],
    };
  }
  if (installed === release.version) {
    // A repeated instruction, or one whose report was lost to a crash after the update finished:
    // answered with the truth, the last run's result. "succeeded" for a version whose update failed
    // and stayed in place (or whose restore failed) counted a broken host as updated.
    const broken = brokenOnInstalled(state.sources[app], app, installed);
    if (broken !== undefined) {
      input.log.warn("already on the instructed version, but its last run failed", {
        app,
        version: installed,
      });
      return { ...base, ...broken, fromVersion: installed, toVersion: installed, steps: [] };
    }
    input.log.info("already on the instructed version", { app, version: installed });
    return { ...base, outcome: "succeeded", fromVersion: installed, toVersion: installed, steps: [] };
  }
  if (instruction.rollback) {
    // Only a rollback may downgrade, and only to what this host ran (rollback-target.ts): the
    // pipeline below is told to allow the downgrade, so this is the check that stands for it.
    const refusal = await rollbackRefusal({
      config,
      app,
      source,
      state: state.sources[app],
      installed,
      version: release.version,
    });
    if (refusal !== undefined) {
      input.log.error("refused a rollback to a release this host never ran", {
        app,
        installed,
        version: release.version,
      });
      // Recorded as `ship --rollback` records a refusal: the state kept the run before, no error.
      await recordEndedInstruction(config, app, refusal, input.log);
      return {
        ...base,
        outcome: "failed",
        fromVersion: installed,
        toVersion: release.version,
        error: refusal,
        steps: [],
      };
    }
  }
  input.progress({ step: instruction.rollback ? "rollback" : "fetch", message: "started" });

  // Why the newest backup could not be restored, when the release is downloaded instead.
  let backupRefused: string | undefined;
  if (instruction.rollback) {
    const restored = await restoreIfNewestBackup(input, installed);
    if (restored !== null && !("refused" in restored))
      return { ...base, fromVersion: installed, toVersion: release.version, ...restored };
    if (restored !== null) backupRefused = restored.refused;
  }

  const log = progressLogger(input.log, input.progress);
  const defaults = input.ports ?? defaultPorts();
  let opened: HubReleaseSource | undefined;
  const ports: PipelinePorts = {
    ...defaults,
    openSource: (name, src, context) => {
      opened = new HubReleaseSource({
        app: name,
        release,
        source: src,
        config,
        hubUrl: input.hubUrl,
        token: input.token,
        context: {
          ...context,
          ...(input.retryDelayMs === undefined ? {} : { retryDelayMs: input.retryDelayMs }),
        },
        onPercent: (percent) => input.progress({ step: "fetch", percent }),
        ...(input.stop === undefined ? {} : { stop: input.stop }),
      });
      return opened;
    },
  };
  const report = await runSource(config, app, source, {
    checkOnly: false,
    recordFailedCheck: false,
    ...(input.configFile === undefined ? {} : { configFile: input.configFile }),
    ...(input.notifyAfter === undefined ? {} : { notifyAfter: input.notifyAfter }),
    log,
    ports,
    settings: {
      allowDowngrade: instruction.rollback,
      delayScale: input.delayScale ?? 1,
      defaultCommandTimeoutSeconds: 300,
      // The hub's waves decide who installs when; a manifest's standalone rollout is for timer mode.
      ignoreRollout: true,
      now: () => new Date(),
      // What comes back as "retry" below: the daemon says it once, at WARNING, and tries again.
      retriedLater: (error) =>
        error instanceof LockedError ||
        (error instanceof DownloadError && error.message === opened?.transientFailure),
    },
  });
  // Another ship run holds the app, or the release was unreachable: nothing was done.
  if (report.result === "refused") return report.error ?? "another ship run holds the app";
  // Asked of the run, not of its result: a run that first recovered a killed one (a timer or hand
  // run cut short) reads failed_restored, and its unreachable release was reported `rolled_back`,
  // counted failed by the hub and never tried again. The recovery is no part of this instruction:
  // the state file holds it, and the idle agent's hello tells the hub (announced-apps.ts).
  if (report.retriedLater === true)
    return opened?.transientFailure ?? report.error ?? "the release was unreachable";
  if (report.result === "failed_unchanged" && opened?.transientFailure !== undefined)
    return opened.transientFailure;
  const warnings =
    backupRefused === undefined
      ? report.warnings
      : [
          `the newest backup was not restored, the release was downloaded instead: ${backupRefused}`,
          ...report.warnings,
        ];
  return {
    ...base,
    outcome: OUTCOMES[report.result],
    fromVersion: report.fromVersion ?? installed,
    toVersion: report.toVersion ?? release.version,
    ...withError(report.result === "manual_intervention_required" ? withManualSteps(report) : report),
    steps: report.steps.map((s) => ({ name: s.step, ok: s.ok, ms: s.durationMs })),
    ...(report.merges.length === 0 ? {} : { merges: fitMergeReports(report.merges) }),
    ...(warnings.length === 0 ? {} : { warnings: fitWarnings(warnings) }),
  };
}

/**
 * A rollback the newest backup covers exactly: restore it under the app lock. Null when it does not
 * fit; `refused` when its restore refused it before anything moved (a damaged backup, one another
 * host's): the hub can send the release, so it is downloaded instead — the rollback failed, and the
 * operator at the hub could not move the backup aside on the host as the refusal told them to.
 */
async function restoreIfNewestBackup(
  input: CarryOutInput,
  installed: string | null,
): Promise<
  | (Pick<Report, "outcome" | "steps" | "error" | "warnings"> &
      Partial<Pick<Report, "fromVersion" | "toVersion">>)
  | { refused: string }
  | null
> {
  const { config, instruction, log } = input;
  const source = config.sources[instruction.app];
  if (source === undefined) return null;
  // Every name's backups of this app_dir: a source renamed in ship.toml owns those made under its old
  // name (backup-owner.ts). Only the new name's were looked at, so the newest backup was missed and
  // the rollback became a download of the older release again, which fails once the hub dropped it.
  // In the order the updates followed each other (inUpdateOrder), not by date: after the clock was
  // set back, a backup made while it ran ahead sorts newest and does not undo what is installed,
  // and the rollback became a download of the older release again.
  const configured = Object.keys(config.sources);
  const listed = await listBackups(config.general.backup_dir, undefined, source.app_dir, [], configured);
  // The installed build's release id, as `ship --rollback` judges the chain by it: a backup of
  // another build of the installed version (copied from another host, or left by one rebuilt) was
  // taken as this host's, its restore refused ("move … out of the backup directory"), and the hub's
  // rollback failed where downloading the older release, as for a backup that is gone, brings it back.
  const installedRelease = (await readInstallIndexHeader(appStateDir(config, source.app_dir)))?.releaseId;
  const newest = inUpdateOrder(listed, installed ?? undefined, installedRelease).find(
    (b) => sourceOfBackup(config.sources, b)?.name === instruction.app,
  );
  if (
    newest?.version !== instruction.release.version ||
    newest.replacedBy !== installed ||
    chainRefusal([newest], installed ?? undefined, installedRelease) !== undefined
  )
    return null;
  const started = performance.now();
  const lock = await acquireAppLock(lockDir(config), source.app_dir, log);
  try {
    const problems: string[] = [];
    const rolledBack = await rollbackTo({
      backupRoot: config.general.backup_dir,
      target: newest,
      configured,
      // This config's record of the app, not the one the backup was made beside (cli rollback.ts).
      stateDir: appStateDir(config, source.app_dir),
      log,
      around: undoWithHooks({ config, log, hooks: true, problems }),
      // Emptied below, in-process: a detached rm for a big trash would race that removal. This
      // name's trash, as `ship --rollback` does: a backup made under the source's old name went into
      // that name's, which was never emptied.
      callerEmptiesTrash: true,
      trash: appTrashDir(config.general.backup_dir, instruction.app),
      source: instruction.app,
    });
    const commandNote = failedRollbackCommands(problems) ?? null;
    // What the restore left alone reaches the hub as `ship --rollback` prints it: never a silent success.
    const leftAlone = leftAloneNote(
      rolledBack.restored.flatMap((r) => [...r.outside, ...r.displaced, ...r.kept]).sort(),
      rolledBack.restored.map((r) => r.oldVersions),
    );
    const note = [
      leftAlone === ""
        ? undefined
        : `restored ${restoredVersionLabel(newest.version, newest.replacedBy)}${leftAlone}`,
      commandNote ?? undefined,
    ]
      .filter((n) => n !== undefined)
      .join("; ");
    await syncInstalledState(
      config,
      instruction.app,
      source,
      new Date(),
      (s) => ({ ...s, last_result: "rolled_back", last_error: commandNote }),
      log,
    );
    log.info("rolled back from the newest backup", { app: instruction.app, version: newest.version });
    // Hard-linked names the restore left with the undone content reach the hub as `ship --rollback`
    // prints them; the note above named paths left alone only, so the hub heard nothing of these.
    const linked = rolledBack.restored.flatMap((r) => r.linked);
    return {
      outcome: "succeeded",
      ...(note === "" ? {} : { error: note }),
      steps: [{ name: "restore backup", ok: true, ms: elapsed(started) }],
      ...(linked.length === 0 ? {} : { warnings: fitWarnings([undoneLinksWarning(linked)]) }),
    };
  } catch (error) {
    const message = errorMessage(error);
    if (error instanceof BadInputError) {
      log.warn("the newest backup cannot be restored; downloading the release instead", { error: message });
      return { refused: message };
    }
    log.error("restoring the newest backup failed", { error: message });
    // Recorded as `ship --rollback` records it: the state kept "updated", and the next hello said so
    // of an app whose restore stopped half-way. The hub hears what the state says: it heard
    // restore_failed of a rollback refused before anything moved, which the state recorded as
    // failed_unchanged (and of bad input, which records nothing).
    const recorded = failedRollbackResult(error);
    let result: RunResult | undefined = recorded;
    let onDisk: string | null = installed;
    if (recorded !== undefined)
      onDisk = await unlessStateUnwritable(
        syncInstalledState(
          config,
          instruction.app,
          source,
          new Date(),
          (s) => {
            const next = stateAfterFailedRollback(s, recorded, message);
            result = next.last_result ?? recorded;
            return next;
          },
          log,
        ).then((synced) => synced.version),
        log,
        installed,
      );
    const broken = result === "restore_failed";
    return {
      outcome: broken ? "restore_failed" : "failed",
      // The version on disk, as the state and `ship --json` name it; a restore that failed names it
      // at both ends, as no version was reached (README, the state file).
      fromVersion: onDisk,
      toVersion: broken ? onDisk : instruction.release.version,
      error: message,
      steps: [{ name: "restore backup", ok: false, ms: elapsed(started) }],
    };
  } finally {
    // No later run of a hub app may come for weeks (the daemon runs only the hub's instructions):
    // what the restore took out is freed now, as the next run would (trash.ts). Nobody waits at a
    // terminal here, and under the lock no other restore renames a backup into the trash meanwhile.
    await emptyTrash(config.general.backup_dir, instruction.app).catch((error: unknown) =>
      log.warn(trashWarning(error)),
    );
    await lock.release();
  }
}

/**
 * The outcome of the last run that left `version` installed when it failed there: an update that
 * failed and was kept in place (failed_not_rolled_back), or a restore that failed (restore_failed).
 * Undefined when that run went well.
 */
function brokenOnInstalled(
  state: SourceState | undefined,
  app: string,
  version: string,
): Pick<Report, "outcome" | "error"> | undefined {
  const result = state?.last_result;
  if (result !== "failed_not_rolled_back" && result !== "restore_failed") return undefined;
  const why = state?.last_error ? `: ${state.last_error}` : "";
  return {
    outcome: result === "restore_failed" ? "restore_failed" : "failed",
    error: fitText(
      `${app} ${version} is installed already, but its last run failed (${result})${why}; roll it back, or roll out a fixed release`,
      10_000,
    ),
  };
}

/**
 * The hub's operator reads the report, not this host's terminal: the manual steps go with it, and
 * what to do once they are done (approving on the host makes the next instruction for that version
 * install; the one this report answers is over).
 */
function withManualSteps(report: AppReport): AppReport {
  const steps = report.manualSteps.length === 0 ? "" : `; manual steps: ${report.manualSteps.join("; ")}`;
  return {
    ...report,
    error: `${report.error ?? "manual intervention required"}${steps}; then roll the release out to this host again`,
  };
}

/** The report's error, plus (for any outcome) that its outcome could not be recorded on this host. */
function withError(report: AppReport): { error?: string } {
  const parts = [
    // What a recovery first put back (a killed run's files) is the host's news as much as the
    // failure after it: the hub read "rolled back: … HTTP 404" of a release that never touched it.
    report.recovered !== undefined && report.error !== undefined
      ? `${recoveredNote(report.recovered)}; then ${report.error}`
      : report.error,
    report.stateNotRecorded && `outcome not recorded on the agent: ${report.stateNotRecorded}`,
  ];
  const error = parts.filter((p) => typeof p === "string" && p !== "").join("; ");
  return error === "" ? {} : { error: fitText(error, 10_000) };
}

function elapsed(started: number): number {
  return Math.round(performance.now() - started);
}
