import { placeConfigIssues } from "../../shared/config/key-positions.js";
import { BadInputError, ExitCode, ShipError } from "../../shared/errors.js";
import { errnoCode, errnoErrorText } from "../../shared/fs-errors.js";
import { printable } from "../../shared/schema/unprintable.js";

/** The one place errors become exit codes and one-line messages (DESIGN.md "Exit codes"). */
export function exitCodeFor(error: unknown): number {
  return error instanceof ShipError ? error.exitCode : ExitCode.updateFailedRestored;
}

/** What the CLI says of `error`: one line (a BadInputError's issues one line each, formatIssue). */
export function messageFor(error: unknown): string {
  // A check made after ship.toml loaded names its key: the line and column too, as a parse error.
  if (error instanceof BadInputError) return placeConfigIssues(error).message;
  // A path with a line break in it (an app_dir, a --rollback PATH) said as `\n`, as in formatIssue.
  return printable(oneMessageFor(error));
}

function oneMessageFor(error: unknown): string {
  if (error instanceof ShipError) return error.message;
  // A file ship could not use is the machine's state, not a bug: name the file and the errno in words.
  if (errnoCode(error) !== undefined && typeof (error as NodeJS.ErrnoException).path === "string")
    return errnoErrorText(error);
  if (error instanceof Error) return `internal error: ${error.message}`;
  return `internal error: ${String(error)}`;
}
