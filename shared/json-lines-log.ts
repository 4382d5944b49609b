/**
 * The agent CLI's logger: the JSON lines pino writes (level number, time, pid, hostname, name, the
 * bindings, the data, msg; REDACT_PATHS censored), written synchronously by a few lines of code.
 * Why not pino itself: loading and setting it up costs ~20 ms of a `ship --rollback` that must stay
 * within 2× of `node -e 0` (issue 11), and the agent needs none of its transports or serializers.
 * The hub keeps pino (shared/log.ts createLogger).
 */
import { mkdirSync, openSync, writeSync } from "node:fs";
import { hostname } from "node:os";
import { dirname } from "node:path";
import type { Logger, LoggerOptions } from "./log.js";

/** Header and token fields that must never reach logs or reports (pino's redact path syntax). */
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

const LEVELS = { debug: 20, info: 30, warn: 40, error: 50 } as const;
type Level = keyof typeof LEVELS;
const CENSOR = "[Redacted]";
const REDACT = REDACT_PATHS.map((p) => p.split("."));

type Sink = (line: string) => void;

export function createJsonLinesLogger(options: LoggerOptions = {}): Logger {
  const threshold = options.level === "silent" ? Number.POSITIVE_INFINITY : LEVELS[options.level ?? "info"];
  const sink = options.file === undefined ? fdSink(2) : fileSink(options.file);
  const base = { pid: process.pid, hostname: hostname(), name: options.name ?? "ship" };
  return make(base, threshold, sink);
}

function make(bindings: Record<string, unknown>, threshold: number, sink: Sink): Logger {
  const at =
    (level: Level) =>
    (msg: string, data?: Record<string, unknown>): void => {
      if (LEVELS[level] < threshold) return;
      const record = { level: LEVELS[level], time: Date.now(), ...bindings, ...data, msg };
      sink(`${serialize(redact(record, REDACT))}\n`);
    };
  return {
    debug: at("debug"),
    info: at("info"),
    warn: at("warn"),
    error: at("error"),
    child: (more) => make({ ...bindings, ...more }, threshold, sink),
  };
}

/** A copy of `value` with every path's value censored; only the objects on a path are copied. */
export function redact(value: Record<string, unknown>, paths: readonly string[][]): Record<string, unknown> {
  let out = value;
  for (const path of paths) out = censorPath(out, path);
  return out;
}

function censorPath(obj: Record<string, unknown>, path: readonly string[]): Record<string, unknown> {
  const [head, ...rest] = path;
  if (head === undefined) return obj;
  const keys = head === "*" ? Object.keys(obj) : Object.hasOwn(obj, head) ? [head] : [];
  let copy: Record<string, unknown> | undefined;
  for (const key of keys) {
    const current = obj[key];
    let next: unknown;
    if (rest.length === 0) next = CENSOR;
    else if (isPlainRecord(current)) next = censorPath(current, rest);
    else continue;
    if (next === current) continue;
    copy ??= { ...obj };
    copy[key] = next;
  }
  return copy ?? obj;
}

function isPlainRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** JSON.stringify that never throws on what a log call may carry: cycles, BigInt, Errors. */
function serialize(record: Record<string, unknown>): string {
  const seen = new WeakSet<object>();
  return JSON.stringify(record, (_key, value: unknown) => {
    if (typeof value === "bigint") return value.toString();
    if (value instanceof Error) return { type: value.name, message: value.message, stack: value.stack };
    if (typeof value === "object" && value !== null) {
      if (seen.has(value)) return "[Circular]";
      seen.add(value);
    }
    return value;
  });
}

/** Whole lines, synchronously (as pino's default destination): none is lost when the process exits. */
function fdSink(fd: number): Sink {
  return (line) => {
    const bytes = Buffer.from(line);
    let off = 0;
    while (off < bytes.length) {
      try {
        off += writeSync(fd, bytes, off);
      } catch (error) {
        // A non-blocking pipe that is full: wait for the reader, as sonic-boom does.
        if ((error as NodeJS.ErrnoException).code !== "EAGAIN") throw error;
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1);
      }
    }
  };
}

/** `[general.logging] file`: appended to, its directory created, like pino's destination(mkdir). */
function fileSink(file: string): Sink {
  mkdirSync(dirname(file), { recursive: true });
  return fdSink(openSync(file, "a"));
}
