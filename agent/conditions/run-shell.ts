/**
 * Runs a condition's `command(...)` or a requirement's environment check: `/bin/sh -c` in the app
 * directory, in its own process group so a timeout, or its end, kills everything it started, with a short tail
 * of output kept for the report. Never throws: a command that cannot start is a failed check.
 */
import { spawn } from "node:child_process";
import { mkdtemp, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { errnoCode } from "../../shared/fs-errors.js";

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
  timedOut: boolean;
  /** The last characters the command printed, for a one-line reason. */
  output: string;
  /** Why it could not start (e.g. ENOENT for a missing cwd). */
  spawnError?: string;
}

/** A background process (`cmd &`) may keep the pipes open after the shell exits; wait this long. */
const PIPE_GRACE_MS = 100;

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

function spawnShell(command: string, options: ShellOptions): Promise<ShellResult> {
  const keep = options.keepOutput ?? 2000;
  return new Promise((resolve) => {
    let output = "";
    let timedOut = false;
    let settled = false;
    const child = spawn("/bin/sh", ["-c", command], {
      cwd: options.cwd,
      env: options.env ?? process.env,
      detached: true,
      stdio: ["ignore", keep > 0 ? "pipe" : "ignore", keep > 0 ? "pipe" : "ignore"],
    });
    const collect = (chunk: Buffer) => {
      output = (output + chunk.toString("utf8")).slice(-keep);
    };
    child.stdout?.on("data", collect);
    child.stderr?.on("data", collect);
    const finish = (result: Omit<ShellResult, "output">) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      // What it left in its group (`./probe &`) goes with it, as a hook's does: under `ship agent`
      // nothing else ends it, and every run left one more behind.
      killGroup(child.pid);
      child.stdout?.destroy();
      child.stderr?.destroy();
      resolve({ ...result, output: output.trim() });
    };
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup(child.pid);
    }, options.timeoutMs);
    child.on("error", (err) => finish({ ok: false, exitCode: null, timedOut, spawnError: err.message }));
    child.on("exit", (code) => {
      clearTimeout(timer);
      const result = { ok: code === 0 && !timedOut, exitCode: code, timedOut };
      child.on("close", () => finish(result));
      setTimeout(() => finish(result), PIPE_GRACE_MS).unref();
    });
  });
}

function killGroup(pid: number | undefined): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, "SIGKILL");
  } catch {
    // The group is already gone.
  }
}
