/**
 * Merge reports shortened to what the hub accepts (shared/protocol/messages.ts MergeReport): a
 * report the hub refused would lose the whole update's outcome, so long lists end in "… N more".
 * All lists together hold at most MAX_ENTRIES: the hub refuses an agent message of more than
 * MAX_MESSAGE_VALUES values before validating it (shared/json-depth.ts), and a report it refused
 * would be sent again and again.
 */

import { countText } from "../../shared/count-text.js";
import type { MergeReport, Report } from "../../shared/protocol/messages.js";
import { textStart } from "../../shared/text-cut.js";

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
  // Past the hub's 200 files, the last entry says how many more were merged: they were dropped
  // without a word, and the hub's operator read the report as every file the update merged.
  const files =
    reports.length <= MAX_FILES
      ? reports
      : [...reports.slice(0, MAX_FILES - 1), moreFiles(reports.length - MAX_FILES + 1)];
  return files.map((r) => ({
    file: fitText(r.file, MAX_KEY_LENGTH),
    kept: within(r.kept, MAX_KEYS, MAX_KEY_LENGTH),
    added: within(r.added, MAX_KEYS, MAX_KEY_LENGTH),
    updated: within(r.updated, MAX_KEYS, MAX_KEY_LENGTH),
    removed: within(r.removed, MAX_KEYS, MAX_KEY_LENGTH),
    ...(r.deleted === undefined ? {} : { deleted: within(r.deleted, MAX_KEYS, MAX_KEY_LENGTH) }),
    warnings: within(r.warnings, MAX_WARNINGS, MAX_WARNING_LENGTH),
  }));
}

function moreFiles(count: number): MergeReport {
  const file = `… ${count} more merged files, not listed here (each in the agent's log on this host)`;
  return { file, kept: [], added: [], updated: [], removed: [], warnings: [] };
}

function shorten(items: readonly string[], count: number, length: number): string[] {
  const shortened = items.map((item) => fitText(item, length));
  if (shortened.length <= count) return shortened;
  return [...shortened.slice(0, count - 1), `… ${shortened.length - count + 1} more`];
}

/**
 * Text cut to what the hub accepts, saying so: a WARNING or error that ended mid-word at 2,000
 * (10,000) characters read as the whole of it, and the hub's operator could not tell that more of
 * it, and where, was on the host. The agent logs every warning and error in full.
 */
export function fitText(text: string, max: number): string {
  if (text.length <= max) return text;
  const note = ` … [cut at ${countText(max)} of ${countText(text.length)} characters; the whole text is in the agent's log on this host]`;
  return max > note.length * 2
    ? `${textStart(text, max - note.length)}${note}`
    : `${textStart(text, max - 1)}…`;
}

/** A report's own warnings, shortened as a merge's are. */
export function fitWarnings(warnings: readonly string[]): string[] {
  return shorten(warnings, MAX_WARNINGS, MAX_WARNING_LENGTH);
}

/** What a shortened report keeps of its error and of each warning, and how many warnings. */
const SHORT_ERROR = 1000;
const SHORT_WARNING = 300;
const SHORT_WARNINGS = 5;

/**
 * A report cut to a few KB: outcome, versions and steps whole, the error and warnings cut (saying
 * so), merges left out. For a hub whose max_message_kb is below a whole report: it closed the
 * channel on it (1009) and the report, resent whole at each reconnect, never arrived.
 */
export function shortenedReport(report: Report): Report {
  const { merges, steps, warnings = [], error, ...rest } = report;
  const note = `this report was shortened: the hub closed the channel on a larger one (its max_message_kb)${
    merges === undefined ? "" : `; ${merges.length} merged file(s) not listed`
  }; the whole report is in the agent's log on this host`;
  return {
    ...rest,
    ...(error === undefined ? {} : { error: fitText(error, SHORT_ERROR) }),
    steps: steps.map(({ log: _log, ...step }) => step),
    warnings: [...shorten(warnings, SHORT_WARNINGS, SHORT_WARNING), note],
  };
}
