/**
 * How a command that a signal ended is described. `/bin/sh -c` either dies of the signal itself
 * (exit code null: a one-command script is exec'd, or the OOM killer took the shell) or reports a
 * program it ran killed by signal N as exit code 128 + N, the shell's convention. Either way the
 * command gave no answer: a condition's check the OOM killer ended read as a plain "no" and a
 * skip_update went ahead without a word, and a requirement said "killed by a signal" without which.
 */
import { constants } from "node:os";

const SIGNAL_NAMES = new Map<number, string>(
  Object.entries(constants.signals).map(([name, number]) => [number, name]),
);

/** SIGKILL for 137: the signal a shell's exit code above 128 says killed a program it ran. */
export function shellCodeSignal(exitCode: number | null): string | undefined {
  return exitCode === null || exitCode <= 128 ? undefined : SIGNAL_NAMES.get(exitCode - 128);
}

/**
 * "was killed by SIGKILL", "exited with 137, the shell's code for a program killed by SIGKILL
 * (unless …)", or "" when neither the signal nor a 128 + N exit code names one.
 */
export function signalDeath(exitCode: number | null, signal: NodeJS.Signals | null): string {
  if (signal !== null) return `was killed by ${signal}`;
  const name = shellCodeSignal(exitCode);
  return name === undefined ? "" : `exited with ${exitCode}, ${shellCodeNote(name)}`;
}

/**
 * A 128 + N exit code is what sh reports for a program it ran that signal N killed, and also what a
 * program may exit with on purpose (a script's `exit 130` after it caught Ctrl-C): only the code is
 * known, so the note says both, where it called every such exit a signal's death.
 */
export function shellCodeNote(signal: string): string {
  return `the shell's code for a program killed by ${signal}, unless the command exits so itself`;
}
