/**
 * How deep a YAML copy nests, and how much its aliases repeat, measured as every YAML text ship
 * reads is (shared/yaml-depth.ts).
 */
import type { Document } from "yaml";
import { countText } from "../../shared/count-text.js";
import { firstAliasPastCount, firstYamlPastDepth } from "../../shared/yaml-depth.js";
import { MAX_NESTING, tooDeep } from "./nesting.js";
import { type CopyRole, lineColumnAt, parseFailure } from "./parse-error.js";

/** Refuses a YAML copy whose lists and mappings nest deeper than the limit, at the first one past it. */
export function checkYamlNesting(doc: Document, text: string, fileName: string, role: CopyRole): void {
  const past = firstYamlPastDepth(doc, text, MAX_NESTING);
  if (past !== undefined) throw tooDeep(fileName, role, lineColumnAt(text, past));
}

/**
 * How many keys, values and list items a copy's aliases may repeat in all. Real configs repeat a
 * `<<: *defaults` block a few dozen times; toJS's cost grows with the square of the aliases (2,000
 * took 1 s of CPU, 16,000 over 30 s), and yaml's own bound (1,000 uses per anchor) let 20 anchors
 * used 800 times each through.
 */
export const MAX_ALIAS_VALUES = 10_000;

/** Refuses a copy (parsed without errors) whose aliases repeat more than MAX_ALIAS_VALUES values. */
export function checkYamlAliases(doc: Document, text: string, fileName: string, role: CopyRole): void {
  const past = firstAliasPastCount(doc, MAX_ALIAS_VALUES);
  if (past === undefined) return;
  throw parseFailure(
    fileName,
    role,
    `its aliases repeat more than ${countText(MAX_ALIAS_VALUES)} values in all, the limit (an alias counts as each key, value and list item it repeats)`,
    lineColumnAt(text, past),
  );
}
