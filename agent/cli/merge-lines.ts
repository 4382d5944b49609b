/**
 * What a run's config merges did, in the words a person reads after "myapp: updated 1.0.0 → 2.0.0".
 * The key report and the merge's WARNINGs were only in the JSON log on stderr and in --json: a run
 * whose merge kept the operator's values, or one whose release replaced a merged config whole and
 * took their values along, printed the same one line.
 */
import type { MergeReport } from "../../shared/protocol/messages.js";
import type { AppReport } from "../pipeline/report.js";

/** Keys named per kind on the line; the rest are counted (--json and the log name them all). */
const NAMED_KEYS = 5;

/** Results after which the merged files are in place: a restored update's merges were undone. */
const MERGES_STAND: ReadonlySet<AppReport["result"]> = new Set(["updated", "failed_not_rolled_back"]);

/** One stdout line per merged file: `myapp: merged config.toml: 1 kept (a), 1 added (c), 0 updated, 0 removed`. */
export function mergeLines(app: AppReport): string[] {
  if (!MERGES_STAND.has(app.result)) return [];
  return app.merges
    .filter((m) => !replacedWhole(m))
    .map((m) => {
      const kinds = [counted(m.kept, "kept"), counted(m.added, "added"), counted(m.updated, "updated")];
      return `${app.source}: merged ${m.file}: ${[...kinds, counted(m.removed, "removed")].join(", ")}`;
    });
}

/** The merges' WARNINGs (form lost, values of the operator's that went), each naming its file. */
export function mergeWarnings(app: AppReport): string[] {
  if (!MERGES_STAND.has(app.result)) return [];
  return app.merges.flatMap((m) =>
    m.warnings.map((w) => (replacedWhole(m) ? w : `merge of ${m.file}: ${w}`)),
  );
}

/**
 * A config merged until now that this release replaced whole (agent/merge/replaced-merge.ts): its
 * report lists the operator's values that went, and its one WARNING, which names the file, says so;
 * a "merged" line would say the opposite.
 */
function replacedWhole(m: MergeReport): boolean {
  return m.warnings.some((w) => w.startsWith(`${m.file} was merged until now, but `));
}

function counted(keys: readonly string[], kind: string): string {
  if (keys.length === 0) return `0 ${kind}`;
  const more = keys.length > NAMED_KEYS ? `, … ${keys.length - NAMED_KEYS} more` : "";
  return `${keys.length} ${kind} (${keys.slice(0, NAMED_KEYS).join(", ")}${more})`;
}
