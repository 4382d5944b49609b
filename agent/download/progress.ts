/**
 * Download progress for people: a bar redrawn in place on a terminal, a log line every few
 * seconds otherwise (journald would keep every redraw of a bar).
 */
import type { SourceLog } from "../sources/types.js";

export type ProgressCallback = (bytes: number, total: number | undefined) => void;

export interface ProgressOptions {
  label: string;
  log: SourceLog;
  /** Defaults to process.stderr; a TTY gets the bar. */
  stream?: NodeJS.WriteStream;
  /** Minimum time between log lines when not on a TTY. */
  logIntervalMs?: number;
  now?: () => number;
}

export function progressReporter(options: ProgressOptions): ProgressCallback {
  const stream = options.stream ?? process.stderr;
  const now = options.now ?? Date.now;
  const interval = options.logIntervalMs ?? 5_000;
  let lastLog = now();
  if (stream.isTTY) {
    return (bytes, total) => {
      stream.write(`\r${renderBar(options.label, bytes, total, stream.columns ?? 80)}`);
      if (total !== undefined && bytes >= total) stream.write("\n");
    };
  }
  return (bytes, total) => {
    const done = total !== undefined && bytes >= total;
    if (!done && now() - lastLog < interval) return;
    lastLog = now();
    const pct = total === undefined ? undefined : Math.floor((bytes / total) * 100);
    options.log.info("downloading", { what: options.label, bytes, total, percent: pct });
  };
}

export function renderBar(label: string, bytes: number, total: number | undefined, columns: number): string {
  const amount = total === undefined ? formatBytes(bytes) : `${formatBytes(bytes)}/${formatBytes(total)}`;
  if (total === undefined || total === 0) return `${label} ${amount}`;
  const fraction = Math.min(1, bytes / total);
  const width = Math.max(10, Math.min(40, columns - label.length - amount.length - 10));
  const filled = Math.round(fraction * width);
  const pct = `${Math.floor(fraction * 100)}%`.padStart(4);
  return `${label} [${"#".repeat(filled)}${"-".repeat(width - filled)}] ${pct} ${amount}`;
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
