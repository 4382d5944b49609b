import { type ChildProcess, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";

/** The compiled agent CLI; `npm test` builds before vitest runs. */
export const SHIP_BIN = fileURLToPath(new URL("../../dist/agent/cli/main.cjs", import.meta.url));

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  user?: { uid: number; gid: number };
  /** SIGKILL the run after this long (its code is then null): for runs that might never end. */
  timeoutMs?: number;
}

/** Runs `ship ARGS` as a real child process and collects its output. */
export function runShip(args: string[], options: RunOptions = {}): Promise<CliResult> {
  return runNodeScript(SHIP_BIN, args, options);
}

/** Runs a Node script (`ship`, `ship-hub`) as a real child process, optionally as another user. */
export function runNodeScript(script: string, args: string[], options: RunOptions = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script, ...args], {
      cwd: options.cwd,
      ...(options.user === undefined ? {} : { uid: options.user.uid, gid: options.user.gid }),
      env: { ...process.env, ...options.env },
      stdio: ["ignore", "pipe", "pipe"],
      ...(options.timeoutMs === undefined
        ? {}
        : { timeout: options.timeoutMs, killSignal: "SIGKILL" as const }),
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => {
      stdout += d;
    });
    child.stderr.on("data", (d) => {
      stderr += d;
    });
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

/**
 * `ship agent --config CONFIG` that must exit by itself (bad input, a lock held): killed after 15 s,
 * since a daemon that ran on is the fault the caller looks for.
 */
export function runAgentBriefly(config: string): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [SHIP_BIN, "agent", "--config", config], {
      stdio: ["ignore", "ignore", "pipe"],
      timeout: 15_000,
      killSignal: "SIGKILL",
    });
    let stderr = "";
    child.stderr.on("data", (d) => {
      stderr += d;
    });
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stderr }));
  });
}

/** `ship ARGS` started as a real child process, for tests that signal it mid-run. */
export function startShip(
  args: string[],
  options: RunOptions = {},
): { child: ChildProcess; done: Promise<CliResult & { signal: NodeJS.Signals | null }> } {
  const child = spawn(process.execPath, [SHIP_BIN, ...args], {
    cwd: options.cwd,
    env: { ...process.env, ...options.env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout?.on("data", (d) => {
    stdout += d;
  });
  child.stderr?.on("data", (d) => {
    stderr += d;
  });
  const done = new Promise<CliResult & { signal: NodeJS.Signals | null }>((resolve, reject) => {
    child.on("error", reject);
    child.on("close", (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
  return { child, done };
}
