/**
 * JSON merges: the merged values are written in the server copy's indentation (detected) and line
 * endings, then the user's own lines are carried over wherever the merge did not change them
 * (carry-layout.ts): inline objects, other spacing, number spellings (1.0, 1e3) and \u escapes
 * stay (spellings and escapes on the lines the merge changes too). A line whose layout could not
 * be kept is named in a warning.
 */

import { errorMessage } from "../../shared/errors.js";
import { applyEditsToValue } from "./apply-plain.js";
import { LAYOUT_OF, withUserLayout } from "./carry-layout.js";
import { charAt, codeOf, unseenCharName } from "./char-names.js";
import { decimalOf, numberDecimal } from "./exact-floats.js";
import { inlineLayout, inlineWhereItemsStand } from "./json-inline.js";
import { syntaxError, syntaxErrorAt } from "./json-syntax.js";
import { followItems, numberSpellings, type RepeatedKey, readJson, writeJson } from "./json-values.js";
import { checkBracketNesting } from "./nesting.js";
import { type CopyRole, firstWritten, lineColumnAt, parseFailure } from "./parse-error.js";
import type { MergeEdit } from "./plan.js";
import { sameValue } from "./values.js";

export function parseJson(text: string, fileName: string, role: CopyRole): unknown {
  checkBracketNesting(text, fileName, role);
  const repeats: RepeatedKey[] = [];
  let value: unknown;
  try {
    JSON.parse(text);
    value = readJson(text, repeats);
  } catch (error) {
    if (text.trim() === "")
      throw parseFailure(fileName, role, "the file is empty (a JSON config needs at least {})", {
        line: 1,
        column: 1,
      });
    const message = errorMessage(error);
    const v8Offset = /at position (\d+)/.exec(message)?.[1];
    const offset = v8Offset === undefined ? syntaxErrorAt(text) : Number(v8Offset);
    const position = offset === undefined ? { line: 1, column: 1 } : lineColumnAt(text, offset);
    throw parseFailure(
      fileName,
      role,
      reasonAt(text, offset, v8Offset === undefined ? undefined : message),
      position,
    );
  }
  // Refused as YAML and TOML refuse them: readers disagree on which one counts (JSON.parse and Go
  // take the last, some the first, serde refuses the file), and a merge that edits one leaves the
  // other stale where another reader looks.
  const repeat = repeats[0];
  if (repeat !== undefined) {
    throw parseFailure(
      fileName,
      role,
      `the key ${JSON.stringify(repeat.key)} is written twice in one object (also ${firstWritten(text, repeat.first, repeat.offset)}); remove one`,
      lineColumnAt(text, repeat.offset),
    );
  }
  return value;
}

/**
 * Why the text does not parse, in words that never quote the file beyond the offending character:
 * V8's message when it has a position (it then quotes nothing), a JSONC/JSON5 habit by name.
 */
function reasonAt(text: string, offset: number | undefined, positioned: string | undefined): string {
  if (offset !== undefined) {
    const unseen = unseenCharReason(text, offset);
    if (unseen !== undefined) return unseen;
    const at = text.slice(offset);
    // VS Code settings, tsconfig and JSON5 files allow `//` and `/*`; JSON does not.
    // A `#` note, as YAML and TOML write one, is no more JSON than these.
    if (/^(?:\/\/|\/\*|#)/.test(at)) return "a comment, which JSON does not allow (remove it)";
    if (/^[}\]]/.test(at) && /,\s*$/.test(text.slice(0, offset)))
      return "a comma before the closing bracket, which JSON does not allow (remove it)";
  }
  if (positioned !== undefined) return positioned.replace(/( in JSON)? at position \d+.*$/, "");
  if (offset === undefined) return "not valid JSON";
  if (offset >= text.length) return "the file ends before its JSON does";
  return `unexpected ${JSON.stringify(text[offset])}`;
}

/**
 * A character that shows as nothing refused at `offset`, named by its code: V8's "Bad control
 * character in string literal" or "Expected double-quoted property name" at a NUL byte or a
 * no-break space pointed at a line that reads as valid JSON.
 */
function unseenCharReason(text: string, offset: number): string | undefined {
  const char = charAt(text, offset);
  const name = char === undefined ? undefined : unseenCharName(char);
  if (char === undefined || name === undefined) return undefined;
  const found = syntaxError(text);
  return found?.offset === offset && found.inString
    ? `${name} in a string, which JSON does not allow (write it as \\u${codeOf(char)})`
    : `${name}, which JSON does not allow outside a string (remove it)`;
}

export function renderJsonMerge(
  userText: string,
  user: unknown,
  release: unknown,
  edits: MergeEdit[],
  releaseText = "",
  /** The values with floats as written (float-literals.ts), which array items pair by. */
  exact: { user: unknown; release: unknown } = { user, release },
): { text: string; warnings: string[] } {
  if (edits.length === 0) return { text: userText, warnings: [] };
  const merged = applyEditsToValue(user, release, edits);
  // Items whose values one double reads alike (`"id": 0.1`, `"id": 0.10000000000000001`) are two
  // items: paired as one, the user's `1.50` of one went to the other.
  const exactMerged =
    exact.user === user && exact.release === release
      ? merged
      : applyEditsToValue(exact.user, exact.release, edits);
  const eol = userText.includes("\r\n") ? "\r\n" : "\n";
  const mine = numberSpellings(userText);
  const taken = takenPaths(edits);
  const theirs = new Map(
    [...(releaseText === "" ? [] : numberSpellings(releaseText))].filter(([key]) => taken(key)),
  );
  const inline = inlineLayout(userText, user, releaseText);
  const layout = {
    indent: detectIndent(userText),
    inline,
    // A value the release sets is written as the release spells it (JSON.stringify would round
    // 0.1000000000000000055511151231257827 to 0.1 and turn -0.0 into 0); the user's own first. The
    // release's spellings stand for its values only: its `5e-1` is no respelling of a `0.5` of yours.
    spellings: [withoutOtherDecimals(followItems(mine, exact.user, exactMerged), theirs, taken), theirs],
  };
  // The user's values as they spell them: the release's spelling of the same double (`1e500` for
  // `1e400`) made the user's line read as the merged one, and the release's value was not written.
  const write = (value: unknown, spellings = layout.spellings, lines = inline) => {
    const text = writeJson(value, { ...layout, spellings, inline: lines }).replaceAll("\n", eol);
    return /\r?\n$/.test(userText) ? text + eol : text;
  };
  const means = (text: string) => {
    try {
      JSON.parse(text);
      return sameValue(readJson(text), merged);
    } catch {
      return false;
    }
  };
  const mergedInline = inlineWhereItemsStand(inline, user, merged, exact.user, exactMerged);
  return withUserLayout(
    userText,
    write(user, [mine]),
    write(merged, layout.spellings, mergedInline),
    means,
    [],
    LAYOUT_OF.json,
  );
}

/** The paths whose values the merge takes from the release (set or added there). */
function takenPaths(edits: readonly MergeEdit[]): (path: string) => boolean {
  const taken = edits.filter((edit) => edit.kind !== "remove").map((edit) => edit.path);
  return (key) => {
    // A spelling's key is a pathKey, or a keySpelling (`key ` and the pathKey).
    const path = JSON.parse(key.startsWith("key ") ? key.slice(4) : key) as (string | number)[];
    return taken.some((edit) => edit.every((step, i) => path[i] === step));
  };
}

/**
 * The user's number spellings but those of another decimal than the release's value they now stand
 * for: `1e400` read as the release's `1e500` (both a double's Infinity), and wrote the user's value
 * back over the release's. Their other spellings (`1.50` for `1.5`, `caf\u00e9`) stay.
 */
function withoutOtherDecimals(
  spellings: Map<string, string>,
  release: ReadonlyMap<string, string>,
  taken: (key: string) => boolean,
): Map<string, string> {
  for (const [key, token] of spellings) {
    const mine = key.startsWith("[") ? decimalOf(token) : undefined;
    if (mine === undefined || !taken(key)) continue;
    const theirs = release.get(key);
    if (mine !== (theirs === undefined ? numberDecimal(Number(token)) : decimalOf(theirs)))
      spellings.delete(key);
  }
  return spellings;
}

/** The first indented line's leading whitespace; a one-line file stays one line, `{\n}` gets two spaces. */
export function detectIndent(text: string): string {
  const match = /\r?\n([ \t]+)\S/.exec(text);
  return match?.[1] ?? (/\S\s*\n\s*\S/.test(text) ? "  " : "");
}
