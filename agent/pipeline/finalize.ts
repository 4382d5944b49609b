/**
 * The last step of every update that got past the check: state file, the source's change-detection
 * commit, notifications. Nothing here can change the outcome: a failure is logged, not raised.
 */
import { hostname } from "node:os";
import { ExitCode, errorMessage } from "../../shared/errors.js";
import type { Logger } from "../../shared/log.js";
import type { Manifest } from "../../shared/manifest/schema.js";
import { hostId } from "../host-id.js";
import { manualStopAlreadyAnnounced } from "../notify/manual-stop-repeat.js";
import { failureText } from "../notify/render-message.js";
import { sendNotifications } from "../notify/send-notifications.js";
import type { FetchedRelease, ReleaseSource } from "../sources/types.js";
import { type SourceState, updateSourceState } from "../state/state-file.js";
import { mergeWarnings } from "./merge-warnings.js";
import type { AppReport } from "./report.js";

/** The release whose files are on disk, as the install index names it. */
export interface InstalledRelease {
  version: string;
  releaseId: string | undefined;
}

export interface FinalizeInput {
  report: AppReport;
  stateFile: string;
  /**
   * The release the app's install index names, read when the run ends in restore_failed: a restore
   * refused before it moved anything (a file ship's user cannot read) left the failed release on
   * disk, and the state file still said the version before it.
   */
  onDisk?: InstalledRelease | undefined;
  manifest: Manifest | undefined;
  release: FetchedRelease | undefined;
  releaseSource: ReleaseSource;
  now: Date;
  log: Logger;
  notifyRetryDelayMs?: number;
  notifyMaxTimeoutMs?: number;
  /**
   * Given the sending instead of waiting for it (`ship agent`): the hub's report goes first. A
   * webhook that hung held the report, and with it the wave, for its timeout and retries. The
   * sending resolves to the lines of what did not arrive.
   */
  notifyAfter?: (send: () => Promise<string[]>) => void;
}

/** Results after which the release's files are what the app runs now. */
const INSTALLED = new Set<AppReport["result"]>(["updated", "failed_not_rolled_back"]);

export async function finalizeUpdate(input: FinalizeInput): Promise<void> {
  const { report, log } = input;
  let previous: SourceState | undefined;
  try {
    // A refusal for bad input (a broken manifest, an empty release) changes nothing on disk, not
    // even the record of the last result: the run's exit 2 and its one line say it, and the next
    // run with the input fixed finds the state as the last real update left it.
    if (report.exitCode !== ExitCode.badInput)
      await updateSourceState(input.stateFile, report.source, (s) => {
        previous = s;
        return nextSourceState(s, report, input.now, input.onDisk);
      });
  } catch (error) {
    // The run's outcome stands; what is lost is the record of it, and the hub must hear that too.
    report.stateNotRecorded = errorMessage(error);
    // When that is why the run failed, its error said it already (a hook made the state directory
    // immutable): repeated, the JSON log held the one message four times.
    const said = report.error?.includes(report.stateNotRecorded) === true;
    log.error("could not record the outcome in the state file", {
      stateFile: input.stateFile,
      ...(said ? { error: "the reason the run failed, above" } : { error: report.stateNotRecorded }),
    });
  }
  if (INSTALLED.has(report.result) && input.release !== undefined) {
    try {
      await input.releaseSource.commit(input.release);
    } catch (error) {
      log.error("could not record the source's release metadata", {
        error: error instanceof Error ? error.message.trim() : String(error),
      });
    }
  }
  if (manualStopAlreadyAnnounced(previous, report)) {
    log.info(
      "still waiting for the manual steps; on_failure was sent when this stop was first met, not again",
    );
    return;
  }
  if (input.notifyAfter === undefined) {
    // A warning of the run (the CLI's WARNING lines): the channel that would have told the people
    // is the one that failed.
    report.warnings.push(...(await notify(input)));
    return;
  }
  input.notifyAfter(() => notify(input));
}

export function nextSourceState(
  { pending_update: decided, ...state }: SourceState,
  report: AppReport,
  now: Date,
  onDisk?: InstalledRelease,
): SourceState {
  // A restore that failed is still owed. Dropped here, a restore refused before it moved anything
  // (a directory made immutable, a read-only mount) left the failed release live with no journal:
  // once the cause was fixed, `--recover` said "nothing to recover" and the next run "up to date",
  // clearing restore_failed. Kept, the next run (or --recover, or the daemon's start) restores it.
  const owed = report.result === "restore_failed" && decided !== undefined ? { pending_update: decided } : {};
  const base: SourceState = {
    ...state,
    ...owed,
    last_result: report.result === "update_available" ? state.last_result : report.result,
    last_error: report.error,
  };
  if (INSTALLED.has(report.result)) {
    const { manual_steps: _cleared, ...rest } = base;
    return {
      ...rest,
      previous_version: state.current_version,
      current_version: report.toVersion,
      last_update: now.toISOString(),
      release_id: report.releaseId,
    };
  }
  if (report.result === "manual_intervention_required") return { ...base, manual_steps: report.manualSteps };
  // current_version is the version on disk, the install index's (README): after a failed restore
  // the app may still run the release it failed to take out. Its release_id with it: the version
  // alone moved, and the state named 2.0.0 beside 1.0.0's release id (the hub's hello, the source's
  // "installed" comparison read a release that is not on disk).
  if (report.result === "restore_failed" && onDisk !== undefined && onDisk.version !== state.current_version)
    return {
      ...base,
      current_version: onDisk.version,
      previous_version: state.current_version,
      release_id: onDisk.releaseId ?? null,
      last_update: now.toISOString(),
    };
  return base;
}

/** Resolves to the lines of the notifications that did not arrive. */
async function notify(input: FinalizeInput): Promise<string[]> {
  const { report, manifest } = input;
  if (manifest === undefined) return [];
  const success = report.result === "updated";
  const wanted = success || report.error !== null;
  if (!wanted || report.result === "skipped") return [];
  // A manual-intervention stop is not a failure, but a person must act: it goes to on_failure.
  const error =
    report.result === "manual_intervention_required"
      ? `manual intervention required: ${report.error}`
      : report.error === null
        ? ""
        : failureText(report.failureReason ?? report.error, report.message);
  // The merges' WARNINGs too: "these values of yours went" must reach the channel a person reads.
  const warnings = [...report.warnings, ...mergeWarnings(report)];
  return sendNotifications(
    success ? manifest.notifications.on_success : manifest.notifications.on_failure,
    {
      app: report.source,
      version: manifest.version,
      status: success ? "success" : "failure",
      error,
      host: hostname(),
      system_id: hostId(),
      timestamp: input.now.toISOString(),
      ...(warnings.length === 0 ? {} : { warnings }),
    },
    {
      log: input.log,
      ...(input.notifyRetryDelayMs === undefined ? {} : { retryDelayMs: input.notifyRetryDelayMs }),
      ...(input.notifyMaxTimeoutMs === undefined ? {} : { maxTimeoutMs: input.notifyMaxTimeoutMs }),
    },
  );
}
