/** Everything the CLI prints goes through here so `--json` and `--quiet` are honoured once. */
import { endOpenLine } from "../../shared/open-line.js";

export interface Output {
  readonly json: boolean;
  readonly quiet: boolean;
  /** Human text on stdout (suppressed by --quiet). */
  line(text: string): void;
  /** The machine-readable result of a command (only printed with --json). */
  result(value: unknown): void;
  /** Problems on stderr, always printed. */
  problem(text: string): void;
}

export function createOutput(options: { json?: boolean; quiet?: boolean }): Output {
  const json = options.json === true;
  const quiet = options.quiet === true;
  return {
    json,
    quiet,
    line(text) {
      if (json || quiet) return;
      endOpenLine();
      process.stdout.write(`${text}\n`);
    },
    result(value) {
      if (!json) return;
      endOpenLine();
      process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
    },
    problem(text) {
      endOpenLine();
      process.stderr.write(`${text}\n`);
    },
  };
}
