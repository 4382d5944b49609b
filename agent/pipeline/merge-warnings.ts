/**
 * The WARNINGs of a run's config merges (comments that went, a config merged until now that the
 * release replaced whole, taking the operator's values along), for every place a person reads
 * the run: its plain output and its notifications. They were in the JSON log, `--json` and the
 * hub's report only.
 */
import type { MergeReport } from "../../shared/protocol/messages.js";
import type { AppReport } from "./report.js";

/** Results after which the merged files are in place: a restored update's merges were undone. */
const MERGES_STAND: ReadonlySet<AppReport["result"]> = new Set(["updated", "failed_not_rolled_back"]);

/** Whether the merged files of this run are in the app (false when the update was undone). */
export function mergesStand(app: AppReport): boolean {
  return MERGES_STAND.has(app.result);
}

/** The merges' WARNINGs, each naming its file; none when the update was undone. */
export function mergeWarnings(app: AppReport): string[] {
  if (!mergesStand(app)) return [];
  return app.merges.flatMap((m) =>
    m.warnings.map((w) => (replacedWhole(m) ? w : `merge of ${m.file}: ${w}`)),
  );
}

/**
 * A config merged until now that this release replaced whole (agent/merge/replaced-merge.ts): its
 * report lists the operator's values that went, and its one WARNING, which names the file, says so.
 */
export function replacedWhole(m: MergeReport): boolean {
  return m.warnings.some((w) => w.startsWith(`${m.file} was merged until now, but `));
}
