import { ExitCode } from "../../../shared/errors.js";
import { loadTrustedKeys } from "../../../shared/signing/trust.js";
import { compareVersions, isVersionLike } from "../../../shared/versions.js";
import { checkAppDirs } from "../../pipeline/configured-paths.js";
import { recover, runOnce } from "../../pipeline/index.js";
import { mergeWarnings } from "../../pipeline/merge-warnings.js";
import { refuseNoSources } from "../../pipeline/no-sources.js";
import { checkRecordPaths } from "../../pipeline/record-paths.js";
import { type AppReport, appMessage } from "../../pipeline/report.js";
import { type RunSummary, runSourceNames } from "../../pipeline/run-once.js";
import { isRefusal, noteShipDirs } from "../../pipeline/untouched-dirs.js";
import type { GlobalOptions } from "../cli.js";
import { loadCliConfig } from "../load-config.js";
import { cliLogger } from "../logger.js";
import { mergeLines } from "../merge-lines.js";
import { outliveTerminal } from "../outlive-terminal.js";
import type { Output } from "../output.js";
import { onStopSignals, signalExitCode } from "../stop-signals.js";

/** `ship [--check-only] [--force] [--sources ...]`: one run over the configured sources. */
export async function runCommand(options: GlobalOptions, out: Output): Promise<number> {
  const { config, path } = await loadCliConfig(options.config, out);
  // Sources filling one app_dir may share a config (the seed's example), not a run.
  await checkAppDirs(config, path, runSourceNames(config, options.sources));
  // As `ship agent` does at start: a [trust] key that is no public key is refused naming it, where
  // a run blamed every release ("[trust] keys are configured but this release has no signed artifact").
  await loadTrustedKeys(config.trust, path);
  // Before the logger, which creates the log file: a run refused for bad input leaves none.
  const untouched = await noteShipDirs(config);
  const log = cliLogger(options, config);
  outliveTerminal(log);
  // `systemctl stop ship.service` (or Ctrl-C): the running source finishes its update (or its
  // rollback), no further source starts. Node's default was to die mid-step, leaving the update
  // for the next run's recovery to undo.
  const signals = onStopSignals(log, (signal) => {
    log.warn(`${signal}: stopping after the running source's update; no further source starts`, { signal });
  });
  // runOnce recovers each app a killed run left (journal) under its lock before looking for updates.
  const summary = await runOnce(config, {
    stopRequested: () => signals.received !== undefined,
    force: options.force === true,
    checkOnly: options.checkOnly === true,
    configFile: path,
    allowDowngrade: options.allowDowngrade === true,
    ignoreRollout: options.ignoreRollout === true,
    log,
    ...(options.sources === undefined ? {} : { sources: options.sources }),
  })
    .catch(async (error: unknown) => {
      if (isRefusal(error)) await untouched.restore();
      throw error;
    })
    .finally(() => signals.dispose());
  if (refusedAll(summary)) await untouched.restore();
  out.result(summary);
  // --quiet is "only problems": a source that failed still says so, on stderr. It printed nothing at
  // all with [general.logging] file set (the log went there), only exit 1.
  const say = (app: AppReport, text: string) =>
    out.quiet && !out.json && FAILED.has(app.exitCode) ? out.problem(text) : out.line(text);
  if (options.checkOnly) {
    for (const app of summary.apps) say(app, `${checkMark(app.result).padEnd(8)} ${app.message}`);
  } else {
    for (const app of summary.apps) {
      say(app, app.message);
      for (const line of mergeLines(app)) out.line(line);
    }
  }
  // A check of a config with no source to run (`[source.myapp]` misspelt, every one disabled)
  // printed nothing at all, exit 0: it read as "all current".
  // The once-a-day line also follows the apps it recovered (a killed run's leftovers) instead.
  if ((summary.apps.length === 0 || summary.notBefore !== undefined) && summary.notStarted === undefined)
    out.line(summary.message);
  for (const app of summary.apps) {
    // The log's WARN lines drown among the JSON on stderr: a replaced file of the operator's, a
    // `warn` conditional, each is one plain line a person sees.
    for (const warning of [...app.warnings, ...mergeWarnings(app)])
      out.problem(`${app.source}: WARNING: ${warning}`);
    if (app.manualSteps.length > 0) {
      out.problem(`${app.source}: manual intervention required before this update:`);
      for (const step of app.manualSteps) out.problem(`  - ${step}`);
      const withConfig = options.config === undefined ? "" : ` --config ${options.config}`;
      const downgrade =
        config.trust?.allow_downgrade !== true &&
        app.fromVersion !== null &&
        app.toVersion !== null &&
        isVersionLike(app.fromVersion) &&
        compareVersions(app.toVersion, app.fromVersion) < 0
          ? " --allow-downgrade"
          : "";
      out.problem(
        `then approve them: ship${withConfig} --approve ${app.source} ${app.toVersion}${downgrade}`,
      );
    }
  }
  return stoppedExitCode(summary, signals.received, options.checkOnly === true, out) ?? summary.exitCode;
}

/**
 * A run a signal stopped before all its sources: one line naming what it did not start, and
 * 128+signal (143 for SIGTERM) — exit 0 would say the run was done. A source that needs a person
 * (exit 3) still says so. A stop during the last source's update, which finished whole, leaves
 * nothing undone: one line saying the signal was heard, and the run's own exit (as `--rollback`
 * and `--recover` do; a stop that seemed ignored, exit 0 and no word, reads as lost).
 */
function stoppedExitCode(
  summary: RunSummary,
  signal: NodeJS.Signals | undefined,
  checkOnly: boolean,
  out: Output,
): number | undefined {
  if (signal === undefined) return undefined;
  if (summary.notStarted === undefined) {
    out.problem(`${signal} received during the ${checkOnly ? "check" : "run"}: it was finished first`);
    return undefined;
  }
  const names = summary.notStarted.join(", ");
  out.problem(
    checkOnly
      ? `stopped by ${signal}: not checked: ${names}`
      : `stopped by ${signal}: not started: ${names} (unchanged); the next run updates them (the once-a-day rule does not hold them back)`,
  );
  return summary.exitCode === ExitCode.restoreFailed ? summary.exitCode : signalExitCode(signal);
}

/** Every source refused its input (exit 2): the run changed nothing, and leaves no trace of itself. */
function refusedAll(summary: { exitCode: number; apps: readonly { exitCode: number }[] }): boolean {
  return (
    summary.exitCode === ExitCode.badInput && summary.apps.every((a) => a.exitCode === ExitCode.badInput)
  );
}

/** A source's exit that is a problem: failed (restored or not), bad input, or needing a person. */
const FAILED: ReadonlySet<number> = new Set([
  ExitCode.updateFailedRestored,
  ExitCode.badInput,
  ExitCode.restoreFailed,
]);

/** The first word of a `--check-only` line: only a source that answered is "current". */
function checkMark(result: AppReport["result"]): string {
  if (result === "update_available") return "update";
  if (result === "up_to_date") return "current";
  if (result === "refused") return "locked";
  if (result === "skipped") return "waits"; // held back by its staged rollout, or a skip_update conditional
  if (result === "manual_intervention_required") return "manual"; // a person must do the manual steps first
  return "failed";
}

/**
 * `ship --recover`: finish or undo interrupted updates, then exit. A stop (SIGTERM/SIGINT) lets the
 * app in hand finish recovering (Node's default died mid-restore, leaving it for the next run) and
 * recovers no further app: 143/130 naming them, as a stopped run does (3 still wins).
 */
export async function recoverCommand(options: GlobalOptions, out: Output): Promise<number> {
  const { config, path } = await loadCliConfig(options.config, out);
  refuseNoSources(config, path);
  await checkRecordPaths(config, path, { lock: "apps", state: true });
  // Before the logger, which creates the log file: a recovery refused for bad input (a damaged
  // state file) leaves ship's directories as it found them (its log file, locks/), as a run does.
  const untouched = await noteShipDirs(config);
  const log = cliLogger(options, config);
  outliveTerminal(log);
  const signals = onStopSignals(log, (signal) => {
    log.warn(`${signal}: stopping after the app being recovered; no further app starts`, { signal });
  });
  const summary = await untouched
    .guard(() => recover(config, log, undefined, () => signals.received !== undefined))
    .finally(() => signals.dispose());
  if (refusedAll(summary)) await untouched.restore();
  out.result(summary);
  for (const app of summary.apps) {
    out.line(appMessage(app.source, app.detail || "nothing to recover"));
    for (const warning of app.warnings ?? []) out.problem(`${app.source}: WARNING: ${warning}`);
  }
  if (signals.received === undefined) return summary.exitCode;
  if (summary.notStarted === undefined) {
    // As `ship --rollback` says it: a stop that seemed ignored (exit 0, no word) reads as lost.
    out.problem(`${signals.received} received during the recovery: it was finished first`);
    return summary.exitCode;
  }
  out.problem(
    `stopped by ${signals.received}: not recovered: ${summary.notStarted.join(", ")}; ship --recover (or their next run) recovers them`,
  );
  return summary.exitCode === ExitCode.restoreFailed ? summary.exitCode : signalExitCode(signals.received);
}
