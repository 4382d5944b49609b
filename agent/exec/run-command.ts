/**
 * Runs the manifest's shell commands (hooks, migrations, tests, cleanup): `/bin/sh -c` in the app
 * directory, bounded output captured into the log, and a timeout that kills the whole process group
 * so a hook's grandchildren (`sleep 60 &`, a server it started) cannot outlive it.
 */
import type { ChildProcessWithoutNullStreams } from "node:child_process";
import { fsErrorText } from "../../shared/fs-errors.js";
import type { Logger } from "../../shared/log.js";
import { timerMs } from "../../shared/schema/durations.js";
import { cleanEnvironment } from "./clean-env.js";
import { printableLine } from "./printable-line.js";
import { quotedCommand } from "./quoted-command.js";
import { clearRunningCommand, recordRunningCommand } from "./running-command.js";
import { signalDeath } from "./signal-death.js";
import { spawnFailureText } from "./spawn-failure.js";
import { withoutTerminalCodes } from "./terminal-codes.js";
import { succeededDespite, unrunnableProgram } from "./unrunnable-program.js";

/** What every command learns about the update through its environment. */
export interface CommandEnv {
  app: string;
  version: string;
  previousVersion: string;
  appDir: string;
  /** Rollback commands: the files of the release being undone (SHIP_RELEASE_DIR). */
  releaseDir?: string;
}

export interface RunCommandOptions {
  cwd: string;
  timeoutSeconds: number;
  env: CommandEnv;
  log: Logger;
  /** What the command is for, e.g. `pre_update[0]`; names it in the log. */
  label: string;
  /**
   * Output kept per stream, half from its start and half from its end; what lies between is dropped
   * with a note (a chatty hook must not eat memory).
   */
  maxOutputBytes?: number;
  /**
   * Record the command's process group in this file while it runs (running-command.ts), so a run
   * that replaces a killed one can end it first. The command starts only once the record is written.
   */
  recordFile?: string;
  /**
   * How a failure is logged: "retried" for an attempt another follows (a WARNING saying so), so an
   * update whose health check passed on its second try logs no ERROR. Default: an ERROR.
   */
  onFailure?: "error" | "retried";
}

export interface CommandResult {
  ok: boolean;
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  timedOut: boolean;
  durationMs: number;
  stdout: string;
  stderr: string;
  /**
   * "; …" when the shell could not start the program the command names and its own words mislead
   * (a script with CRLF line endings is "not found"): unrunnable-program.ts. Else "".
   */
  unrunnable: string;
  /** Why the command could not be started at all (spawn-failure.ts); absent when it started. */
  notStarted?: string;
}

const DEFAULT_MAX_OUTPUT = 64 * 1024;
/** After SIGTERM the group gets this long to exit before SIGKILL. */
const KILL_GRACE_MS = 2000;
const PIPE_DRAIN_MS = 200;

export function commandEnvironment(env: CommandEnv): NodeJS.ProcessEnv {
  return {
    ...cleanEnvironment(),
    SHIP_APP: env.app,
    SHIP_VERSION: env.version,
    SHIP_PREVIOUS_VERSION: env.previousVersion,
    SHIP_APP_DIR: env.appDir,
    ...(env.releaseDir === undefined ? {} : { SHIP_RELEASE_DIR: env.releaseDir }),
  };
}

export function runCommand(command: string, options: RunCommandOptions): Promise<CommandResult> {
  const started = performance.now();
  const max = options.maxOutputBytes ?? DEFAULT_MAX_OUTPUT;
  // Loaded when a command runs: `ship --rollback` imports this module for the rollback hooks, and
  // `child_process` (with net, dgram, streams) is ~10 ms of its start when no hook is configured.
  const { spawn } = process.getBuiltinModule("node:child_process");
  let child: ChildProcessWithoutNullStreams;
  try {
    child = spawn("/bin/sh", ["-c", GATE, "sh", command], {
      cwd: options.cwd,
      env: commandEnvironment(options.env),
      // Its own process group, so the timeout can kill everything the command started.
      detached: true,
      stdio: ["pipe", "pipe", "pipe"],
    });
  } catch (error) {
    // Some failures are thrown rather than emitted (a working directory that is a file: ENOTDIR),
    // and one escaped as the run's "internal error".
    return Promise.resolve(notStartedResult(command, options, error, started));
  }
  const recorded = openGate(child, options);
  const stdout = boundedCollector(max);
  const stderr = boundedCollector(max);
  child.stdout.on("data", stdout.push);
  child.stderr.on("data", stderr.push);

  return new Promise((resolve) => {
    const deadline = groupDeadline(child.pid, timerMs(options.timeoutSeconds), KILL_GRACE_MS);
    let done = false;
    const finish = (exitCode: number | null, signal: NodeJS.Signals | null, spawnError?: Error): void => {
      if (done) return;
      done = true;
      deadline.end();
      // Done reading: a process the command started outside its group (`setsid ./server &`, output
      // not redirected) holds these pipes open, and they kept ship from exiting for as long as it ran.
      child.stdout.destroy();
      child.stderr.destroy();
      const timedOut = deadline.timedOut();
      const ok = !timedOut && exitCode === 0 && spawnError === undefined;
      const notStarted =
        spawnError === undefined ? undefined : spawnFailureText(spawnError, "/bin/sh", options.cwd);
      const durationMs = Math.round(performance.now() - started);
      const succeeded = ok ? succeededDespite(command, options.cwd) : Promise.resolve("");
      const unrunnableNote =
        ok || timedOut || notStarted !== undefined
          ? Promise.resolve("")
          : unrunnableProgram(command, options.cwd, exitCode);
      void Promise.all([succeeded.catch(() => ""), unrunnableNote.catch(() => "")]).then(
        ([despite, unrunnable]) => {
          const result: CommandResult = {
            ok,
            exitCode,
            signal,
            timedOut,
            durationMs,
            stdout: stdout.text(),
            stderr: notStarted ?? stderr.text(),
            unrunnable,
            ...(notStarted === undefined ? {} : { notStarted }),
          };
          logResult(command, options, result);
          if (despite !== "")
            options.log.warn(`${options.label} succeeded, but ${despite}`, {
              command: quotedCommand(command),
            });
          return recorded.then(() => clearRecord(options)).then(() => resolve(result));
        },
      );
    };
    child.on("error", (err) => finish(null, null, err));
    // "close" fires once the pipes are drained, so no output is lost; but a backgrounded child
    // holding the pipes open must not keep us waiting after the shell itself has exited.
    child.on("close", (code, signal) => finish(code, signal));
    child.on("exit", (code, signal) => {
      setTimeout(() => finish(code, signal), PIPE_DRAIN_MS).unref();
    });
  });
}

function notStartedResult(
  command: string,
  options: RunCommandOptions,
  error: unknown,
  started: number,
): CommandResult {
  const notStarted = spawnFailureText(error, "/bin/sh", options.cwd);
  const result: CommandResult = {
    ok: false,
    exitCode: null,
    signal: null,
    timedOut: false,
    durationMs: Math.round(performance.now() - started),
    stdout: "",
    stderr: notStarted,
    unrunnable: "",
    notStarted,
  };
  logResult(command, options, result);
  return result;
}

/**
 * The shell first waits for "go" on stdin, written once the command's record (if any) is on disk;
 * if ship dies before that, stdin closes and the command never starts. The command's own stdin is
 * then at EOF, as it would be from /dev/null.
 */
const GATE = 'IFS= read -r gate && [ "$gate" = go ] || exit 125; exec /bin/sh -c "$1"';

async function openGate(child: ChildProcessWithoutNullStreams, options: RunCommandOptions): Promise<void> {
  if (options.recordFile !== undefined && child.pid !== undefined) {
    try {
      await recordRunningCommand(options.recordFile, child.pid, options.label);
    } catch (error) {
      // The command still runs: refusing a hook because a 200-byte note did not fit helps nobody.
      options.log.error(`cannot record the running ${options.label}; a killed run could not end it`, {
        file: options.recordFile,
        error: fsErrorText(error),
      });
    }
  }
  child.stdin.on("error", () => {}); // the shell may be gone already (spawn failure)
  child.stdin.end("go\n");
}

async function clearRecord(options: RunCommandOptions): Promise<void> {
  if (options.recordFile === undefined) return;
  await clearRunningCommand(options.recordFile).catch((error: unknown) =>
    options.log.warn("cannot remove the running-command record", { error: fsErrorText(error) }),
  );
}

/**
 * One line saying why a command failed, for state files and notifications: how it ended, then its
 * last line. A command that timed out gets its last line too, since what it said last ("waiting
 * for the database lock") is what it was stuck on.
 */
export function describeFailure(label: string, result: CommandResult, timeoutSeconds: number): string {
  if (result.notStarted !== undefined) return `${label} could not start: ${result.notStarted}`;
  const tail = lastLine(result.stderr) ?? lastLine(result.stdout);
  const said = tail === undefined ? "" : `: ${tail}`;
  if (result.timedOut) return `${label} timed out after ${timeoutSeconds}s${said}`;
  const how = signalDeath(result.exitCode, result.signal) || `exited with ${result.exitCode}`;
  return `${label} ${how}${said}${result.unrunnable}`;
}

/**
 * The last line of a command's output as a terminal shows it: a progress meter (curl's, wget's,
 * pip's) redraws its line after each \r, and the whole history of redraws, quoted in a one-line
 * failure, wrote over that line's start on a terminal and buried the reason in the log. Colour
 * codes go (the log keeps the output as it came), and other control characters are made visible
 * (printable-line.ts).
 */
export function lastLine(text: string): string | undefined {
  const shown = withoutTerminalCodes(text)
    .split("\n")
    .map((line) =>
      line
        .split("\r")
        .map((part) => part.trim())
        .filter((part) => part !== "")
        .at(-1),
    )
    .map((line) => (line === undefined ? undefined : printableLine(line).trim()))
    .filter((line) => line !== undefined && line !== "");
  const last = shown.at(-1);
  return last === undefined ? undefined : lineEnd(last);
}

/**
 * The most of a line a one-line failure quotes. A command that printed one long line (minified JSON,
 * a progress bar without \r, `yes`) had its whole kept tail, 32 KB, quoted into the failure: the
 * run's last line, the state file, every notification and the hub's report carried it.
 */
export const MAX_QUOTED_LINE = 400;

/**
 * A line's end, which says why more often than its start (`…: connection refused`). The cut never
 * starts inside a `\u0007` that printableLine wrote for a control character (`…007` named nothing)
 * nor on a mark or joiner that belonged to the character before it (a lone accent, half an emoji).
 */
function lineEnd(line: string): string {
  const chars = Array.from(line);
  if (chars.length <= MAX_QUOTED_LINE) return line;
  let start = chars.length - (MAX_QUOTED_LINE - 1);
  for (let back = 1; back < ESCAPE_LENGTH && start - back >= 0; back++) {
    const at = start - back;
    if (ESCAPE.test(chars.slice(at, at + ESCAPE_LENGTH).join(""))) {
      start = at + ESCAPE_LENGTH;
      break;
    }
  }
  while (start < chars.length && CONTINUES.test(chars[start] ?? "")) start++;
  return `…${chars.slice(start).join("")}`;
}

/** printableLine's spelling of a control or format character. */
const ESCAPE = /^\\u[0-9a-f]{4}$/;
const ESCAPE_LENGTH = "\\u0000".length;
/** What continues the character before it: combining marks, variation selectors, ZWJ, skin tones. */
const CONTINUES = /^(?:\p{M}|\u200d|[\u{1f3fb}-\u{1f3ff}])$/u;

/** Signals a process group (a command spawned `detached`: it leads its own group). */
export function killGroup(pid: number | undefined, signal: NodeJS.Signals): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, signal);
  } catch {
    // ESRCH: the group is already gone, which is what we wanted.
  }
}

/**
 * The time limit of a child that leads its own process group (spawned `detached`): at `limitMs`
 * the group gets SIGTERM, and SIGKILL `graceMs` later. `end()` is for when the child is done,
 * whichever way: it stops the timers and kills what the child left in its group (a backgrounded
 * `sleep`, a fetch's ssh), which must not outlive it holding pipes or locks.
 */
export function groupDeadline(
  pid: number | undefined,
  limitMs: number,
  graceMs: number,
): { timedOut: () => boolean; end: () => void } {
  let timedOut = false;
  let killTimer: NodeJS.Timeout | undefined;
  const timer = setTimeout(() => {
    timedOut = true;
    killGroup(pid, "SIGTERM");
    killTimer = setTimeout(() => killGroup(pid, "SIGKILL"), graceMs);
  }, limitMs);
  return {
    timedOut: () => timedOut,
    end: () => {
      clearTimeout(timer);
      if (killTimer !== undefined) clearTimeout(killTimer);
      killGroup(pid, "SIGKILL");
    },
  };
}

/**
 * Keeps the first and the last `max / 2` bytes of a stream's output and counts what lies between.
 * The end matters most: a failing script's last line says why (describeFailure shows it), and
 * keeping only the start cut it off behind the chatter before it.
 */
export function boundedCollector(max: number): { push: (chunk: Buffer) => void; text: () => string } {
  const headMax = Math.ceil(max / 2);
  const tailMax = max - headMax;
  const head: Buffer[] = [];
  let headKept = 0;
  let tail: Buffer[] = [];
  let tailKept = 0;
  let dropped = 0;
  const keepTail = (part: Buffer) => {
    tail.push(part);
    tailKept += part.length;
    // Compacted once the tail holds twice its share, so a stream of small chunks costs no more.
    if (tailKept > tailMax * 2) {
      const whole = Buffer.concat(tail);
      dropped += whole.length - tailMax;
      tail = [whole.subarray(whole.length - tailMax)];
      tailKept = tailMax;
    }
  };
  return {
    push: (chunk) => {
      const room = headMax - headKept;
      if (room > 0) {
        const part = chunk.length <= room ? chunk : chunk.subarray(0, room);
        head.push(part);
        headKept += part.length;
        if (part.length === chunk.length) return;
        chunk = chunk.subarray(room);
      }
      keepTail(chunk);
    },
    text: () => {
      const whole = Buffer.concat(tail);
      const over = Math.max(0, whole.length - tailMax);
      // Head and tail meet where a character may straddle them: decoded apart, a "€" there became
      // two U+FFFD in the log, even when nothing was dropped between them.
      if (dropped + over === 0) return Buffer.concat([...head, whole]).toString("utf8");
      const kept = Buffer.concat(head);
      const headEnd = wholeCharsEnd(kept);
      const tailStart = over + continuationBytes(whole.subarray(over));
      const notKept = dropped + over + (kept.length - headEnd) + (tailStart - over);
      const body = kept.subarray(0, headEnd).toString("utf8");
      const end = whole.subarray(tailStart).toString("utf8");
      return `${body}\n[... ${notKept} bytes not kept ...]\n${end}`;
    },
  };
}

/** Where the last whole UTF-8 character of `bytes` ends: a cut one's lead and continuation bytes go. */
function wholeCharsEnd(bytes: Buffer): number {
  let at = bytes.length;
  let back = 0;
  while (at > 0 && back < 4 && isContinuation(bytes[at - 1] ?? 0)) {
    at -= 1;
    back += 1;
  }
  if (at === 0) return bytes.length;
  const lead = bytes[at - 1] ?? 0;
  const length = lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : lead >= 0xc0 ? 2 : 1;
  return back + 1 >= length ? bytes.length : at - 1;
}

/** The continuation bytes a cut left at the start of `bytes` (at most 3: a character's rest). */
function continuationBytes(bytes: Buffer): number {
  let count = 0;
  while (count < 3 && count < bytes.length && isContinuation(bytes[count] ?? 0)) count += 1;
  return count;
}

function isContinuation(byte: number): boolean {
  return (byte & 0xc0) === 0x80;
}

function logResult(command: string, options: RunCommandOptions, result: CommandResult): void {
  const data = {
    // By its program, as every message names it: the line may carry a secret (quoted-command.ts),
    // and the log is read more widely (the journal) than the manifest's kept copies (mode 600).
    command: quotedCommand(command),
    label: options.label,
    exitCode: result.exitCode,
    signal: result.signal,
    timedOut: result.timedOut,
    durationMs: result.durationMs,
    stdout: result.stdout,
    stderr: result.stderr,
    ...(result.unrunnable === "" ? {} : { why: result.unrunnable.slice(2) }),
  };
  if (result.ok) options.log.info(`${options.label} succeeded`, data);
  else if (options.onFailure === "retried") options.log.warn(`${options.label} failed; trying again`, data);
  else options.log.error(`${options.label} failed`, data);
}
