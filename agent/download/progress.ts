/**
 * Progress of long work for people: a bar redrawn in place on a terminal, a log line every few
 * seconds otherwise (journald would keep every redraw of a bar). Used for downloads (bytes), an
 * archive's extraction (bytes of the archive read), a release directory's staging (bytes), the
 * apply (changes), a restore (files), a git fetch (objects), and `ship release` packing and uploads
 * (bytes).
 */

import { countText } from "../../shared/count-text.js";
import { lineLeftOpen } from "../../shared/open-line.js";
import type { SourceLog } from "../sources/types.js";

export type ProgressUnit = "bytes" | "files" | "changes" | "objects";

export type ProgressCallback = (done: number, total: number | undefined) => void;

export interface ProgressOptions {
  /** What is being worked on (a file name, an app). */
  label: string;
  /** Where the periodic lines go when not on a terminal: a log, or `line` for plain text. */
  log?: SourceLog;
  /** Plain text lines instead of log records (a CLI that prints text, such as `ship release`). */
  line?: (text: string) => void;
  /** The log message and the bar's verb; default "downloading". */
  action?: string;
  /** What `done` and `total` count; default bytes. */
  unit?: ProgressUnit;
  /**
   * Nothing is shown until this much time has passed since the first report (ms; default 0): short
   * work stays silent, and its end is shown only when something was shown before. Counted from the
   * first report, not from the reporter's creation: what ran before the work started (collecting
   * the files to pack, say) would otherwise use up the delay and show a first line at 0 %.
   */
  delayMs?: number;
  /** Defaults to process.stderr; a TTY gets the bar. */
  stream?: NodeJS.WriteStream;
  /** Minimum time between log lines when not on a TTY. */
  logIntervalMs?: number;
  now?: () => number;
}

/**
 * How long local work (extraction, staging, apply, restore, packing, uploads) runs before its
 * progress is shown: an everyday 1 %-change update finishes well inside it and prints nothing extra.
 */
export const PROGRESS_DELAY_MS = 1_000;

/** The bar is redrawn at most this often (ms), and always at the end. */
const REDRAW_MS = 100;

export function progressReporter(options: ProgressOptions): ProgressCallback {
  // Plain lines (`line`) are what an injected writer gets; a terminal bar needs a real stream.
  const stream = options.stream ?? (options.line === undefined ? process.stderr : undefined);
  const now = options.now ?? Date.now;
  const interval = options.logIntervalMs ?? 5_000;
  const action = options.action ?? "downloading";
  const unit = options.unit ?? "bytes";
  const delayMs = options.delayMs ?? 0;
  // Set by the first report (see delayMs).
  let started: number | undefined;
  let shown = false;
  // Progress is info: a log that drops info lines (`--quiet`, level = "ERROR") gets no bar either.
  if (options.log?.enabled?.("info") === false) return () => undefined;
  if (stream?.isTTY) {
    let lastDraw = Number.NEGATIVE_INFINITY;
    return (done, total) => {
      const finished = total !== undefined && done >= total;
      const t = now();
      started ??= t;
      if (!shown && delayMs > 0 && (finished || t - started < delayMs)) return;
      // A redraw per file of a 20,000-file apply would cost more than the apply.
      if (!finished && t - lastDraw < REDRAW_MS) return;
      lastDraw = t;
      shown = true;
      const label = `${action} ${options.label}`;
      stream.write(`\r${renderBar(label, done, total, stream.columns ?? 80, unit)}`);
      if (finished) stream.write("\n");
      lineLeftOpen(finished ? undefined : stream);
    };
  }
  let lastLog: number | undefined;
  return (done, total) => {
    const finished = total !== undefined && done >= total;
    const t = now();
    started ??= t;
    lastLog ??= t;
    if (!shown && delayMs > 0) {
      // Short work stays silent: neither its end nor anything before the delay is shown.
      if (finished || t - started < delayMs) return;
    } else if (!finished && t - lastLog < interval) return;
    lastLog = t;
    shown = true;
    const percent = total === undefined || total === 0 ? undefined : Math.floor((done / total) * 100);
    if (options.line !== undefined) {
      const format = unit === "bytes" ? formatBytes : countText;
      const amount = total === undefined ? format(done) : `${format(done)} of ${format(total)}`;
      const suffix = unit === "bytes" ? "" : ` ${unit}`;
      options.line(
        `${action} ${options.label}: ${amount}${suffix}${percent === undefined ? "" : ` (${percent}%)`}`,
      );
    } else options.log?.info(action, { what: options.label, [unit]: done, total, percent });
  };
}

export function renderBar(
  label: string,
  done: number,
  total: number | undefined,
  columns: number,
  unit: ProgressUnit = "bytes",
): string {
  const format = unit === "bytes" ? formatBytes : countText;
  const amount = total === undefined ? format(done) : `${format(done)}/${format(total)}`;
  const suffix = unit === "bytes" ? "" : ` ${unit}`;
  if (total === undefined || total === 0) return `${label} ${amount}${suffix}`;
  const fraction = Math.min(1, done / total);
  const width = Math.max(10, Math.min(40, columns - label.length - amount.length - suffix.length - 10));
  const filled = Math.round(fraction * width);
  const pct = `${Math.floor(fraction * 100)}%`.padStart(4);
  return `${label} [${"#".repeat(filled)}${"-".repeat(width - filled)}] ${pct} ${amount}${suffix}`;
}

function formatBytes(n: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let value = n;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(1)} ${units[unit]}`;
}
