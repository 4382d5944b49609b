/**
 * `ship-hub rollout list | head -3` closes the pipe while the CLI still writes. Like other Unix
 * tools, the CLI then stops quietly (exit 0) instead of dying on an unhandled EPIPE stack trace;
 * the reader got what it asked for. Any other stdout error is still thrown.
 *
 * A terminal that hung up (the ssh session of a manual `ship --force` lost) fails every write with
 * EIO. ship finishes the update it has in hand (SIGHUP, agent/cli/outlive-terminal.ts); its last lines then
 * crashed it with a stack trace and a native assertion, and the run's exit code was lost. Those
 * writes go nowhere now, on stdout and stderr, and the run ends with its own exit code.
 *
 * A stderr whose reader left (`ship --list-backups 2>&1 | head`, a log reader that quit) crashed the
 * command with exit 1 on its next warning, while stdout still had a reader. Its writes go nowhere
 * now: stdout's rule alone decides (its reader gone: exit 0; else the command's own exit code).
 * So do the writes of a stderr that fails them otherwise (a `2>>ship.err` on a full disk: ENOSPC),
 * whose first log line ended an update with exit 1 before anything was installed.
 */
let keepGoing = false;

export function exitQuietlyWhenStdoutCloses(): void {
  process.stdout.on("error", (error: NodeJS.ErrnoException) => {
    // A run that changes an app must not stop mid-step because nobody reads it any more (an ssh
    // session that dropped: EPIPE from a pipe, EIO from a terminal); its output is dropped.
    if (keepGoing && (error.code === "EPIPE" || error.code === "EIO")) return;
    if (error.code === "EPIPE") process.exit(0);
    if (error.code === "EIO") return;
    throw error;
  });
  // stderr is where a failure would be told, so one of its own has nowhere to go: whatever the
  // error (EPIPE, EIO, ENOSPC of a `2>>ship.err` on a full disk, EDQUOT, EFBIG), the write is dropped.
  process.stderr.on("error", () => {});
}

/** From now on a closed stdout drops what is written instead of ending the process. */
export function keepGoingWhenStdoutCloses(): void {
  keepGoing = true;
}
