/**
 * What a rollback asked for by name (`ship --rollback`, the hub's) that failed leaves in the state
 * file. One rule for both: the daemon's hub rollback recorded nothing, so the state (and the hello
 * on the next connect) kept "updated" after the hub heard restore_failed.
 */
import { BadInputError, ExitCode, RestoreInterruptedError, ShipError } from "../../shared/errors.js";
import { PartialRollbackError } from "../backup/rollback-to.js";
import type { RunResult, SourceState } from "../state/state-file.js";

/** undefined: bad input (a damaged backup, a chain with a gap) moved nothing and records nothing. */
export function failedRollbackResult(error: unknown): RunResult | undefined {
  if (error instanceof BadInputError) return undefined;
  // A restore that stopped half-way needs a person.
  if (
    error instanceof RestoreInterruptedError ||
    (error instanceof ShipError && error.exitCode === ExitCode.restoreFailed)
  )
    return "restore_failed";
  // Stopped part of the way along a chain, the app is whole on an earlier version than it was.
  // Never the last run's result kept beside the error: "updated" next to it read as a success.
  return error instanceof PartialRollbackError ? "rolled_back" : "failed_unchanged";
}

/**
 * The state a failed rollback (`recorded`, from failedRollbackResult) leaves. A refusal that moved
 * nothing (a restore journal waits for `ship --recover`) keeps an earlier restore that stopped
 * half-way on record: it wrote failed_unchanged over restore_failed, and the state, the hello and the
 * hub's view called an app that is still partly restored merely failed.
 */
export function stateAfterFailedRollback(
  state: SourceState,
  recorded: RunResult,
  error: string,
): SourceState {
  if (recorded === "failed_unchanged" && state.last_result === "restore_failed") return state;
  return { ...state, last_result: recorded, last_error: error };
}
