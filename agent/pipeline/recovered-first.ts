/**
 * One rule for a run whose recover-first step put a killed update's files back: whatever the run
 * does next, its report carries `recovered` and its line starts with the restore. A refusal after
 * it (a downgrade, bad input: exit 2, whose promise is "nothing changed") or a failure that changed
 * nothing itself reads `failed_restored`, exit 1: the interrupted update failed and the app is back
 * on its previous version. Before, such a run said "failed_unchanged" (exit 2) or "up to date" and
 * never mentioned that files had moved.
 */
import { ExitCode } from "../../shared/errors.js";
import type { AppReport, RecoveredFirst } from "./report.js";

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
