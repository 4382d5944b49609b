/**
 * `--json` promises machine-readable output for every run: one stopped by bad input or refused (a
 * config that cannot be read, an unknown option, a hub's 409) answers on stdout with its own
 * `exitCode` and `message`, plus `error`, so a script reading stdout never parses an empty string.
 * stderr keeps the line.
 */
export function jsonFailureText(exitCode: number, name: string, message: string): string {
  return JSON.stringify({ exitCode, message: `${name}: ${message}`, error: message }, null, 2);
}
