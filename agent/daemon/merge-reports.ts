/**
 * Merge reports shortened to what the hub accepts (shared/protocol/messages.ts MergeReport): a
 * report the hub refused would lose the whole update's outcome, so long lists end in "… N more".
 */
import type { MergeReport } from "../../shared/protocol/messages.js";

const MAX_FILES = 200;
const MAX_KEYS = 1000;
const MAX_KEY_LENGTH = 1000;
const MAX_WARNINGS = 50;
const MAX_WARNING_LENGTH = 2000;

export function fitMergeReports(reports: readonly MergeReport[]): MergeReport[] {
  return reports.slice(0, MAX_FILES).map((r) => ({
    file: r.file.slice(0, MAX_KEY_LENGTH),
    kept: shorten(r.kept, MAX_KEYS, MAX_KEY_LENGTH),
    added: shorten(r.added, MAX_KEYS, MAX_KEY_LENGTH),
    updated: shorten(r.updated, MAX_KEYS, MAX_KEY_LENGTH),
    removed: shorten(r.removed, MAX_KEYS, MAX_KEY_LENGTH),
    warnings: shorten(r.warnings, MAX_WARNINGS, MAX_WARNING_LENGTH),
  }));
}

function shorten(items: readonly string[], count: number, length: number): string[] {
  const shortened = items.map((item) => item.slice(0, length));
  if (shortened.length <= count) return shortened;
  return [...shortened.slice(0, count - 1), `… ${shortened.length - count + 1} more`];
}

/** A report's own warnings, shortened as a merge's are. */
export function fitWarnings(warnings: readonly string[]): string[] {
  return shorten(warnings, MAX_WARNINGS, MAX_WARNING_LENGTH);
}
