/**
 * How deep a config may nest for a merge. Reading, comparing and writing a config recurse once per
 * level, so a file nested some thousands of levels deep ran the stack out: TOML stopped the update
 * at the apply with exit 1 and "Maximum call stack size exceeded" (the pre_update hooks already
 * run), JSON was refused as "not valid JSON" at 1:1 and YAML with the stack's message. Such a copy
 * is now refused as bad input when it is read (exit 2, before anything runs), saying how deep it
 * nests and where. No real config comes near the limit; a merge of one this deep still fits.
 */

import { countText } from "../../shared/count-text.js";
import { type CopyRole, lineColumnAt, parseFailure } from "./parse-error.js";
import { isTable } from "./values.js";

export const MAX_NESTING = 500;

const LIMIT = countText(MAX_NESTING);
const TOO_DEEP = `it nests tables and lists more than ${LIMIT} levels deep; a merge follows at most ${LIMIT} levels`;

/** The failure for a copy nested past the limit, at `position` when known. */
export const tooDeep = (fileName: string, role: CopyRole, position?: { line: number; column: number }) =>
  parseFailure(fileName, role, TOO_DEEP, position);

/**
 * Refuses a text whose brackets (`{`, `[`, outside strings) nest deeper than the limit, before a
 * parser that recurses per level reads it: JSON, TOML inline tables (YAML: yaml-nesting.ts).
 */
export function checkBracketNesting(text: string, fileName: string, role: CopyRole): void {
  let depth = 0;
  let quote: string | undefined;
  for (let at = 0; at < text.length; at++) {
    const c = text[at];
    if (quote !== undefined) {
      if (c === "\\" && quote === '"') at++;
      else if (c === quote) quote = undefined;
    } else if (c === '"' || c === "'") quote = c;
    else if (c === "\n") quote = undefined;
    else if (c === "{" || c === "[") {
      if (++depth > MAX_NESTING) throw tooDeep(fileName, role, lineColumnAt(text, at));
    } else if (c === "}" || c === "]") depth = Math.max(0, depth - 1);
  }
}

/**
 * Refuses a parsed value nesting deeper than the limit (TOML dotted keys and headers, a YAML alias
 * used deep down that names a deep collection), naming the path down to the first level past it.
 * Counted without recursion.
 */
export function checkValueNesting(value: unknown, fileName: string, role: CopyRole): void {
  // The first keys of each path only, to name where it goes deep.
  const stack: { value: unknown; depth: number; head: string[] }[] = [{ value, depth: 1, head: [] }];
  for (let node = stack.pop(); node !== undefined; node = stack.pop()) {
    if (node.depth > MAX_NESTING)
      throw parseFailure(fileName, role, `${TOO_DEEP} (under ${node.head.join(".")}.…)`);
    const { value: here, depth, head } = node;
    const children = Array.isArray(here) ? [...here.entries()] : isTable(here) ? Object.entries(here) : [];
    for (const [key, child] of children) {
      if (!Array.isArray(child) && !isTable(child)) continue;
      stack.push({ value: child, depth: depth + 1, head: head.length < 3 ? [...head, String(key)] : head });
    }
  }
}
