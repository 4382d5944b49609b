/**
 * Runs a program that answers a question about this host (a condition's `command()`, an
 * environment check, `systemctl is-active`, an init script's `status`, `python3 --version`) within
 * a time limit that holds. It leads its own process group, killed at the limit and when it exits,
 * and the answer is taken when the program itself exits: what it started (a script's `sleep`, a
 * daemon it forked) may hold its output pipes open, and waiting for those to close waited for as
 * long as that ran, past any timeout.
 */
import { spawn } from "node:child_process";
import { StringDecoder } from "node:string_decoder";
import { errnoCode } from "../../shared/fs-errors.js";

export interface ProgramOptions {
  cwd?: string;
  env: NodeJS.ProcessEnv;
  timeoutMs: number;
  /** Characters of combined stdout/stderr kept (the end of it); 0 discards output. */
  keepOutput: number;
}

export interface ProgramResult {
  exitCode: number | null;
  /** The signal that ended the program itself (exitCode is then null). */
  signal: NodeJS.Signals | null;
  timedOut: boolean;
  /** The last `keepOutput` characters the program printed. */
  output: string;
  /** Why it could not start, as the error's message and code (ENOENT, EACCES). */
  spawnError?: { message: string; code: string | undefined };
}

/** After the program exits, how long output still in its pipes may take to arrive. */
const PIPE_GRACE_MS = 100;

export function runProgram(
  file: string,
  args: readonly string[],
  options: ProgramOptions,
): Promise<ProgramResult> {
  const keep = options.keepOutput;
  return new Promise((resolve) => {
    let output = "";
    let timedOut = false;
    let settled = false;
    let child: ReturnType<typeof spawn>;
    try {
      child = spawn(file, args, {
        ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
        env: options.env,
        detached: true,
        stdio: ["ignore", keep > 0 ? "pipe" : "ignore", keep > 0 ? "pipe" : "ignore"],
      });
    } catch (error) {
      // Thrown, not emitted, for some (a cwd that is a file: ENOTDIR): a failed start all the same.
      const message = error instanceof Error ? error.message : String(error);
      resolve({
        exitCode: null,
        signal: null,
        timedOut: false,
        output: "",
        spawnError: { message, code: errnoCode(error) },
      });
      return;
    }
    // One decoder a stream: a character split across two reads was two U+FFFD in the answer.
    const collect = (decoder: StringDecoder) => (chunk: Buffer) => {
      output = keptEnd(output + decoder.write(chunk), keep);
    };
    child.stdout?.on("data", collect(new StringDecoder("utf8")));
    child.stderr?.on("data", collect(new StringDecoder("utf8")));
    const finish = (result: Omit<ProgramResult, "output">) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      // What it left in its group (`./probe &`) goes with it: under `ship agent` nothing else ends
      // it, and every run left one more behind.
      killGroup(child.pid);
      child.stdout?.destroy();
      child.stderr?.destroy();
      resolve({ ...result, output: output.trim() });
    };
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup(child.pid);
    }, options.timeoutMs);
    child.on("error", (err) =>
      finish({
        exitCode: null,
        signal: null,
        timedOut,
        spawnError: { message: err.message, code: errnoCode(err) },
      }),
    );
    child.on("exit", (code, signal) => {
      clearTimeout(timer);
      const result = { exitCode: code, signal, timedOut };
      child.on("close", () => finish(result));
      setTimeout(() => finish(result), PIPE_GRACE_MS).unref();
    });
  });
}

/** The last `keep` UTF-16 units of `text`, never starting on the second half of a surrogate pair. */
function keptEnd(text: string, keep: number): string {
  const end = text.slice(-keep);
  const first = end.charCodeAt(0);
  return first >= 0xdc00 && first <= 0xdfff ? end.slice(1) : end;
}

function killGroup(pid: number | undefined): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, "SIGKILL");
  } catch {
    // The group is already gone.
  }
}
