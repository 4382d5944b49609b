/**
 * The bounds a `--spec` file's YAML is read within, the rules every YAML text ship reads is held to
 * (shared/yaml-depth.ts): it was read with none, so one nested 20,000 deep said "Maximum call stack
 * size exceeded" and a "billion laughs" of aliases was exit 1 with the yaml library's "Excessive
 * alias count", neither naming the file. A real spec nests five levels and repeats a list of agent
 * ids or a wave's settings through an alias a few times.
 */
import type { Document, LineCounter } from "yaml";
import { MAX_NAMED_AGENTS } from "../../shared/api/bodies.js";
import { countText } from "../../shared/count-text.js";
import { firstAliasPastCount, firstAliasPastDepth, firstYamlPastDepth } from "../../shared/yaml-depth.js";

/** Levels of lists and mappings: a spec's deepest key (`waves[0].labels.K`) is four down. */
export const SPEC_MAX_DEPTH = 32;

/** Keys, values and list items aliases may repeat in all: as many as a rollout may name agents. */
export const SPEC_MAX_ALIAS_VALUES = MAX_NAMED_AGENTS;

/** What in `doc` (parsed from `text`) is past the bounds, and where; undefined when nothing is. */
export function specYamlProblem(
  doc: Document,
  text: string,
  lines: LineCounter,
): { line: number; col: number; message: string } | undefined {
  const at = (offset: number, message: string) => ({ ...lines.linePos(offset), message });
  const deep = firstYamlPastDepth(doc, text, SPEC_MAX_DEPTH);
  if (deep !== undefined) return at(deep, `nests deeper than ${SPEC_MAX_DEPTH} levels`);
  // A text the parser refused is said as its syntax error; the aliases of one it took are measured
  // as toJS would expand them.
  if (doc.errors.length > 0) return undefined;
  const landing = firstAliasPastDepth(doc, SPEC_MAX_DEPTH);
  if (landing !== undefined)
    return at(landing, `nests deeper than ${SPEC_MAX_DEPTH} levels once its aliases are expanded`);
  const repeating = firstAliasPastCount(doc, SPEC_MAX_ALIAS_VALUES);
  if (repeating !== undefined)
    return at(
      repeating,
      `its aliases repeat more than ${countText(SPEC_MAX_ALIAS_VALUES)} values in all, the limit (an alias counts as each key, value and list item it repeats)`,
    );
  return undefined;
}
