import { ExitCode, ShipError } from "../../shared/errors.js";

/** The one place errors become exit codes and one-line messages (DESIGN.md "Exit codes"). */
export function exitCodeFor(error: unknown): number {
  return error instanceof ShipError ? error.exitCode : ExitCode.updateFailedRestored;
}

export function messageFor(error: unknown): string {
  if (error instanceof ShipError) return error.message;
  if (error instanceof Error) return `internal error: ${error.message}`;
  return `internal error: ${String(error)}`;
}
