/**
 * Merge reports shortened to what the hub accepts (shared/protocol/messages.ts MergeReport): a
 * report the hub refused would lose the whole update's outcome, so long lists end in "… N more".
 * All lists together hold at most MAX_ENTRIES: the hub refuses an agent message of more than
 * MAX_MESSAGE_VALUES values before validating it (shared/json-depth.ts), and a report it refused
 * would be sent again and again.
 */
import type { MergeReport } from "../../shared/protocol/messages.js";

const MAX_FILES = 200;
const MAX_KEYS = 1000;
const MAX_KEY_LENGTH = 1000;
const MAX_WARNINGS = 50;
const MAX_WARNING_LENGTH = 2000;
/** Entries of every list of every file together: with the rest of a report, well under the hub's bound. */
export const MAX_ENTRIES = 10_000;

export function fitMergeReports(reports: readonly MergeReport[]): MergeReport[] {
  let left = MAX_ENTRIES;
  const within = (items: readonly string[], count: number, length: number) => {
    const shortened = shorten(items, Math.max(1, Math.min(count, left)), length);
    left = Math.max(0, left - shortened.length);
    return shortened;
  };
  return reports.slice(0, MAX_FILES).map((r) => ({
    file: r.file.slice(0, MAX_KEY_LENGTH),
    kept: within(r.kept, MAX_KEYS, MAX_KEY_LENGTH),
    added: within(r.added, MAX_KEYS, MAX_KEY_LENGTH),
    updated: within(r.updated, MAX_KEYS, MAX_KEY_LENGTH),
    removed: within(r.removed, MAX_KEYS, MAX_KEY_LENGTH),
    warnings: within(r.warnings, MAX_WARNINGS, MAX_WARNING_LENGTH),
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
