/**
 * One rule for a run whose recover-first step put a killed update's files back: whatever the run
 * does next, its report carries `recovered` and its line starts with the restore. A refusal after
 * it (a downgrade, bad input: exit 2, whose promise is "nothing changed") or a failure that changed
 * nothing itself reads `failed_restored`, exit 1: the interrupted update failed and the app is back
 * on its previous version. Before, such a run said "failed_unchanged" (exit 2) or "up to date" and
 * never mentioned that files had moved.
 */
import { ExitCode } from "../../shared/errors.js";
import type { RecoveryOutcome } from "./ports.js";
import type { AppReport, RecoveredFirst } from "./report.js";
import type { ResumedRollback } from "./resume-rollback.js";

export function sayRecovered(report: AppReport, recovered: RecoveredFirst | undefined): AppReport {
  if (recovered === undefined || report.recovered !== undefined) return report;
  const prefix = `${report.source}: `;
  const rest = report.message.startsWith(prefix) ? report.message.slice(prefix.length) : report.message;
  const unchangedByItself = report.result === "failed_unchanged" || report.exitCode === ExitCode.badInput;
  return {
    ...report,
    recovered,
    message: `${prefix}${recoveredNote(recovered)}; then ${rest}`,
    ...(unchangedByItself
      ? {
          result: "failed_restored",
          exitCode: report.exitCode === ExitCode.badInput ? ExitCode.updateFailedRestored : report.exitCode,
        }
      : {}),
  };
}

/** "recovered 1.0.0 after an interrupted update to 2.0.0". */
export function recoveredNote(recovered: RecoveredFirst): string {
  return recovered.to === null
    ? `undid an interrupted install of ${recovered.from} (no earlier version was recorded)`
    : `recovered ${recovered.to} after an interrupted update to ${recovered.from}`;
}

/**
 * What a recovery finished of a restore or rollback a kill cut short, as one line without the
 * app's name: the files' part from the engine's journal, then the resumed rollback's, e.g.
 * "restored 1.0.0 (finished an interrupted restore)". Undefined when neither moved anything.
 * `ship --recover` says it alone; a run says it before its own outcome (sayFinishedFirst). With an
 * interrupted update behind it (`recovered` above) that update's outcome says what became of the
 * files, whatever the journal did first: finishing a committed apply it then undoes would read as a
 * contradiction.
 */
export function finishedFirstNote(
  files: RecoveryOutcome,
  resumed: Pick<ResumedRollback, "detail" | "restored" | "ranCommands"> | undefined,
  interruptedUpdate: boolean,
): string | undefined {
  const parts = [
    // The CLI puts the source's name before the line; the engine's message starts with it too.
    // Its name is the journal's: a backup made under a source's old name (`[sources.myapp]`, now
    // `web`) read "web: myapp: restored 1.0.0".
    files.action === "none" || interruptedUpdate ? undefined : files.detail.replace(/^[^:\s]+: /, ""),
    // The journal's line already says the target is back when finishing it ended the chain; not
    // that the rollback commands the killed run owed ran now.
    resumed === undefined || (files.action === "restored" && resumed.restored === 0 && !resumed.ranCommands)
      ? undefined
      : resumed.detail,
  ].filter((part) => part !== undefined && part !== "");
  return parts.length === 0 ? undefined : parts.join("; ");
}

/**
 * A run whose recover-first step finished a killed `ship --rollback` (or restore) went on to its
 * own outcome, and said only that: "myapp: updated 1.0.0 → 2.0.0" after a rollback it had finished
 * and whose rollback commands it had run, which only ship.log mentioned. Its line starts with what
 * it finished now, and `--json` carries it as `finishedFirst`.
 */
export function sayFinishedFirst(report: AppReport, finished: string | undefined): AppReport {
  if (finished === undefined || report.finishedFirst !== undefined) return report;
  const prefix = `${report.source}: `;
  const rest = report.message.startsWith(prefix) ? report.message.slice(prefix.length) : report.message;
  return { ...report, finishedFirst: finished, message: `${prefix}${finished}; then ${rest}` };
}
