/**
 * Runs a condition's `command(...)` or a requirement's environment check: `/bin/sh -c` in the app
 * directory, bounded as run-program.ts bounds a program, with a short tail of output kept for the
 * report. Never throws: a command that cannot start is a failed check.
 */
import { mkdtemp, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { errnoCode } from "../../shared/fs-errors.js";
import { runProgram } from "../exec/run-program.js";
import { spawnFailureText } from "../exec/spawn-failure.js";

export interface ShellOptions {
  cwd: string;
  env?: NodeJS.ProcessEnv;
  timeoutMs: number;
  /** Characters of combined stdout/stderr kept (the end of it); 0 discards output. */
  keepOutput?: number;
}

export interface ShellResult {
  ok: boolean;
  exitCode: number | null;
  /** The signal that ended the shell itself. */
  signal: NodeJS.Signals | null;
  timedOut: boolean;
  /** The last characters the command printed, for a one-line reason. */
  output: string;
  /** Why it could not start (e.g. ENOENT for a missing cwd). */
  spawnError?: string;
}

/**
 * In the app directory; before a first install, when it does not exist yet, in an empty stand-in
 * for it. The update run creates app_dir before its conditions and checks run; `--check-only`,
 * `--test-conditionals` and `--check-requirements` create nothing, and there every command failed
 * to start ("spawn /bin/sh ENOENT"): a `command('true')` skip_update read as false, an
 * environment check as unmet, so the checks predicted what the run would not do.
 */
export async function runShell(command: string, options: ShellOptions): Promise<ShellResult> {
  const missing = errnoCode(await stat(options.cwd).catch((error: unknown) => error)) === "ENOENT";
  const standIn = missing ? await mkdtemp(join(tmpdir(), "ship-app-dir-")) : undefined;
  try {
    return await spawnShell(command, standIn === undefined ? options : { ...options, cwd: standIn });
  } finally {
    if (standIn !== undefined) await rm(standIn, { recursive: true, force: true });
  }
}

async function spawnShell(command: string, options: ShellOptions): Promise<ShellResult> {
  const result = await runProgram("/bin/sh", ["-c", command], {
    cwd: options.cwd,
    env: options.env ?? process.env,
    timeoutMs: options.timeoutMs,
    keepOutput: options.keepOutput ?? 2000,
  });
  return {
    ok: result.exitCode === 0 && !result.timedOut && result.spawnError === undefined,
    exitCode: result.exitCode,
    signal: result.signal,
    timedOut: result.timedOut,
    output: result.output,
    ...(result.spawnError === undefined
      ? {}
      : {
          spawnError: spawnFailureText(
            Object.assign(new Error(result.spawnError.message), { code: result.spawnError.code }),
            "/bin/sh",
            options.cwd,
          ),
        }),
  };
}
