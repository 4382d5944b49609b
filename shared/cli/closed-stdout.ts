/**
 * `ship-hub rollout list | head -3` closes the pipe while the CLI still writes. Like other Unix
 * tools, the CLI then stops quietly (exit 0) instead of dying on an unhandled EPIPE stack trace;
 * the reader got what it asked for. Any other stdout error is still thrown.
 */
export function exitQuietlyWhenStdoutCloses(): void {
  process.stdout.on("error", (error: NodeJS.ErrnoException) => {
    if (error.code === "EPIPE") process.exit(0);
    throw error;
  });
}
