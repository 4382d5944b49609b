/**
 * Applies a merge plan to the server's TOML text line by line, so comments, blank lines, key order
 * and value spellings (1.0, 0xff, 'literal', inline tables) survive. Values and new keys are copied
 * from the release's text with the comments above them. Returns undefined for an edit it cannot
 * express as a line edit; the caller then rewrites the file from values.
 */
import { stringify } from "smol-toml";
import type { MergeEdit } from "./plan.js";
import { scanToml, type TomlEntry, type TomlHeader, type TomlLayout, TomlScanError } from "./toml-scan.js";
import { formatKey, inlineValueText } from "./toml-value-text.js";
import { isTable, sameValue, valueAt } from "./values.js";

interface Side {
  text: string;
  value: unknown;
  layout: TomlLayout;
}

interface TextOp {
  start: number;
  end: number;
  text: string;
  /** Whole tables appended at the end: they must follow keys inserted at the same offset. */
  tail?: boolean;
}

export function editTomlText(
  userText: string,
  releaseText: string,
  user: unknown,
  release: unknown,
  merged: unknown,
  edits: readonly MergeEdit[],
): string | undefined {
  let userSide: Side;
  let releaseSide: Side;
  try {
    userSide = { text: userText, value: user, layout: scanToml(userText) };
    releaseSide = { text: releaseText, value: release, layout: scanToml(releaseText) };
  } catch (error) {
    if (error instanceof TomlScanError) return undefined;
    throw error;
  }
  const ops: TextOp[] = [];
  const rewritten = new Set<TomlEntry>();
  for (const edit of edits) {
    // An edit inside an inline table (`pool = { size = 5 }`) rewrites that one value as a whole.
    const holder = userSide.layout.entries.find(
      (e) => e.path && e.path.length < edit.path.length && startsWith(edit.path, e.path),
    );
    if (holder !== undefined && rewritten.has(holder)) continue;
    const op =
      holder === undefined ? opFor(edit, userSide, releaseSide) : rewriteInline(holder, releaseSide, merged);
    if (op === undefined) return undefined;
    if (holder !== undefined) rewritten.add(holder);
    ops.push(...op);
  }
  return applyOps(userText, ops);
}

function rewriteInline(holder: TomlEntry, release: Side, merged: unknown): TextOp[] | undefined {
  const path = holder.path ?? [];
  const value = valueAt(merged, path);
  const releaseEntry = entryAt(release.layout, path);
  const text =
    releaseEntry !== undefined && sameValue(valueAt(release.value, path), value)
      ? release.text.slice(releaseEntry.valueStart, releaseEntry.valueEnd)
      : inlineValueText(value);
  return text === undefined ? undefined : [{ start: holder.valueStart, end: holder.valueEnd, text }];
}

function opFor(edit: MergeEdit, user: Side, release: Side): TextOp[] | undefined {
  if (edit.path.length === 0) return undefined;
  const own = entryAt(user.layout, edit.path);
  switch (edit.kind) {
    case "set": {
      const valueText = releaseValueText(release, edit.path);
      if (own !== undefined && valueText !== undefined) {
        return [{ start: own.valueStart, end: own.valueEnd, text: valueText }];
      }
      // A value becoming a [table] or the reverse: take the old one out, put the new one in.
      const removal = remove(user, own, edit.path);
      const addition = add(user, release, edit.path);
      return removal && addition && [...removal, ...addition];
    }
    case "remove":
      return remove(user, own, edit.path);
    case "add":
      return add(user, release, edit.path);
  }
}

function remove(user: Side, own: TomlEntry | undefined, path: string[]): TextOp[] | undefined {
  if (own !== undefined) return [{ start: own.blockStart, end: own.lineEnd, text: "" }];
  return removeTable(user, path);
}

function add(user: Side, release: Side, path: string[]): TextOp[] | undefined {
  const releaseEntry = entryAt(release.layout, path);
  if (releaseEntry === undefined && isTable(valueAt(release.value, path)))
    return addTable(user, release, path);
  return addEntry(user, release, path);
}

function entryAt(layout: TomlLayout, path: readonly string[]): TomlEntry | undefined {
  return layout.entries.find((entry) => entry.path !== undefined && samePath(entry.path, path));
}

/** The release's spelling of the value at `path`, or a generated one when it is not a plain entry. */
function releaseValueText(release: Side, path: readonly string[]): string | undefined {
  const entry = entryAt(release.layout, path);
  if (entry !== undefined) return release.text.slice(entry.valueStart, entry.valueEnd);
  const value = valueAt(release.value, path);
  return isTable(value) ? undefined : inlineValueText(value);
}

function addEntry(user: Side, release: Side, path: string[]): TextOp[] | undefined {
  const target = insertionPoint(user, path.slice(0, -1));
  if (target === undefined) return undefined;
  const key = path.slice(target.table.length);
  const releaseEntry = entryAt(release.layout, path);
  let text: string;
  if (releaseEntry !== undefined && samePath(releaseEntry.key, key)) {
    text = release.text.slice(releaseEntry.blockStart, releaseEntry.lineEnd);
  } else {
    const valueText = releaseValueText(release, path);
    if (valueText === undefined) return undefined;
    const comments =
      releaseEntry === undefined ? "" : release.text.slice(releaseEntry.blockStart, releaseEntry.lineStart);
    text = `${comments}${key.map(formatKey).join(".")} = ${valueText}\n`;
  }
  return [{ start: target.at, end: target.at, text: lineAt(user.text, target.at, text) }];
}

/** Where a new key of table `parent` goes: after the last key of the block that defines it. */
function insertionPoint(user: Side, parent: string[]): { at: number; table: string[] } | undefined {
  const { headers, entries } = user.layout;
  const header = headers.find((h) => h.kind === "table" && samePath(h.path, parent));
  if (parent.length === 0 || header !== undefined) {
    const start = header?.lineEnd ?? 0;
    const end = nextBlockStart(headers, start, user.text.length);
    const last = entries.filter((e) => e.lineStart >= start && e.lineStart < end).at(-1);
    return { at: last?.lineEnd ?? (header === undefined ? end : start), table: parent };
  }
  // The table exists only through dotted keys (`a.b = 1`): add another dotted key beside them.
  const sibling = entries
    .filter((e) => e.path !== undefined && e.key.length > 1 && startsWith(e.path, parent))
    .at(-1);
  if (sibling === undefined || sibling.table.length > parent.length) return undefined;
  return { at: sibling.lineEnd, table: sibling.table };
}

function addTable(user: Side, release: Side, path: string[]): TextOp[] | undefined {
  const blocks = tableBlocks(release, path);
  const text =
    blocks === undefined
      ? stringify(nest(path, valueAt(release.value, path)))
      : blocks.map(([start, end]) => withNewline(release.text.slice(start, end))).join("");
  const separator = user.text.length === 0 ? "" : user.text.endsWith("\n") ? "\n" : "\n\n";
  return [
    { start: user.text.length, end: user.text.length, text: `${separator + text.trimEnd()}\n`, tail: true },
  ];
}

function removeTable(user: Side, path: string[]): TextOp[] | undefined {
  const blocks = tableBlocks(user, path);
  // A block at the very end takes the blank lines above it along, so the file does not end blank.
  const startOf = (start: number, end: number) =>
    end === user.text.length ? afterLastContent(user.text, start) : start;
  return blocks?.map(([start, end]) => ({ start: startOf(start, end), end, text: "" }));
}

/** The offset just past the newline of the last non-blank line before `offset`. */
function afterLastContent(text: string, offset: number): number {
  const blank = /(?:\r?\n[ \t]*)+$/.exec(text.slice(0, offset))?.[0] ?? "";
  const newline = /^\r?\n/.exec(blank)?.[0].length ?? 0;
  return offset - blank.length + newline;
}

/**
 * The [start, end) ranges of the header blocks holding table `path` and its sub-tables, when every
 * key of the table lives inside them (not in dotted keys elsewhere).
 */
function tableBlocks(side: Side, path: readonly string[]): [number, number][] | undefined {
  const { headers, entries } = side.layout;
  const blocks = headers
    .filter((h) => startsWith(h.path, path))
    .map((h): [number, number] => [h.blockStart, nextBlockStart(headers, h.lineEnd, side.text.length)]);
  if (blocks.length === 0) return undefined;
  const inside = (offset: number) => blocks.some(([start, end]) => offset >= start && offset < end);
  const stray = entries.some((e) => e.path !== undefined && startsWith(e.path, path) && !inside(e.lineStart));
  return stray ? undefined : blocks;
}

function nextBlockStart(headers: readonly TomlHeader[], after: number, fallback: number): number {
  return headers.find((h) => h.lineStart >= after)?.blockStart ?? fallback;
}

function applyOps(text: string, ops: TextOp[]): string | undefined {
  const eol = text.includes("\r\n") ? "\r\n" : "\n";
  // Applied from the end backwards so earlier offsets stay valid. At one offset: removals first,
  // then insertions in reverse of their final order (plain keys, then appended tables; plan order).
  const rank = (op: TextOp, index: number) => [op.start, op.end > op.start ? 1 : 0, op.tail ? 1 : 0, index];
  const ordered = coalesceRemovals(ops)
    .map((op, index) => ({ op, key: rank(op, index) }))
    .sort((a, b) => compareDescending(a.key, b.key))
    .map(({ op }) => op);
  let result = text;
  let limit = Number.POSITIVE_INFINITY;
  for (const op of ordered) {
    if (op.end > limit) return undefined;
    result = result.slice(0, op.start) + op.text.replace(/\r?\n/g, eol) + result.slice(op.end);
    limit = op.start;
  }
  return result;
}

/** Removed blocks may overlap (a trailing block takes the blank lines above it): remove their union. */
function coalesceRemovals(ops: TextOp[]): TextOp[] {
  const removals = ops.filter((op) => op.text === "" && op.end > op.start).sort((a, b) => a.start - b.start);
  const merged: TextOp[] = [];
  for (const op of removals) {
    const last = merged.at(-1);
    if (last !== undefined && op.start < last.end) last.end = Math.max(last.end, op.end);
    else merged.push({ ...op });
  }
  return [...ops.filter((op) => !(op.text === "" && op.end > op.start)), ...merged];
}

function compareDescending(a: number[], b: number[]): number {
  for (let i = 0; i < a.length; i++) {
    const difference = (b[i] ?? 0) - (a[i] ?? 0);
    if (difference !== 0) return difference;
  }
  return 0;
}

/** An inserted line must start on a line of its own, even at the end of a file without a newline. */
function lineAt(text: string, at: number, line: string): string {
  return at > 0 && text[at - 1] !== "\n" ? `\n${line}` : line;
}

function withNewline(text: string): string {
  return text.endsWith("\n") ? text : `${text}\n`;
}

function nest(path: readonly string[], value: unknown): Record<string, unknown> {
  let node: unknown = value;
  for (const key of [...path].reverse()) node = { [key]: node };
  return isTable(node) ? node : {};
}

function samePath(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((part, i) => part === b[i]);
}

function startsWith(path: readonly string[], prefix: readonly string[]): boolean {
  return prefix.length <= path.length && prefix.every((part, i) => part === path[i]);
}
