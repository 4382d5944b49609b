/**
 * TOML merges. smol-toml parses to plain values and its stringify cannot reproduce comments,
 * blank lines, inline-table style, literal/multi-line strings, number spellings (0xff, 1_000) or
 * floats that happen to be whole (1.0 is written as 1). So the server copy's text is edited line by
 * line when every edit is a simple one (toml-text-edit.ts), and only otherwise rewritten from values.
 */
import { TomlError } from "smol-toml";
import { errorMessage } from "../../shared/errors.js";
import { applyEditsToValue } from "./apply-plain.js";
import { charAt, codeOf, unseenCharName } from "./char-names.js";
import { namedComment } from "./comment-names.js";
import { checkBracketNesting, checkValueNesting } from "./nesting.js";
import { type CopyRole, parseFailure } from "./parse-error.js";
import type { MergeEdit } from "./plan.js";
import { arrayBlocks, elementBlocks, type TomlSide } from "./toml-blocks.js";
import { pairElements } from "./toml-element-pairing.js";
import { entryHolding } from "./toml-entry-index.js";
import { membersOverLines } from "./toml-inline-lines.js";
import { scanToml, type TomlEntry, type TomlLayout, tomlCommentLines, tomlComments } from "./toml-scan.js";
import { editTomlText } from "./toml-text-edit.js";
import { readTomlValues, writeTomlValues } from "./toml-value-text.js";
import { isTable, keyName, sameValue, valueAt } from "./values.js";

/** What a rewrite from values loses, for the WARNING that names the file. */
export const REWRITE_WARNING =
  "rewrote the whole file from values because no text edit could express the merge: its comments, blank lines, " +
  "inline-table and string styles and number spellings (0xff, 1_000, 1.0) were lost";

export function parseToml(text: string, fileName: string, role: CopyRole): unknown {
  checkBracketNesting(text, fileName, role);
  let value: unknown;
  try {
    value = readTomlValues(text);
  } catch (error) {
    if (error instanceof TomlError) {
      const message = tomlErrorText(error, text);
      throw parseFailure(fileName, role, message, { line: error.line, column: error.column });
    }
    throw parseFailure(fileName, role, errorMessage(error));
  }
  checkValueNesting(value, fileName, role);
  return value;
}

/**
 * smol-toml's first line, without its "Invalid TOML document: " (the message says "does not parse"
 * already); a key or table defined twice is named, as YAML's repeated keys are.
 */
function tomlErrorText(error: TomlError, text: string): string {
  const first = (error.message.split("\n")[0] ?? error.message).replace(/^Invalid TOML document: /, "");
  if (first.startsWith("control characters are not allowed in strings"))
    return controlCharText(error, text) ?? first;
  const unseen = unseenCharText(error, text);
  if (unseen !== undefined) return unseen;
  if (!first.startsWith("trying to redefine")) return first;
  const lines = text.split("\n");
  const whole = lines[error.line - 1] ?? "";
  const line = whole.trim();
  const header = /^\[\[?\s*([^\]]*?)\s*\]/.exec(line)?.[1];
  // Inside an inline table (`a = {x = 1, x = 2}`) the error's column is at the repeated key: the
  // line's first key named `a`, which is written once.
  const inline =
    header === undefined && whole.slice(0, error.column - 1).includes("{")
      ? whole.slice(error.column - 1)
      : undefined;
  const key = header ?? /^([^=]*?)\s*=/.exec(inline ?? line)?.[1];
  if (key === undefined || key === "") return first;
  const what =
    header !== undefined
      ? `the table [${key}]`
      : inline === undefined
        ? `the key ${key}`
        : `the key ${key.trim()} in an inline table`;
  const earlier = firstDefinition(lines, error, header, inline === undefined ? key : key.trim(), inline);
  const holder = earlier === undefined && inline === undefined ? valueAbove(text, error.line) : undefined;
  if (holder !== undefined)
    return `${what} goes inside ${holder.name}, which line ${holder.line} sets to a value (an inline table is whole as written, and TOML adds nothing to a value): write it there, or write ${holder.name} as a [table]`;
  return `${what} is defined twice (${earlier === undefined ? "" : `also ${earlier}; `}TOML defines each key and table once, dotted keys and [table] headers alike); remove one or merge them`;
}

/**
 * What smol-toml calls a control character in a string: a line break is a string left open on its
 * line (a quote missing), which the words "control characters" did not tell; another one is named
 * by its code, with the escape that writes it.
 */
function controlCharText(error: TomlError, text: string): string | undefined {
  const char = charAtError(error, text);
  if (char === undefined)
    return `a string is not closed on its line (a quote is missing before the line ends; only a """ or ''' string goes over lines)`;
  const name = unseenCharName(char) ?? `the character U+${codeOf(char)}`;
  return `${name} in a string, which TOML does not allow (in a "…" string write it as \\u${codeOf(char)})`;
}

/**
 * A character that shows as nothing where smol-toml stopped outside a string ("illegal character in
 * key" at a NUL byte or a no-break space before a key), named by its code.
 */
function unseenCharText(error: TomlError, text: string): string | undefined {
  const char = charAtError(error, text);
  const name = char === undefined ? undefined : unseenCharName(char);
  return name === undefined ? undefined : `${name}, which TOML does not allow outside a string (remove it)`;
}

/** The character at the error's line and column (undefined at the line's end). */
function charAtError(error: TomlError, text: string): string | undefined {
  const line = text.split("\n")[error.line - 1]?.replace(/\r$/, "");
  return line === undefined ? undefined : charAt(line, error.column - 1);
}

/**
 * The key above line `lineNumber` that sets, to a value, a table the header or dotted key on that
 * line goes inside (`t = { u = 1 }` then `[s.t.x]` or `t.v = 2`): smol-toml calls that a
 * redefinition, which named a table defined nowhere else as "defined twice".
 */
function valueAbove(text: string, lineNumber: number): { name: string; line: number } | undefined {
  let layout: ReturnType<typeof scanToml>;
  try {
    layout = scanToml(text);
  } catch {
    return undefined;
  }
  let at = 0;
  for (let n = 1; n < lineNumber && at !== -1; n++) at = text.indexOf("\n", at) + 1 || -1;
  if (at === -1) return undefined;
  const path =
    layout.headers.find((h) => h.lineStart === at)?.path ??
    layout.entries.find((e) => e.lineStart === at)?.path;
  if (path === undefined) return undefined;
  const holder = layout.entries.find(
    (e) =>
      e.lineStart < at &&
      e.path !== undefined &&
      e.path.length < path.length &&
      e.path.every((part, i) => part === path[i]),
  );
  if (holder?.path === undefined) return undefined;
  return { name: keyName(holder.path), line: text.slice(0, holder.lineStart).split("\n").length };
}

const headerOf = (line: string) => /^\[\[?\s*([^\]]*?)\s*\]/.exec(line.trim())?.[1];

/**
 * Where the repeated header or key was written first, as JSON's and YAML's repeated keys say it:
 * an earlier `[db]`, the same key above in its table, or before it in one inline table. Undefined
 * where it was defined another way (a dotted key, an inline table for a header).
 */
function firstDefinition(
  lines: readonly string[],
  error: TomlError,
  header: string | undefined,
  key: string,
  inline: string | undefined,
): string | undefined {
  const at = error.line - 1;
  if (header !== undefined) {
    const first = lines.findIndex((line, n) => n < at && headerOf(line) === header);
    return first === -1 ? undefined : `on line ${first + 1}`;
  }
  if (inline !== undefined) {
    const before = (lines[at] ?? "").slice(0, error.column - 1);
    const escaped = key.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
    const found = new RegExp(`[{,]\\s*(${escaped})\\s*=`).exec(before);
    return found === null ? undefined : `at column ${found.index + found[0].indexOf(key) + 1} of that line`;
  }
  for (let n = at - 1; n >= 0; n--) {
    const line = lines[n] ?? "";
    if (headerOf(line) !== undefined) return undefined;
    if (/^\s*([^=#]*?)\s*=/.exec(line)?.[1] === key) return `on line ${n + 1}`;
  }
  return undefined;
}

export interface TomlRender {
  text: string;
  warnings: string[];
}

export function renderTomlMerge(
  userText: string,
  releaseText: string,
  user: unknown,
  release: unknown,
  edits: MergeEdit[],
  baseText?: string,
): TomlRender {
  if (edits.length === 0) return { text: userText, warnings: [] };
  const merged = applyEditsToValue(user, release, edits);
  // A file without a final newline is edited with one, and keeps going without it. The editor ends
  // a line it adds in CRLF in a file that has some (one mixing CRLF and LF): taking back only the
  // LF left a bare CR, which no TOML reader takes.
  const unended = userText !== "" && !userText.endsWith("\n");
  const ended = (text: string) => (unended ? text.replace(/\r?\n$/, "") : text);
  const edited = editTomlText(
    unended ? `${userText}\n` : userText,
    releaseText,
    user,
    release,
    merged,
    edits,
    baseText,
  );
  // The line editor only reads layout; the parser decides whether its result is the merge.
  if (edited !== undefined && parsesTo(edited, merged)) {
    return {
      text: ended(edited),
      warnings: replacedComments(userText, user, release, edits, edited, baseText),
    };
  }
  return {
    text: ended(writeTomlValues(merged)),
    warnings: [REWRITE_WARNING],
  };
}

/**
 * Comments inside values the release replaced whole (a multi-line array, [[blocks]]) go with them:
 * said, each with its line in the operator's copy (lost-comments.ts namedComment), as the safety
 * net names the comments it finds; a WARNING naming one of two like notes without it could not be
 * followed.
 */
function replacedComments(
  userText: string,
  user: unknown,
  release: unknown,
  edits: readonly MergeEdit[],
  result: string,
  baseText: string | undefined,
): string[] {
  const side = { text: userText, value: user, layout: scanToml(userText) };
  let written: TomlLayout | undefined;
  const flattenedSaid = new Set<string>();
  /**
   * An inline table the user wrote over lines that the merge wrote anew on one line (its members
   * not one per line, toml-inline-lines.ts): its layout went, said once per table.
   */
  const linesLost = (entry: TomlEntry, holder: readonly string[]): string | undefined => {
    const name = keyName([...holder]);
    if (flattenedSaid.has(name) || !membersOverLines(userText.slice(entry.valueStart, entry.valueEnd)))
      return undefined;
    written ??= scanToml(result);
    const now = entryHolding(written, holder);
    if (now === undefined || result.slice(now.valueStart, now.valueEnd).includes("\n")) return undefined;
    flattenedSaid.add(name);
    return `${name}: the inline table you wrote over lines was written anew on one line, to change a value inside it (a member there shares a line with another or spans lines, so their layout could not be kept)`;
  };
  // A comment the previous release shipped, replaced by the release's new note, is no loss of yours.
  const kept = new Set([...tomlComments(result), ...(baseText === undefined ? [] : tomlComments(baseText))]);
  const lines = tomlCommentLines(userText);
  const warnings: string[] = [];
  // By place: of two like notes on two dropped elements, each is named, at its line.
  const said = new Set<number>();
  /** The user's comments in `[start, end)` of their text that went and no warning named yet. */
  const goneIn = (start: number, end: number): string => {
    // A bare `#` line carries nothing to lose, as the safety net counts it (lost-comments.ts).
    // The lines are in the text's order: found from `start` on, not by reading every line per edit.
    const gone: typeof lines = [];
    for (let k = firstAtOrAfter(lines, start); k < lines.length && (lines[k]?.offset ?? end) < end; k++) {
      const c = lines[k] as (typeof lines)[number];
      if (c.comment.trim() !== "" && !kept.has(c.comment) && !said.has(c.offset)) gone.push(c);
    }
    for (const c of gone) said.add(c.offset);
    return gone.map(namedComment).join(", ");
  };
  for (const edit of edits) {
    const dropped = droppedElements(side, release, edit.path);
    for (const { label, start, end } of dropped ?? []) {
      const gone = goneIn(start, end);
      if (gone !== "")
        warnings.push(
          `${keyName(edit.path)}: the release dropped your element ${label}, and your comments on it went with it (${gone})`,
        );
    }
    const entry = entryHolding(side.layout, edit.path);
    // A key inside an inline table (`t = { a = [ … ] }`) is changed by writing that table anew.
    const holder = entry?.path !== undefined && entry.path.length < edit.path.length ? entry.path : undefined;
    const flattened = holder === undefined || entry === undefined ? undefined : linesLost(entry, holder);
    if (flattened !== undefined) warnings.push(flattened);
    if (edit.kind !== "set" && holder === undefined) continue;
    const stretches = entry
      ? [{ start: entry.valueStart, end: entry.valueEnd }]
      : (arrayBlocks(side, edit.path) ?? []).map((b) => ({ start: b.headerStart, end: b.contentEnd }));
    const comments = stretches
      .map(({ start, end }) => goneIn(start, end))
      .filter((gone) => gone !== "")
      .join(", ");
    if (comments === "") continue;
    warnings.push(
      holder === undefined
        ? `${keyName(edit.path)}: the release's value replaced yours, and your comments inside it went with it (${comments})`
        : `${keyName(holder)}: the inline table was written anew to change ${keyName(edit.path)}, and your comments inside it went with it (${comments})`,
    );
  }
  return warnings;
}

/** The index of the first comment line at or after `offset` (lines in the text's order). */
function firstAtOrAfter(lines: readonly { offset: number }[], offset: number): number {
  let low = 0;
  let high = lines.length;
  while (low < high) {
    const mid = (low + high) >> 1;
    if ((lines[mid]?.offset ?? offset) < offset) low = mid + 1;
    else high = mid;
  }
  return low;
}

/**
 * The user's `[[path]]` elements the release has none of (paired as the text edit pairs them), each
 * with where it is in the user's text, from the comments above its header, and a label naming it
 * (`module = "b.*"`, else its place): a dropped element's comments went with it, not with a value
 * the release replaced.
 */
function droppedElements(
  side: TomlSide,
  release: unknown,
  path: readonly string[],
): { label: string; start: number; end: number }[] | undefined {
  const blocks = arrayBlocks(side, path);
  const spans = blocks === undefined ? undefined : elementBlocks(side, blocks, path);
  const [mine, theirs] = [valueAt(side.value, path), valueAt(release, path)];
  if (spans === undefined || !Array.isArray(mine) || !Array.isArray(theirs) || mine.length !== spans.length)
    return undefined;
  // A release writing the key as a plain value (`e = [1]`) replaced the array; it dropped no element.
  if (theirs.length === 0 || !theirs.every(isTable)) return undefined;
  const { pairs, id } = pairElements(mine, theirs);
  return spans.flatMap((span, u) => {
    if (pairs.includes(u)) return [];
    const element = mine[u];
    const named = id !== undefined && isTable(element) ? element[id] : undefined;
    const label = named === undefined ? `#${u + 1}` : `${id} = ${JSON.stringify(named)}`;
    return [{ label, start: span.start, end: span.contentEnd }];
  });
}

function parsesTo(text: string, expected: unknown): boolean {
  try {
    return sameValue(readTomlValues(text), expected);
  } catch {
    return false;
  }
}
