/**
 * A progress bar is redrawn in place on a terminal, so its line stays open (no newline) while the
 * work runs. When the work fails half-way, whatever is printed next (the error's log line, the
 * CLI's one-line reason) would be glued to the end of the bar: each writer ends an open line first.
 */
let open: NodeJS.WritableStream | undefined;

/** The stream whose current line a bar has left open, or undefined once the bar ended its line. */
export function lineLeftOpen(stream: NodeJS.WritableStream | undefined): void {
  open = stream;
}

/** Ends a line a bar left open, so the next text starts on a line of its own. */
export function endOpenLine(): void {
  const stream = open;
  if (stream === undefined) return;
  open = undefined;
  stream.write("\n");
}
