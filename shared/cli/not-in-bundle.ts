/**
 * The code-cached restore bundle (scripts/build-agent-cli.mjs) holds the CLI with only the modes the
 * bin sends it. The bin chooses by the words it sees, before commander parses them, and a word can
 * be an option's value (`--config --rollback` names a config file called "--rollback", and the run
 * is an update run): a mode the bundle left out is then reached. Its stand-in throws this error,
 * which the CLI passes up untouched, before it did anything; the bin then runs the whole CLI. It
 * printed "internal error: ./commands/run.js is not in the restore bundle", exit 1.
 */
export const NOT_IN_BUNDLE = "SHIP_NOT_IN_BUNDLE";

/** Whether `error` is a left-out mode's stand-in saying this bundle cannot run the command. */
export function isNotInBundle(error: unknown): boolean {
  return error instanceof Error && (error as NodeJS.ErrnoException).code === NOT_IN_BUNDLE;
}
