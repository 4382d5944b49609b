import { destination, type Logger as PinoLogger, pino } from "pino";
import { LogFile } from "./log-file.js";
import { endOpenLine } from "./open-line.js";

/** The logging surface every module takes; pino satisfies it, tests can capture it. */
export interface Logger {
  debug(msg: string, data?: Record<string, unknown>): void;
  info(msg: string, data?: Record<string, unknown>): void;
  warn(msg: string, data?: Record<string, unknown>): void;
  error(msg: string, data?: Record<string, unknown>): void;
  child(bindings: Record<string, unknown>): Logger;
  /** Whether lines of this level are written (absent: all are); a terminal's progress bar asks for info. */
  enabled?(level: "debug" | "info" | "warn" | "error"): boolean;
  /**
   * Writes the line at its level whatever level the logger filters at (absent: as the level's own
   * method): a record the manifest asked for (a `type: log` notification) is no diagnostic, and an
   * operator's `level = "WARNING"` lost every on_success record.
   */
  always?(level: "info" | "warn" | "error", msg: string, data?: Record<string, unknown>): void;
}

/** Header and token fields that must never reach logs or reports (pino's redact paths). */
export const REDACT_PATHS = [
  "headers.authorization",
  "headers.Authorization",
  "*.headers.authorization",
  "*.headers.Authorization",
  "token",
  "*.token",
  "passphrase",
  "*.passphrase",
];

export interface LoggerOptions {
  level?: "debug" | "info" | "warn" | "error" | "silent";
  /** Append JSON lines to this file instead of stderr (log-file.ts). */
  file?: string;
  name?: string;
  /**
   * Write each stderr line before the call returns (the agent CLI: no line lost when it exits, no
   * exit hook to flush a buffer). The hub buffers. A file is always written synchronously.
   */
  sync?: boolean;
}

/** The buffered stderr streams (the hub's), for settleLogs. */
const bufferedStderr = new Set<ReturnType<typeof destination>>();

/**
 * Waits (at most `timeoutMs`) for what the buffered stderr log has in hand to be written, or to
 * fail, before a process.exit. pino's exit flush retries a write that fails for good (EPIPE from a
 * reader that left, `ship-hub serve 2>&1 | head`; EIO from a terminal that hung up) for ever, so the
 * hub's last line ("shutting down") kept it spinning at SIGTERM instead of exiting. Failed, the
 * stream is destroyed (silenceWhenStderrCloses) and there is nothing left to retry; a reader that
 * does not read within the time is given up on the same way.
 */
export async function settleLogs(timeoutMs = 1000): Promise<void> {
  await Promise.all(
    [...bufferedStderr].map(
      (stream) =>
        new Promise<void>((settled) => {
          // SonicBoom's own flags (not in its types): nothing in hand, nothing to wait for.
          const state = stream as unknown as { destroyed?: boolean; _writing?: boolean };
          if (state.destroyed === true || state._writing !== true) return settled();
          const finish = () => {
            clearTimeout(timer);
            stream.off("drain", finish);
            stream.off("error", finish);
            settled();
          };
          const timer = setTimeout(() => {
            stream.destroy();
            finish();
          }, timeoutMs);
          stream.on("drain", finish);
          stream.on("error", finish);
        }),
    ),
  );
}

/** The log files this process writes, by path: one per file, however many loggers write it. */
const openFiles = new Map<string, LogFile>();

/**
 * Opens each log file afresh by its name (after logrotate moved it): `ship agent` runs for weeks,
 * and kept writing into the rotated file. Returns how many were reopened.
 */
export function reopenLogFiles(): number {
  for (const file of openFiles.values()) file.reopen();
  return openFiles.size;
}

export function createLogger(options: LoggerOptions = {}): Logger {
  const name = options.name ?? "ship";
  if (options.file !== undefined) {
    const base = pino(
      { name, level: options.level ?? "info", redact: REDACT_PATHS },
      logFile(options.file, name),
    );
    return wrap(base, {}, false);
  }
  const stream = destination({ dest: 2, sync: options.sync ?? false });
  if (options.sync !== true) bufferedStderr.add(stream);
  const base = pino({ name, level: options.level ?? "info", redact: REDACT_PATHS }, stream);
  silenceWhenStderrCloses(stream, base);
  return wrap(base, {}, true);
}

/**
 * The log file at `path`, shared by every logger on it. One that cannot be written (/var/log
 * filled by another program: ENOSPC) threw out of the log call, and every run ended at its first
 * line ("internal error: ENOSPC", exit 1, nothing installed) while the app's own disk had room.
 * The log is no part of the update: its lines are dropped while it cannot be written, stderr
 * saying so once when that starts, naming the file, and once when it is written again.
 */
function logFile(path: string, name: string): LogFile {
  let file = openFiles.get(path);
  if (file === undefined) {
    const said = `${name}: warning: ${path} ([general.logging] file)`;
    file = new LogFile(path, {
      failed: (reason) =>
        process.stderr.write(
          `${said} cannot be written: ${reason}; log lines are dropped until it can be written again\n`,
        ),
      resumed: (dropped) =>
        process.stderr.write(
          `${name}: ${path} ([general.logging] file) is written again; ${dropped} log line${dropped === 1 ? " was" : "s were"} dropped meanwhile\n`,
        ),
    });
    openFiles.set(path, file);
  }
  return file;
}

/**
 * stderr was a terminal that hung up (EIO: the ssh session of a `ship` run started by hand
 * dropped; SIGHUP is let pass, outlive-terminal.ts), a pipe whose reader left (EPIPE), or a file
 * on a full disk (`2>>ship.err`: ENOSPC, EDQUOT, EFBIG): the write threw out of the log call, and
 * the run died mid-update (on a full disk, at its first line, exit 1 and nothing installed).
 * stderr is where such a failure would be told, so the logger falls silent and the work goes on.
 */
function silenceWhenStderrCloses(stream: ReturnType<typeof destination>, base: PinoLogger): void {
  stream.on("error", () => {
    base.level = "silent";
    // What the buffered stream (the hub's) still held was written again at exit, for ever: its
    // flushSync retries every failed write, so `ship-hub serve` whose terminal hung up spun at
    // SIGTERM instead of stopping. Destroyed, the stream drops it; fd 2 itself stays open.
    stream.destroy();
  });
}

/**
 * Bindings are merged into each line here rather than with pino's child(): pino writes a child's
 * bindings and the call's fields side by side, so a field both name (`app` on an app's logger and
 * in "applied update") appeared twice in one JSON object — which Elasticsearch and other strict
 * parsers reject. Here the call's value wins, once.
 */
function wrap(p: PinoLogger, bindings: Record<string, unknown>, toStderr: boolean): Logger {
  // The level is checked first so a filtered-out debug line costs no merged object.
  const line =
    (level: "debug" | "info" | "warn" | "error") => (msg: string, data?: Record<string, unknown>) => {
      if (!p.isLevelEnabled(level)) return;
      if (toStderr) endOpenLine();
      p[level](data ? { ...bindings, ...data } : bindings, msg);
    };
  return {
    debug: line("debug"),
    info: line("info"),
    warn: line("warn"),
    error: line("error"),
    child: (more) => wrap(p, { ...bindings, ...more }, toStderr),
    enabled: (level) => p.isLevelEnabled(level),
    always: (level, msg, data) => {
      // "silent" is a logger told to write nothing at all, or one whose stderr went away.
      if (p.level === "silent") return;
      if (toStderr) endOpenLine();
      // A child with its own level writes to the same stream; bindings are merged here, as above.
      p.child({}, { level: "debug" })[level](data ? { ...bindings, ...data } : bindings, msg);
    },
  };
}

/** A logger that keeps lines in memory, for tests and for reports sent to the hub. */
export function memoryLogger(
  lines: { level: string; msg: string; data?: Record<string, unknown> }[] = [],
): Logger {
  const make = (bindings: Record<string, unknown>): Logger => ({
    debug: (msg, data) => lines.push({ level: "debug", msg, data: { ...bindings, ...data } }),
    info: (msg, data) => lines.push({ level: "info", msg, data: { ...bindings, ...data } }),
    warn: (msg, data) => lines.push({ level: "warn", msg, data: { ...bindings, ...data } }),
    error: (msg, data) => lines.push({ level: "error", msg, data: { ...bindings, ...data } }),
    child: (more) => make({ ...bindings, ...more }),
  });
  return make({});
}
