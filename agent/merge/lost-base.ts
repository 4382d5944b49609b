/**
 * A merged config whose previous release's copy (ship's own, `<state>/base/<sha256>`) the install
 * index names but that is gone (deleted by hand, a state directory restored from elsewhere). The
 * merge can only go two-way, keeping every value of the operator's copy: those still at the previous
 * release's default look like the operator's, and a default the release changed never reaches them;
 * a key the operator deleted reads as new in the release and comes back. That went without a word,
 * as if it were a first install; it is said, naming the values and keys in doubt.
 */
import type { FileStrategy } from "./plan.js";

/** How many of the values in doubt the warning names before it counts the rest. */
const NAMED = 10;

/**
 * The WARNING for a merge whose previous release's copy at `path` is gone; undefined when the merge
 * would not have read it (replace takes the release's values whatever the operator changed), or,
 * under update_only (which keeps every value of the operator's either way), when no key was added:
 * only the keys the operator deleted, which the previous release's copy told from new ones, came back.
 */
export function lostBaseWarning(
  path: string,
  strategy: FileStrategy,
  hasSections: boolean,
  report: { kept: readonly string[]; added: readonly string[] },
  /** The copy is there but not what its name (its sha256) records: edited or cut short since. */
  damaged = false,
): string | undefined {
  if (strategy === "replace" && !hasSections) return undefined;
  const gone = damaged
    ? `ship's copy of the previous release's file (${path}) is not the bytes its name records (edited or cut short since), so the merge did not use it and could not tell`
    : `ship's copy of the previous release's file is gone (${path}), so the merge could not tell`;
  const added =
    report.added.length === 0
      ? ""
      : `the keys your copy lacked were added (${named(report.added)}), so any of them you had deleted is back: delete it again`;
  if (strategy === "update_only" && !hasSections)
    return added === ""
      ? undefined
      : `${gone} the keys you had deleted from keys new in this release: ${added}`;
  const which =
    report.kept.length === 0
      ? "no value of yours differs from the release's"
      : `the values that differ from the release's were kept as yours (${named(report.kept)})`;
  const deleted = added === "" ? "" : `; nor could it tell the keys you had deleted from new ones: ${added}`;
  return `${gone} your values from that release's defaults: ${which}, and keys the release no longer has stayed; any of them may be the previous release's default, whose new value then did not reach you: compare with the release's copy and set those by hand: later updates merge against this release's copy, and take them for yours too${deleted}`;
}

/** The first keys of a list, counting the rest. */
function named(keys: readonly string[]): string {
  const more = keys.length > NAMED ? ` and ${keys.length - NAMED} more` : "";
  return keys.slice(0, NAMED).join(", ") + more;
}
