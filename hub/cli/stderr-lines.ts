/**
 * `--json` asks for machine-readable output on both streams: a script reading stderr must not
 * find text between JSON lines. Decided from argv (before `--`), as main's error handler decides,
 * since these lines are written deep in commands that do not all carry their options down.
 */
const argsBeforeEnd = process.argv.slice(
  2,
  process.argv.includes("--") ? process.argv.indexOf("--") : undefined,
);
export const jsonRequested = argsBeforeEnd.includes("--json");

/**
 * One line on stderr for the operator (a warning, a note, watch's reason to stop). With --json it
 * is one JSON object: `{"warning": …}` or `{"note": …}` for the lines so prefixed, `{"message": …}`
 * otherwise; the text as the line would have read.
 */
export function say(line: string): void {
  if (!jsonRequested) {
    process.stderr.write(`${line}\n`);
    return;
  }
  const prefixed = /^(warning|note): (.*)$/s.exec(line);
  const object = prefixed ? { [prefixed[1] as string]: prefixed[2] } : { message: line };
  process.stderr.write(`${JSON.stringify(object)}\n`);
}
