/**
 * What a run's config merges did, in the words a person reads after "myapp: updated 1.0.0 → 2.0.0".
 * The key report and the merge's WARNINGs were only in the JSON log on stderr and in --json: a run
 * whose merge kept the operator's values, or one whose release replaced a merged config whole and
 * took their values along, printed the same one line.
 */
import { notMerged } from "../merge/not-merged.js";
import { mergesStand, replacedWhole } from "../pipeline/merge-warnings.js";
import type { AppReport } from "../pipeline/report.js";

/** Keys named per kind on the line; the rest are counted (--json and the log name them all). */
const NAMED_KEYS = 5;

/** One stdout line per merged file: `myapp: merged config.toml: 1 kept (a), 1 added (c), 0 updated, 0 removed`. */
export function mergeLines(app: AppReport): string[] {
  if (!mergesStand(app)) return [];
  return app.merges
    .filter((m) => !replacedWhole(m))
    .map((m) => {
      const instead = notMerged(m);
      if (instead !== undefined) return `${app.source}: ${instead}`;
      const kinds = [counted(m.kept, "kept"), counted(m.added, "added"), counted(m.updated, "updated")];
      // Keys the operator deleted that stay deleted, named only when there are some.
      const deleted = m.deleted === undefined ? [] : [counted(m.deleted, "deleted")];
      return `${app.source}: merged ${m.file}: ${[...kinds, counted(m.removed, "removed"), ...deleted].join(", ")}`;
    });
}

function counted(keys: readonly string[], kind: string): string {
  if (keys.length === 0) return `0 ${kind}`;
  const more = keys.length > NAMED_KEYS ? `, … ${keys.length - NAMED_KEYS} more` : "";
  return `${keys.length} ${kind} (${keys.slice(0, NAMED_KEYS).join(", ")}${more})`;
}
