/**
 * A merged config whose previous release's copy (ship's own, `<state>/base/<sha256>`) the install
 * index names but that is gone (deleted by hand, a state directory restored from elsewhere). The
 * merge can only go two-way, keeping every value of the operator's copy: those still at the previous
 * release's default look like the operator's, and a default the release changed never reaches them.
 * That went without a word, as if it were a first install; it is said, naming the values in doubt.
 */
import type { FileStrategy } from "./plan.js";

/** How many of the values in doubt the warning names before it counts the rest. */
const NAMED = 10;

/**
 * The WARNING for a merge whose previous release's copy at `path` is gone; undefined when the merge
 * would not have read it (replace takes the release's values whatever the operator changed).
 */
export function lostBaseWarning(
  path: string,
  strategy: FileStrategy,
  hasSections: boolean,
  kept: readonly string[],
): string | undefined {
  if (strategy !== "preserve_user" && !hasSections) return undefined;
  const shown = kept.slice(0, NAMED).join(", ");
  const more = kept.length > NAMED ? ` and ${kept.length - NAMED} more` : "";
  const which =
    kept.length === 0
      ? "no value of yours differs from the release's"
      : `the values that differ from the release's were kept as yours (${shown}${more})`;
  return `ship's copy of the previous release's file is gone (${path}), so the merge could not tell your values from that release's defaults: ${which}, and keys the release no longer has stayed; any of them may be the previous release's default, whose new value then did not reach you: compare with the release's copy and set those by hand: later updates merge against this release's copy, and take them for yours too`;
}
