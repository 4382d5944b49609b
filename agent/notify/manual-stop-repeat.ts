/**
 * A release that waits for manual steps stops every run (daily, or at each hub delivery) until
 * someone approves it. on_failure told the people once; repeating it every run taught them to
 * ignore the channel. It goes again when the stop changes: another release, another condition's
 * message, or anything else having happened to the app in between.
 */
import type { SourceState } from "../state/state-file.js";

export interface ManualStop {
  result: string;
  error: string | null;
}

/** Whether the previous run ended in this very stop (same release, same message), already announced. */
export function manualStopAlreadyAnnounced(previous: SourceState | undefined, stop: ManualStop): boolean {
  return (
    stop.result === "manual_intervention_required" &&
    previous?.last_result === "manual_intervention_required" &&
    previous.last_error === stop.error
  );
}
