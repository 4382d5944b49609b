/**
 * Applies a merge plan to the server's TOML text line by line, so comments, blank lines, key order
 * and value spellings (1.0, 0xff, 'literal', inline tables) survive. Values and new keys are copied
 * from the release's text with the comments above them. Returns undefined for an edit it cannot
 * express as a line edit; the caller then rewrites the file from values.
 */
import { type MergeEdit, planMerge } from "./plan.js";
import { addsInReleaseOrder, tomlWrittenAt } from "./release-order.js";
import { inUserArrayStyle } from "./toml-array-style.js";
import { baseElementsOf } from "./toml-base-elements.js";
import {
  arrayBlocks,
  type Block,
  blockInsertionPoint,
  blocksText,
  elementBlocks,
  headerBlocks,
  inArrayElement,
  nextBlockStart,
  outsideBlocks,
  samePath,
  startsWith,
  type TomlSide,
  tableBlocks,
  withNewline,
} from "./toml-blocks.js";
import { pairElements } from "./toml-element-pairing.js";
import { entryAt, holderOf } from "./toml-entry-index.js";
import { blankBefore, footerStart, tableCommentCount } from "./toml-footer.js";
import { inlineTextInSpellings } from "./toml-inline-spelling.js";
import { passedCommentEnd, withoutMovedComments } from "./toml-moved-comments.js";
import { scanToml, type TomlEntry, type TomlLayout, TomlScanError, tomlComments } from "./toml-scan.js";
import { formatKey, inlineValueText, readTomlValues, writeTomlValues } from "./toml-value-text.js";
import { isTable, sameValue, valueAt } from "./values.js";

type Side = TomlSide;

interface TextOp {
  start: number;
  end: number;
  text: string;
  /** Whole tables appended at the end: they must follow keys inserted at the same offset. */
  tail?: boolean;
  /**
   * Top-level keys written above the first table: a `[table]` opened at the same offset must follow
   * them, or they land inside it (a release adding `c = 1` and `[a] c = 0` to a file that starts with
   * `[a.b]` gave `[a] c = 0 c = 1`, and the whole file was rewritten from values).
   */
  head?: boolean;
}

export function editTomlText(
  userText: string,
  releaseText: string,
  user: unknown,
  release: unknown,
  merged: unknown,
  edits: readonly MergeEdit[],
  /** The previous release's text, in a three-way merge: says which comments the user left as shipped. */
  baseText?: string,
): string | undefined {
  let userSide: Side;
  let releaseSide: Side;
  let base: BaseLayout | undefined;
  try {
    userSide = { text: userText, value: user, layout: scanToml(userText) };
    base = baseText === undefined ? undefined : { text: baseText, layout: scanToml(baseText) };
    const releaseCopy = { text: releaseText, layout: scanToml(releaseText) };
    releaseSide = {
      text: releaseText,
      value: release,
      layout: withoutMovedComments(releaseCopy, base ?? userSide, { user: userSide, merged }),
    };
  } catch (error) {
    if (error instanceof TomlScanError) return undefined;
    throw error;
  }
  const ops: TextOp[] = [];
  const rewritten = new Set<TomlEntry>();
  const filled = filledEmptyValues(edits, userSide, releaseSide, merged);
  for (const edit of addsInReleaseOrder(filled, tomlWrittenAt(releaseSide.layout))) {
    // An edit inside an inline table (`pool = { size = 5 }`) rewrites that one value as a whole.
    const holder = holderOf(userSide.layout, edit.path);
    if (holder !== undefined && rewritten.has(holder)) continue;
    const op =
      holder === undefined
        ? opFor(edit, userSide, releaseSide, base)
        : rewriteInline(holder, userSide, releaseSide, merged);
    if (op === undefined) return undefined;
    if (holder !== undefined) rewritten.add(holder);
    ops.push(...op);
  }
  keepEmptiedDottedTables(userSide, merged, edits, ops);
  ops.push(...keepEmptiedHeaderTables(userSide, merged, edits));
  ops.push(...dropEmptiedHeaders(userSide, edits, ops));
  return applyOps(userText, ops);
}

/**
 * A `[old]` table whose keys the merge all removed while a sub-table of it stays (`[old.sub]`, the
 * user's own): its header stayed over nothing, reading as a table still in use, though `[old.sub]`
 * alone defines it. The header line goes with its keys; comments stay (above it, they now sit over
 * what is left of the table; one on the header line or in its body keeps the header). A header the
 * user left empty stays as written.
 */
function dropEmptiedHeaders(user: Side, edits: readonly MergeEdit[], ops: readonly TextOp[]): TextOp[] {
  const removed = edits.filter((e) => e.kind === "remove").map((e) => e.path);
  const gone = (path: readonly string[]) => removed.some((r) => startsWith(path, r));
  const { headers, entries } = user.layout;
  const drops: TextOp[] = [];
  for (const header of headers) {
    if (header.kind !== "table" || gone(header.path)) continue;
    const bodyEnd = headers.find((h) => h.lineStart > header.lineStart)?.blockStart ?? user.text.length;
    const own = entries.filter((e) => e.lineStart >= header.lineEnd && e.lineStart < bodyEnd);
    if (own.length === 0 || !own.every((e) => e.path !== undefined && gone(e.path))) continue;
    const stays = headers.some(
      (h) => h.path.length > header.path.length && startsWith(h.path, header.path) && !gone(h.path),
    );
    // A key the merge writes into the body (an added one) keeps the table's header in use.
    const written = ops.some((op) => op.text !== "" && op.start >= header.lineEnd && op.start < bodyEnd);
    if (!stays || written) continue;
    // Comments of the user's left in the body after its keys went would lose the header they sat under.
    let rest = user.text.slice(header.lineEnd, bodyEnd);
    for (const e of [...own].reverse())
      rest = rest.slice(0, e.blockStart - header.lineEnd) + rest.slice(e.lineEnd - header.lineEnd);
    if (rest.trim() !== "") continue;
    // A comment on the header line goes with it; one above stays, over what is left of the table.
    const line = user.text.slice(header.lineStart, header.lineEnd).replace(/"(?:[^"\\]|\\.)*"|'[^']*'/g, "");
    if (line.includes("#")) continue;
    // The blank lines that parted its keys from the next table go too: they part nothing now.
    drops.push({ start: header.lineStart, end: bodyEnd, text: "" });
  }
  return drops;
}

/**
 * A table the user's file writes only as dotted keys (`d.c = 1`) that the release keeps but empties
 * (`[d]` with nothing under it): removing its last line left no `d` at all, so no text edit held the
 * merge and the whole file was rewritten from values, every comment lost. The first of its removed
 * lines becomes `d = {}` instead.
 */
function keepEmptiedDottedTables(
  user: Side,
  merged: unknown,
  edits: readonly MergeEdit[],
  ops: TextOp[],
): void {
  const removed = new Set(edits.filter((e) => e.kind === "remove").map((e) => JSON.stringify(e.path)));
  const done = new Set<string>();
  for (const entry of user.layout.entries) {
    const path = entry.path;
    if (path === undefined || entry.key.length < 2 || !removed.has(JSON.stringify(path))) continue;
    const parent = path.slice(0, -1);
    const id = JSON.stringify(parent);
    const value = valueAt(merged, parent);
    if (done.has(id) || !isTable(value) || Object.keys(value).length > 0) continue;
    const stillDefined =
      user.layout.headers.some((h) => startsWith(h.path, parent)) ||
      user.layout.entries.some(
        (e) =>
          e.path !== undefined &&
          e.path.length > parent.length &&
          startsWith(e.path, parent) &&
          !removed.has(JSON.stringify(e.path)),
      );
    const op = ops.find((o) => o.start === entry.blockStart && o.end === entry.lineEnd && o.text === "");
    if (stillDefined || op === undefined) continue;
    const indent = /^[ \t]*/.exec(user.text.slice(entry.lineStart))?.[0] ?? "";
    op.start = entry.lineStart;
    op.text = `${indent}${entry.key.slice(0, -1).map(formatKey).join(".")} = {}\n`;
    done.add(id);
  }
}

/**
 * A table the user's file writes only through sub-tables (`[e.d]` without `[e]`) that the merge
 * keeps but empties: removing its last `[e.d]` or `[[e.d]]` left no `e` at all, so the whole file
 * was rewritten from values, every comment lost. Its `[e]` header goes where the first one was.
 */
function keepEmptiedHeaderTables(user: Side, merged: unknown, edits: readonly MergeEdit[]): TextOp[] {
  const removed = edits.filter((e) => e.kind === "remove").map((e) => e.path);
  const gone = (path: readonly string[]) => removed.some((r) => startsWith(path, r));
  const ops: TextOp[] = [];
  const done = new Set<string>();
  for (const path of removed) {
    const parent = path.slice(0, -1);
    const id = JSON.stringify(parent);
    const value = valueAt(merged, parent);
    if (parent.length === 0 || done.has(id) || !isTable(value) || Object.keys(value).length > 0) continue;
    const { headers, entries } = user.layout;
    const stillDefined =
      headers.some((h) => startsWith(h.path, parent) && !gone(h.path)) ||
      entries.some(
        (e) =>
          e.path !== undefined &&
          e.path.length > parent.length &&
          startsWith(e.path, parent) &&
          !gone(e.path),
      );
    const first = headerBlocks(user, path)[0];
    if (stillDefined || first === undefined) continue;
    // The blank line that parted it from the next table parts [e] from it too.
    const parted =
      first.end < user.text.length && /\n[ \t]*\r?\n/.test(user.text.slice(first.contentEnd - 1, first.end));
    ops.push({
      start: first.headerStart,
      end: first.headerStart,
      text: `[${parent.map(formatKey).join(".")}]\n${parted ? "\n" : ""}`,
    });
    done.add(id);
  }
  return ops;
}

function rewriteInline(holder: TomlEntry, user: Side, release: Side, merged: unknown): TextOp[] | undefined {
  const path = holder.path ?? [];
  const releaseEntry = entryAt(release.layout, path);
  // The user's spelling of each member the merge leaves theirs or the same, else the release's.
  const spellings = [
    user.text.slice(holder.valueStart, holder.valueEnd),
    ...(releaseEntry === undefined
      ? []
      : [release.text.slice(releaseEntry.valueStart, releaseEntry.valueEnd)]),
  ];
  const text = inlineTextInSpellings(valueAt(merged, path), spellings, inUserArrayStyle);
  return text === undefined ? undefined : [{ start: holder.valueStart, end: holder.valueEnd, text }];
}

/**
 * An empty `x = {}` or `x = []` of the user's that the release writes as `[x]` or `[[x]]` blocks
 * and fills: TOML has no other way to write an empty value on a key's line, so it shows no form of
 * the user's. Its keys came into the braces, `x = {a = 1, b = 3}` (an array of tables as
 * `x = [ { a = 1 } ]`), the release's comments on them dropped with no word; it is now one change
 * of the whole value, written as the release writes it, as a value the release turns into a table
 * is. Where the merged value is not the release's (a table the user emptied, of which only the
 * keys the release changed come back) the braces stay.
 */
function filledEmptyValues(
  edits: readonly MergeEdit[],
  user: Side,
  release: Side,
  merged: unknown,
): MergeEdit[] {
  const whole: string[][] = [];
  for (const edit of edits) {
    for (let n = edit.path.length; n > 0 && whole.every((p) => !startsWith(edit.path, p)); n--) {
      const path = edit.path.slice(0, n);
      if (
        fillsEmptyValue(user, release, path) &&
        sameValue(valueAt(merged, path), valueAt(release.value, path))
      ) {
        whole.push(path);
        break;
      }
    }
  }
  if (whole.length === 0) return [...edits];
  const rest = edits.filter((edit) => whole.every((p) => !startsWith(edit.path, p)));
  return [...rest, ...whole.map((path): MergeEdit => ({ kind: "set", path }))];
}

/** The user's entry at `path` is `{}` or `[]`, the release's value there non-empty blocks of its own. */
function fillsEmptyValue(user: Side, release: Side, path: readonly string[]): boolean {
  if (entryAt(user.layout, path) === undefined || entryAt(release.layout, path) !== undefined) return false;
  const mine = valueAt(user.value, path);
  const empty = (isTable(mine) || Array.isArray(mine)) && Object.keys(mine).length === 0;
  const theirs = valueAt(release.value, path);
  const blocks = isTable(theirs) || arrayBlocks(release, path) !== undefined;
  return empty && blocks && Object.keys(theirs as object).length > 0;
}

function opFor(edit: MergeEdit, user: Side, release: Side, base?: BaseLayout): TextOp[] | undefined {
  if (edit.path.length === 0) return undefined;
  const own = entryAt(user.layout, edit.path);
  switch (edit.kind) {
    case "set": {
      const valueText = fillsEmptyValue(user, release, edit.path)
        ? undefined
        : releaseValueText(release, edit.path);
      if (own !== undefined && valueText !== undefined) {
        const mine = user.text.slice(own.valueStart, own.valueEnd);
        const was = base === undefined ? undefined : entryAt(base.layout, edit.path);
        const wasText = was === undefined ? undefined : base?.text.slice(was.valueStart, was.valueEnd);
        const value = inUserArrayStyle(mine, valueText, wasText);
        const shipped = base === undefined ? undefined : shippedComments(own, edit.path, user, release, base);
        if (shipped === undefined) return [{ start: own.valueStart, end: own.valueEnd, text: value }];
        const start = shipped.above === undefined ? own.valueStart : own.blockStart;
        const keyText =
          shipped.above === undefined ? "" : shipped.above + user.text.slice(own.lineStart, own.valueStart);
        const end = own.valueEnd + (shipped.after === undefined ? 0 : shipped.mine.length);
        return [{ start, end, text: keyText + value + (shipped.after ?? "") }];
      }
      // An array of tables on both sides: the release's [[blocks]] take the place of the user's.
      const mine = own === undefined ? arrayBlocks(user, edit.path) : undefined;
      const theirs = arrayBlocks(release, edit.path);
      if (mine !== undefined && theirs !== undefined)
        return replaceBlocks(user, release, { mine, theirs }, edit.path, base);
      // A value becoming a [table] or the reverse: take the old one out, put the new one in.
      const removal = remove(user, release, own, edit.path, base);
      const addition = add(
        user,
        release,
        edit.path,
        own === undefined ? headerComment(user, edit.path, base) : valueComments(user, own, edit.path, base),
      );
      return removal && addition && [...removal, ...addition];
    }
    case "remove":
      return remove(user, release, own, edit.path, base);
    case "add":
      return add(user, release, edit.path);
  }
}

interface BaseLayout {
  text: string;
  layout: TomlLayout;
}

/**
 * The release's comments on a key whose value it changes (the lines above it, the comment after
 * it), where the user's are still the previous release's: the release's note on its new value
 * (`# 8080: no root needed`) comes with it, as a new key's comments do. Comments the user wrote or
 * edited stay theirs. Undefined when neither changes.
 */
function shippedComments(
  own: TomlEntry,
  path: readonly string[],
  user: Side,
  release: Side,
  base: BaseLayout,
): { above?: string; after?: string; mine: string } | undefined {
  const theirs = entryAt(release.layout, path);
  const was = entryAt(base.layout, path);
  if (theirs === undefined || was === undefined) return undefined;
  const above = (side: BaseLayout, e: TomlEntry) => side.text.slice(e.blockStart, e.lineStart);
  // Past a one-line value, up to its line end: spaces and `# comment` (a multi-line value is left alone).
  const after = (side: BaseLayout, e: TomlEntry) =>
    side.text.slice(e.valueStart, e.valueEnd).includes("\n")
      ? undefined
      : side.text.slice(e.valueEnd, e.lineEnd).replace(/\r?\n$/, "");
  const plain = (text: string | undefined) => text?.replace(/^[ \t]+|[ \t]+$/gm, "");
  const mine = { above: above(user, own), after: after(user, own) };
  const shipped = { above: above(release, theirs), after: after(release, theirs) };
  const previous = { above: above(base, was), after: after(base, was) };
  // A release without a comment there takes none away: only a note of its own replaces the old one.
  const changes = (part: "above" | "after") =>
    plain(mine[part]) === plain(previous[part]) &&
    plain(shipped[part]) !== plain(mine[part]) &&
    (plain(shipped[part]) ?? "") !== "";
  const indent = /^[ \t]*/.exec(user.text.slice(own.lineStart))?.[0] ?? "";
  const result = {
    mine: mine.after ?? "",
    ...(changes("above") ? { above: shipped.above.replace(/^[ \t]*(?=#)/gm, indent) } : {}),
    ...(changes("after") && shipped.after !== undefined && mine.after !== undefined
      ? { after: withSpacingOf(mine.after, shipped.after) }
      : {}),
  };
  return result.above === undefined && result.after === undefined ? undefined : result;
}

/** The release's note after a value, spaced from it as the user spaced theirs (`port = 8080     # …`). */
function withSpacingOf(mine: string, shipped: string): string {
  const gap = /^[ \t]+(?=#)/.exec(mine)?.[0];
  return gap === undefined ? shipped : shipped.replace(/^[ \t]*(?=#)/, gap);
}

function remove(
  user: Side,
  release: Side,
  own: TomlEntry | undefined,
  path: string[],
  base?: BaseLayout,
): TextOp[] | undefined {
  if (own === undefined) return removeTable(user, release, path, base);
  const start = passedCommentEnd(user, release, own, own.lineEnd, base) ?? own.blockStart;
  return [{ start, end: own.lineEnd, text: "" }];
}

/**
 * The comment lines directly above the user's first `[path]` header: they name the setting, so
 * when the release makes the table a value (`[db]` → `db = "postgres://…"`) they go above the new
 * key, as YAML keeps them above `db:`. They went with the header, named in a WARNING.
 */
function headerComment(user: Side, path: readonly string[], base?: BaseLayout): string {
  const above = (side: { text: string; layout: TomlLayout }) => {
    const first = headerBlocks({ ...side, value: undefined }, path)[0];
    return first === undefined ? "" : side.text.slice(first.start, first.headerStart);
  };
  const mine = above(user);
  // One the previous release shipped there and this one dropped is the release's change.
  const plain = (text: string) => text.replace(/^[ \t]+|[ \t]+$/gm, "");
  return base !== undefined && plain(above(base)) === plain(mine) ? "" : mine;
}

/**
 * The user's comments on a value the release turns into a `[table]` (`a = 1   # note` → `[a]`): the
 * lines above it, and the one after it as a line of its own, go above the new table, as a table's
 * comments go above the key that replaces it (headerComment). Those the previous release shipped
 * there are its own, and go with its value.
 */
function valueComments(user: Side, own: TomlEntry, path: readonly string[], base?: BaseLayout): string {
  const parts = (side: { text: string }, e: TomlEntry) => {
    const oneLine = !side.text.slice(e.valueStart, e.valueEnd).includes("\n");
    const after = oneLine
      ? /#.*$/.exec(side.text.slice(e.valueEnd, e.lineEnd).replace(/\r?\n$/, ""))?.[0]
      : undefined;
    return { above: side.text.slice(e.blockStart, e.lineStart).replace(/^[ \t]+(?=#)/gm, ""), after };
  };
  const plain = (text: string | undefined) => text?.replace(/^[ \t]+|[ \t]+$/gm, "");
  const mine = parts(user, own);
  const was = base === undefined ? undefined : entryAt(base.layout, path);
  const shipped = was === undefined || base === undefined ? undefined : parts(base, was);
  const above = shipped !== undefined && plain(shipped.above) === plain(mine.above) ? "" : mine.above;
  const after =
    mine.after === undefined || (shipped !== undefined && plain(shipped.after) === plain(mine.after))
      ? ""
      : `${mine.after.trimEnd()}\n`;
  return above + after;
}

/** `mine`: the user's comment lines for the new key or table, used where the release has none of its own. */
function add(user: Side, release: Side, path: string[], mine = ""): TextOp[] | undefined {
  const releaseEntry = entryAt(release.layout, path);
  if (releaseEntry === undefined && (isTable(valueAt(release.value, path)) || arrayBlocks(release, path)))
    return addTable(user, release, path, mine);
  return addEntry(user, release, path, mine);
}

/** The release's spelling of the value at `path`, or a generated one when it is not a plain entry. */
function releaseValueText(release: Side, path: readonly string[]): string | undefined {
  const entry = entryAt(release.layout, path);
  if (entry !== undefined) return release.text.slice(entry.valueStart, entry.valueEnd);
  const value = valueAt(release.value, path);
  return isTable(value) ? undefined : inlineValueText(value);
}

function addEntry(user: Side, release: Side, path: string[], mine = ""): TextOp[] | undefined {
  const target = insertionPoint(user, path.slice(0, -1));
  if (target === undefined) return undefined;
  const key = path.slice(target.table.length);
  const releaseEntry = entryAt(release.layout, path);
  const shipped =
    releaseEntry === undefined ? "" : release.text.slice(releaseEntry.blockStart, releaseEntry.lineStart);
  const comments = shipped === "" ? mine : shipped;
  let entry: string;
  if (releaseEntry !== undefined && samePath(releaseEntry.key, key)) {
    entry = release.text.slice(releaseEntry.lineStart, releaseEntry.lineEnd);
  } else {
    const valueText = releaseValueText(release, path);
    if (valueText === undefined) return undefined;
    entry = `${key.map(formatKey).join(".")} = ${valueText}\n`;
  }
  // Indented like the user's key it follows (only the first line: a multi-line value stays as it is).
  const above = target.opens ? undefined : user.layout.entries.find((e) => e.lineEnd === target.at);
  const indent = above === undefined ? undefined : /^[ \t]*/.exec(user.text.slice(above.lineStart))?.[0];
  const text =
    indent === undefined
      ? comments + entry
      : comments.replace(/^[ \t]*(?=#)/gm, indent) + indent + entry.replace(/^[ \t]*/, "");
  if (target.opens) return openTable(user, release, target.at, target.table, text);
  if (target.beforeTable === true) return keysAboveTables(user, target.at, text);
  return [{ start: target.at, end: target.at, text: lineAt(user.text, target.at, text) }];
}

/** Top-level keys this merge writes above a file's first table, per user text. */
const keysAbove = new WeakMap<Side, TextOp>();

/**
 * Top-level keys added to a file that has none, above its first `[table]`: a blank line parts them
 * from the table, as `y = 2` and `[a]` are parted in the release (without it `y = 2` ran into `[a]`).
 */
function keysAboveTables(user: Side, at: number, line: string): TextOp[] {
  const existing = keysAbove.get(user);
  if (existing !== undefined) {
    existing.text = `${existing.text.slice(0, -1)}${line}\n`;
    return [];
  }
  const op: TextOp = { start: at, end: at, text: `${lineAt(user.text, at, line)}\n`, head: true };
  keysAbove.set(user, op);
  return [op];
}

/** `[table]` headers this merge writes, per user text: later keys of the same table join the first. */
const openedTables = new WeakMap<Side, Map<string, TextOp>>();

/** A new `[table]` block for a table the user's file defines only through its sub-tables. */
function openTable(user: Side, release: Side, at: number, table: string[], line: string): TextOp[] {
  const opened = openedTables.get(user) ?? new Map<string, TextOp>();
  openedTables.set(user, opened);
  const id = JSON.stringify(table);
  const existing = opened.get(id);
  const atEnd = at === user.text.length && user.text !== "";
  if (existing !== undefined) {
    existing.text = atEnd ? existing.text + line : `${existing.text.slice(0, -1)}${line}\n`;
    return [];
  }
  // A table: keys of the table above inserted at the same offset go before it. At the end of the
  // file, or above its footer, a blank line parts it from the last table's keys, as blank lines
  // part the others.
  const parted = (atEnd || at === footerStart(user.text)) && !blankBefore(user.text, at);
  const op: TextOp = {
    start: at,
    end: at,
    text: `${parted ? "\n" : ""}${headerText(release, table)}${line}${atEnd ? "" : "\n"}`,
    tail: true,
  };
  opened.set(id, op);
  return [op];
}

/** The release's `[table]` line with the comments above it, or one written anew. */
function headerText(release: Side, table: readonly string[]): string {
  const header = release.layout.headers.find((h) => h.kind === "table" && samePath(h.path, table));
  return header === undefined
    ? `[${table.map(formatKey).join(".")}]\n`
    : release.text.slice(header.blockStart, header.lineEnd);
}

/** Where a new key of table `parent` goes: after the last key of the block that defines it. */
function insertionPoint(
  user: Side,
  parent: string[],
): { at: number; table: string[]; opens?: boolean; beforeTable?: boolean } | undefined {
  const { headers, entries } = user.layout;
  const header = headers.find((h) => h.kind === "table" && samePath(h.path, parent));
  if (parent.length === 0 || header !== undefined) {
    const start = header?.lineEnd ?? 0;
    const end = nextBlockStart(headers, start, user.text.length);
    const last = entries.filter((e) => e.lineStart >= start && e.lineStart < end).at(-1);
    if (last === undefined && header === undefined && end < user.text.length) {
      return { at: end, table: parent, beforeTable: true };
    }
    // A file of comments alone (every setting commented out) takes new keys where new tables go,
    // above its closing comment paragraph and ahead of those tables: appended after it, a key
    // landed inside a table added above the footer (the whole file was rewritten from values).
    const footer = last === undefined && header === undefined ? footerStart(user.text) : undefined;
    if (footer !== undefined) return { at: footer, table: parent, beforeTable: true };
    return { at: last?.lineEnd ?? (header === undefined ? end : start), table: parent };
  }
  // The table exists only through dotted keys (`a.b = 1`): add another dotted key beside them.
  // Only a dotted key written above the table defines it: one inside a sub-table (`c.d = 1` under
  // `[a.b]`) defines a table below it, and taking it for one made the merge rewrite the whole file.
  const sibling = entries
    .filter(
      (e) =>
        e.path !== undefined &&
        e.key.length > 1 &&
        e.table.length < parent.length &&
        startsWith(e.path, parent),
    )
    .at(-1);
  if (sibling !== undefined) return { at: sibling.lineEnd, table: sibling.table };
  // The table exists only through its sub-tables ([a.b] without [a]): TOML allows [a] after them too,
  // so it opens right above the first one.
  const sub = headers.find((h) => h.path.length > parent.length && startsWith(h.path, parent));
  if (sub === undefined) return newTableAt(user, parent);
  if (inArrayElement(user.layout, sub.path)) return undefined;
  return { at: sub.blockStart, table: parent, opens: true };
}

/**
 * A table the user's copy lacks altogether (the user deleted `[b]` and the release changed a key in
 * it, which alone comes back): opened where a new table goes, above the file's footer or at its end.
 */
function newTableAt(user: Side, table: string[]): { at: number; table: string[]; opens: true } | undefined {
  if (table.length === 0 || user.layout.headers.some((h) => h.kind === "array" && startsWith(table, h.path)))
    return undefined;
  return { at: footerStart(user.text) ?? user.text.length, table, opens: true };
}

/** `mine`: the user's comments on the value this table replaces, kept above it. */
function addTable(user: Side, release: Side, path: string[], mine = ""): TextOp[] | undefined {
  const dotted = addDottedTable(user, release, path, mine);
  if (dotted !== undefined) return dotted;
  const blocks = tableBlocks(release, path);
  if (blocks !== undefined) {
    const at = blockInsertionPoint(user, release, path, blocks);
    // Tables: keys of the table above, inserted at the same offset, go before them.
    if (at !== undefined)
      return [{ start: at, end: at, text: `${mine}${blocksText(release, blocks)}\n`, tail: true }];
  }
  const text =
    mine +
    (blocks === undefined
      ? writeTomlValues(nest(path, valueAt(release.value, path)))
      : blocksText(release, blocks));
  const footer = footerStart(user.text);
  if (footer !== undefined) {
    const above = blankBefore(user.text, footer) ? "" : "\n";
    return [{ start: footer, end: footer, text: `${above}${text.trimEnd()}\n\n`, tail: true }];
  }
  // A copy that already ends in a blank line (a key the operator deleted left one) takes no other.
  const separator =
    user.text.length === 0 || blankBefore(user.text, user.text.length)
      ? ""
      : user.text.endsWith("\n")
        ? "\n"
        : "\n\n";
  return [
    { start: user.text.length, end: user.text.length, text: `${separator + text.trimEnd()}\n`, tail: true },
  ];
}

/**
 * The release's `[[path]]` elements, each one the user also has (the same value) written as the
 * user wrote it, comments and spellings included; the others as the release wrote them. Each
 * element brings the comment lines directly above its header: the user's stay with the user's
 * element wherever the release puts it, a new element comes with the release's. An element is its
 * `[[path]]` block with the sub-tables under it (`[path.tls]`); undefined when the blocks do not
 * split so (the release's text then) or none of the user's elements is kept.
 */
function withUserElements(
  user: Side,
  release: Side,
  blocks: { mine: readonly Block[]; theirs: readonly Block[]; base: BaseLayout | undefined },
  path: string[],
): string | undefined {
  const elements = (side: Side, sideBlocks: readonly Block[]) => {
    const values = valueAt(side.value, path);
    const spans = elementBlocks(side, sideBlocks, path);
    return spans !== undefined && Array.isArray(values) && values.length === spans.length
      ? { values, spans }
      : undefined;
  };
  const ours = elements(user, blocks.mine);
  const releases = elements(release, blocks.theirs);
  if (ours === undefined || releases === undefined) return undefined;
  const { base } = blocks;
  const [mine, theirs] = [ours.spans, releases.spans];
  const [userValues, releaseValues] = [ours.values, releases.values];
  const { pairs, id } = pairElements(userValues, releaseValues);
  const banner = arrayBanner({ user, mine }, { release, theirs }, base, path);
  // The banner stays at the top of the array: it leaves whichever element it sat on.
  const from = (block: Block, first: boolean, side: "mine" | "theirs") =>
    block.start + (first ? banner[side] : 0);
  let kept = 0;
  const parts = theirs.map((block, i) => {
    const last = i === theirs.length - 1;
    // Parted from the next element as the release parts them.
    const parting = last ? "" : release.text.slice(block.contentEnd, block.end);
    const at = pairs[i];
    const own = at === undefined ? undefined : mine[at];
    if (at !== undefined && own !== undefined) {
      if (sameValue(userValues[at], releaseValues[i])) {
        kept++;
        // An element left whole as the previous release shipped it, notes included, is the
        // release's to rewrite: its new notes come, as a kept key's do (shippedComments).
        const wholeText = (side: { text: string }, element: Block) =>
          side.text.slice(element.start, element.contentEnd);
        const value = releaseValues[i];
        const shipped =
          base === undefined || !isTable(value)
            ? undefined
            : baseElement(base, path, value, id, at, wholeText);
        if (shipped === wholeText(user, own))
          return release.text.slice(from(block, i === 0, "theirs"), block.contentEnd) + parting;
        return user.text.slice(from(own, at === 0, "mine"), own.contentEnd) + parting;
      }
      const changed = changedElement(
        user,
        release,
        { own, at, mine: userValues[at], id },
        { block, value: releaseValues[i] },
        base,
        path,
      );
      if (changed !== undefined) {
        kept++;
        return user.text.slice(from(own, at === 0, "mine"), own.headerStart) + changed + parting;
      }
    }
    return release.text.slice(from(block, i === 0, "theirs"), last ? block.contentEnd : block.end);
  });
  if (kept === 0) return undefined;
  return withNewline(banner.text + parts.map(withNewline).join("").trimEnd());
}

/**
 * The comment lines directly above the first element that the user's copy and the release's both
 * begin with (`# ===== endpoints =====` over `[[endpoints]]`, no blank line between): a heading of
 * the array, not a note on its first element. It travelled with that element, so an element the
 * release put first came with a second copy of it, and one it dropped took it away. A heading the
 * user left as the previous release shipped it and the release rewrote is the release's: its new
 * one heads the array, once, and only the user's lines under the old one stay a note (both showed),
 * unless the release's lines are the note over another of the user's elements (it put that first).
 * `text` heads the array; `mine` and `theirs` are how much of it each side's first element begins with.
 */
function arrayBanner(
  { user, mine }: { user: Side; mine: readonly Block[] },
  { release, theirs }: { release: Side; theirs: readonly Block[] },
  base: BaseLayout | undefined,
  path: readonly string[],
): { text: string; mine: number; theirs: number } {
  const none = { text: "", mine: 0, theirs: 0 };
  const [first, other] = [mine[0], theirs[0]];
  if (first === undefined || other === undefined) return none;
  const ours = commentAbove(user, first);
  const releases = commentAbove(release, other);
  const banner = sharedLines(ours, releases);
  const shipped = base === undefined ? undefined : shippedBanner(base, path);
  if (
    shipped !== undefined &&
    shipped !== releases &&
    ours.startsWith(shipped) &&
    shipped.length > banner.length &&
    !repeatedAbove(release, theirs, releases) &&
    // The release's lines are a note of one of the user's other elements, which it put first.
    !(releases !== "" && mine.slice(1).some((block) => commentAbove(user, block).includes(releases)))
  )
    return { text: releases, mine: shipped.length, theirs: releases.length };
  const length = repeatedAbove(release, theirs, banner) ? 0 : banner.length;
  return { text: banner.slice(0, length), mine: length, theirs: length };
}

function commentAbove(side: { text: string }, block: Block): string {
  return side.text.slice(block.start, block.headerStart);
}

/** The whole lines `a` and `b` both begin with. */
function sharedLines(a: string, b: string): string {
  const [ours, theirs] = [a.split(/(?<=\n)/), b.split(/(?<=\n)/)];
  let shared = 0;
  while (ours[shared] && ours[shared] === theirs[shared]) shared++;
  return ours.slice(0, shared).join("");
}

/** The same lines over other elements too (`# endpoint` over each) are every element's own note. */
function repeatedAbove(side: Side | BaseLayout, blocks: readonly Block[], lines: string): boolean {
  return lines !== "" && blocks.slice(1).some((block) => commentAbove(side, block).startsWith(lines));
}

/** The comment lines above the previous release's first element, when they head its array. */
function shippedBanner(base: BaseLayout, path: readonly string[]): string | undefined {
  const side = { ...base, value: undefined };
  const all = arrayBlocks(side, path);
  const blocks = all === undefined ? undefined : elementBlocks(side, all, path);
  const first = blocks?.[0];
  if (blocks === undefined || first === undefined) return undefined;
  const lines = commentAbove(base, first);
  return lines === "" || repeatedAbove(base, blocks, lines) ? undefined : lines;
}

/**
 * An element the release changed (`[[upstream]]` whose port it bumps) as the user's element paired
 * with it (toml-element-pairing.ts) edited to the release's values: its comments and the spellings
 * of the keys that keep their value stay. Without this it took the release's text, and the user's
 * comments in it went (named in a WARNING). Undefined where the user's holds no comment, or the edit
 * does not give the release's values; else the element's text from its header line on.
 */
function changedElement(
  user: Side,
  release: Side,
  { own, at, mine, id }: { own: Block; at: number; mine: unknown; id: string | undefined },
  { block, value: theirs }: { block: Block; value: unknown },
  base: BaseLayout | undefined,
  path: readonly string[],
): string | undefined {
  if (!isTable(theirs) || !isTable(mine)) return undefined;
  // One without comments of the user's has nothing the release's text would lose but spellings,
  // and the release's text brings the release's new comments.
  if (tomlComments(user.text.slice(own.start, own.contentEnd)).length === 0) return undefined;
  if (hasSubTables(user, own) || hasSubTables(release, block))
    return editedAsTable(user, release, { own, block, mine, theirs }, path, base && { base, id, at });
  const userBody = elementBody(user, own);
  const releaseBody = elementBody(release, block);
  if (userBody === undefined || releaseBody === undefined) return undefined;
  // The release wins every key of it: the user's element as the base, the release's as the change.
  const { edits } = planMerge({ user: mine, release: theirs, base: mine, strategy: "preserve_user" });
  // The previous release's element says which of the user's comments are still as shipped, so the
  // release's notes on the keys it changes come, as they do on keys outside an array of tables.
  const shipped = base === undefined ? undefined : baseElement(base, path, theirs, id, at, elementBody);
  const body = editTomlText(userBody, releaseBody, mine, theirs, theirs, edits, shipped);
  if (body === undefined || !readsAs(body, theirs)) return undefined;
  return user.text.slice(own.headerStart, user.text.indexOf("\n", own.headerStart) + 1) + body;
}

/** An element spanning sub-table headers of its own (`[path.tls]`, `[[path.rules]]`). */
function hasSubTables(side: Side, element: Block): boolean {
  return side.layout.headers.some(
    (h) => h.lineStart > element.headerStart && h.lineStart < element.contentEnd,
  );
}

/**
 * An element with sub-tables edited to the release's: its `[[path]]` header read as `[path]`, each
 * element is a table document of its own (`[path]` with `[path.tls]` under it), edited as any table
 * is, and its header then written back as it was. Undefined where that does not give the release's
 * values.
 */
function editedAsTable(
  user: Side,
  release: Side,
  { own, block, mine, theirs }: { own: Block; block: Block; mine: unknown; theirs: unknown },
  path: readonly string[],
  previous: { base: BaseLayout; id: string | undefined; at: number } | undefined,
): string | undefined {
  const userText = asTable(user.text.slice(own.headerStart, own.contentEnd));
  const releaseText = asTable(release.text.slice(block.headerStart, block.contentEnd));
  if (userText === undefined || releaseText === undefined || !isTable(theirs)) return undefined;
  const [wrappedMine, wrappedTheirs] = [nest(path, mine), nest(path, theirs)];
  const { edits } = planMerge({
    user: wrappedMine,
    release: wrappedTheirs,
    base: wrappedMine,
    strategy: "preserve_user",
  });
  const shipped =
    previous === undefined
      ? undefined
      : baseElement(
          previous.base,
          path,
          theirs,
          previous.id,
          previous.at,
          (side, b) => asTable(side.text.slice(b.headerStart, b.contentEnd))?.text,
        );
  const edited = editTomlText(
    userText.text,
    releaseText.text,
    wrappedMine,
    wrappedTheirs,
    wrappedTheirs,
    edits,
    shipped,
  );
  if (edited === undefined || !edited.startsWith(userText.header) || !readsAs(edited, wrappedTheirs))
    return undefined;
  return userText.arrayHeader + edited.slice(userText.header.length);
}

/** An element's text with its `[[path]]` header line as `[path]`, and both spellings of that line. */
function asTable(text: string): { text: string; header: string; arrayHeader: string } | undefined {
  const end = text.indexOf("\n") + 1 || text.length;
  const arrayHeader = text.slice(0, end);
  const match = /^(\s*)\[\[(.*?)\]\](.*)$/s.exec(arrayHeader);
  if (match === null) return undefined;
  const header = `${match[1]}[${match[2]}]${match[3]}`;
  return { text: header + text.slice(end), header, arrayHeader };
}

/** An element's keys, below its `[[header]]` line; undefined for a header on the text's last line. */
function elementBody(side: { text: string }, block: Block): string | undefined {
  const start = side.text.indexOf("\n", block.headerStart) + 1;
  return start === 0 ? undefined : side.text.slice(start, block.contentEnd);
}

/**
 * The previous release's copy of an element (the one of the same name, else at the user's place),
 * as `text` gives it.
 */
function baseElement(
  base: BaseLayout,
  path: readonly string[],
  theirs: Record<string, unknown>,
  id: string | undefined,
  at: number,
  text: (side: { text: string }, element: Block) => string | undefined,
): string | undefined {
  const elements = baseElementsOf(base, path);
  if (elements === undefined) return undefined;
  const where = id === undefined ? at : elements.named(id, theirs[id]);
  const block = where === undefined ? undefined : elements.blocks[where];
  return block === undefined ? undefined : text(base, block);
}

function readsAs(text: string, value: unknown): boolean {
  try {
    return sameValue(readTomlValues(text), value);
  } catch {
    return false;
  }
}

/**
 * A table the release writes only as dotted keys in its parent's body (`log.level = "info"` among
 * the top-level keys): its lines, with their comments, go after the last key of the user's parent
 * table, where a reader of either file looks for them — not a new `[log]` at the end of the file.
 * Undefined when the release writes the table otherwise, or the user's file has no body for the
 * parent (the caller then adds it as a table).
 */
function addDottedTable(user: Side, release: Side, path: string[], mine: string): TextOp[] | undefined {
  const parent = path.slice(0, -1);
  if (release.layout.headers.some((h) => startsWith(h.path, path))) return undefined;
  const lines = release.layout.entries.filter((e) => e.path !== undefined && startsWith(e.path, path));
  if (lines.length === 0 || lines.some((e) => !samePath(e.table, parent))) return undefined;
  const target = insertionPoint(user, parent);
  if (target === undefined || target.opens === true || !samePath(target.table, parent)) return undefined;
  const text = mine + lines.map((e) => release.text.slice(e.blockStart, e.lineEnd)).join("");
  return [{ start: target.at, end: target.at, text: lineAt(user.text, target.at, text) }];
}

/**
 * The user's first block gives way to the release's blocks; the user's other blocks go, with the
 * blank lines after them (comments after a block, such as a banner for the next section, stay).
 */
function replaceBlocks(
  user: Side,
  release: Side,
  { mine, theirs }: { mine: Block[]; theirs: Block[] },
  path: string[],
  base: BaseLayout | undefined,
): TextOp[] {
  const [first, ...rest] = mine as [Block, ...Block[]];
  // Each element's comment lines travel with it, the first one's too (they stayed at the top of
  // the array, over whatever element the release put first). Taken whole, the release's array
  // leaves the comment above the first header the user's, as a changed `key = value` does.
  const elements = withUserElements(user, release, { mine, theirs, base }, path);
  const text = elements ?? blocksText(release, theirs, true);
  const start = elements === undefined ? first.headerStart : first.start;
  const ops: TextOp[] = [{ start, end: first.contentEnd, text }];
  let previous = first;
  for (const block of rest) {
    const blank = /^(?:[ \t]*\r?\n)*/.exec(user.text.slice(block.contentEnd, block.end))?.[0] ?? "";
    const between = user.text.slice(previous.contentEnd, block.start);
    if (block.contentEnd + blank.length === user.text.length) {
      ops.push({ start: afterLastContent(user.text, block.start), end: user.text.length, text: "" });
    } else if (between !== "" && /^(?:[ \t]*\r?\n)+$/.test(between)) {
      // Set apart from the block before by blank lines alone: it takes those along, and the blank
      // lines after it still part the array from what follows.
      ops.push({ start: previous.contentEnd, end: block.contentEnd, text: "" });
    } else {
      // Right under the block before ([a.tls] under its [[a]]) or after a comment paragraph: it
      // takes the blank lines after it along, unless nothing else parts the array from what follows.
      const end = between === "" ? block.contentEnd : block.contentEnd + blank.length;
      ops.push({ start: block.start, end, text: "" });
    }
    previous = block;
  }
  return ops;
}

function removeTable(user: Side, release: Side, path: string[], base?: BaseLayout): TextOp[] | undefined {
  const blocks = headerBlocks(user, path);
  // Keys of the table written as dotted keys in its parent's body (`log.level = "info"`) go line by
  // line, with the comments directly above them, as a removed plain key does.
  const dotted = outsideBlocks(user, path, blocks);
  if (blocks.length === 0 && dotted.length === 0) return undefined;
  // A block at the very end takes the blank lines above it along, so the file does not end blank.
  const startOf = (start: number, end: number) =>
    end === user.text.length ? afterLastContent(user.text, start) : start;
  const header = user.layout.headers.find((h) => h.lineStart === blocks[0]?.headerStart);
  const last = blocks.at(-1);
  const passed =
    header === undefined || last === undefined
      ? undefined
      : passedCommentEnd(user, release, header, last.end, base);
  return [
    ...blocks.map((b, i) => {
      const end = blocks.some((other) => other.start === b.end) ? b.end : keptParagraphStart(user.text, b);
      return { start: startOf(i === 0 && passed !== undefined ? passed : b.start, end), end, text: "" };
    }),
    ...dotted.map((e) => ({ start: e.blockStart, end: e.lineEnd, text: "" })),
  ];
}

/**
 * Where a removed block ends when comment paragraphs follow its last key: a comment set apart from
 * it by a blank line (a banner for the next section, a footer) is not the table's and stays; the
 * comment lines right under its last key go with it.
 */
function keptParagraphStart(text: string, block: Block): number {
  const tail = text.slice(block.contentEnd, block.end);
  const kept = /^(?:[ \t]*#[^\n]*\n)*(?:[ \t]*\r?\n)+(?=[ \t]*#)/.exec(tail);
  if (kept !== null) return block.contentEnd + kept[0].length;
  // Comment lines closing the file right under the last key: its footer stays (toml-footer.ts).
  if (block.end !== text.length || !/^(?:[ \t]*#[^\n]*\n)+$/.test(tail)) return block.end;
  const lines = tail.split("\n").slice(0, -1);
  const own = lines.slice(0, tableCommentCount(lines));
  return block.contentEnd + own.reduce((length, line) => length + line.length + 1, 0);
}

/** The offset just past the newline of the last non-blank line before `offset`. */
function afterLastContent(text: string, offset: number): number {
  const blank = /(?:\r?\n[ \t]*)+$/.exec(text.slice(0, offset))?.[0] ?? "";
  const newline = /^\r?\n/.exec(blank)?.[0].length ?? 0;
  return offset - blank.length + newline;
}

function applyOps(text: string, ops: TextOp[]): string | undefined {
  const eol = text.includes("\r\n") ? "\r\n" : "\n";
  // Applied from the end backwards so earlier offsets stay valid. At one offset: removals first,
  // then insertions in reverse of their final order (top-level keys, plain keys, then appended
  // tables; plan order).
  const rank = (op: TextOp, index: number) => [
    op.start,
    op.end > op.start ? 1 : 0,
    op.head ? -1 : op.tail ? 1 : 0,
    index,
  ];
  // An insertion moves out of the removals as joined: two removals sharing a blank line (`[b.a.e]`
  // and `[e]`, the blank line between them) are one, and an insertion moved to the start of the
  // second only still fell inside the first, so the whole file was rewritten from values.
  const coalesced = coalesceRemovals(ops);
  const ordered = coalesced
    .map((op) => outOfRemoval(text, op, coalesced))
    .map((op, index) => ({ op, key: rank(op, index) }))
    .sort((a, b) => compareDescending(a.key, b.key))
    .map(({ op }) => op);
  // The result is the text's untouched head and the edited tail after it, kept as pieces: each edit
  // rebuilt the whole string and each gap closed read it from its start, quadratic in the edits.
  const result = new EditedText(text);
  let limit = Number.POSITIVE_INFINITY;
  for (const op of ordered) {
    if (op.end > limit) return undefined;
    result.replace(op.start, op.end, op.text.replace(/\r?\n/g, eol));
    if (op.text === "" && op.end > op.start) result.closeGap(op.start);
    limit = op.start;
  }
  // A table opened above a sub-table that the merge also removed kept the blank line meant to part
  // them: the file does not end blank where the operator's did not.
  const merged = result.toString();
  const endsBlank = (t: string) => trailingBlankLines(t) > 0;
  return endsBlank(merged) && !endsBlank(text)
    ? merged.slice(0, merged.length - trailingBlankLines(merged))
    : merged;
}

/**
 * An insertion that falls inside a stretch another edit removes (a table added before `[e]` while
 * `e` turns from a table into a plain key) moves to the start of that stretch, with the blank lines
 * the stretch held before it; without this the two edits overlapped and the whole file was
 * rewritten from values. At the end of the file, it does not leave the file ending blank.
 */
function outOfRemoval(text: string, op: TextOp, ops: readonly TextOp[]): TextOp {
  if (op.end !== op.start) return op;
  const around = ops.find((r) => r.end > r.start && r.text === "" && r.start < op.start && op.start < r.end);
  if (around === undefined) return op;
  const lead = /^(?:[ \t]*\r?\n)*/.exec(text.slice(around.start, op.start))?.[0] ?? "";
  if (around.end !== text.length)
    return { ...op, start: around.start, end: around.start, text: lead + op.text };
  // A removal to the end of the file takes the blank lines above it along (EditedText.closeGap):
  // the insertion brings them back, as the line parting it from what stays.
  const before = text.slice(0, around.start);
  const above = before.slice(before.length - trailingBlankLines(before));
  // Without the blank lines closing it, which would end the file blank.
  const body = op.text.replace(/(\r?\n)(?:[ \t]*\r?\n)+$/, "$1");
  return { ...op, start: around.start, end: around.start, text: above + lead + body };
}

/**
 * A text edited from its end backwards: `text.slice(0, head)` untouched, then the edited pieces
 * (last first). Edits at or before `head` cost their own length, not the text's.
 */
class EditedText {
  private head: number;
  /** The tail's pieces, the last piece first (an edit prepends). */
  private readonly pieces: string[] = [];

  constructor(private text: string) {
    this.head = text.length;
  }

  replace(start: number, end: number, insert: string): void {
    if (end > this.head) this.flatten();
    this.pieces.push(this.text.slice(end, this.head));
    this.pieces.push(insert);
    this.head = start;
  }

  /**
   * Lines removed at `at` (the head's end) at the top of the file or of a paragraph would leave the
   * blank lines after them behind: a file starting blank, or two blank lines where the user had
   * one. Those go too, and so do the blank lines above lines removed at the end of the file.
   */
  closeGap(at: number): void {
    if (at !== this.head) this.flatten();
    const { blank, all } = this.leadingBlank();
    const before = this.text.slice(0, at);
    // Nothing but blank lines after them: the file must not end blank either.
    if (all) {
      this.pieces.length = 0;
      this.head = at - trailingBlankLines(before);
      return;
    }
    if (at > 0 && !endsWithBlankLine(before)) return;
    this.dropFront(blank);
  }

  toString(): string {
    let out = this.text.slice(0, this.head);
    for (let k = this.pieces.length - 1; k >= 0; k--) out += this.pieces[k];
    return out;
  }

  /** Back to one string when an edit reaches past the head (what earlier gaps closed moved). */
  private flatten(): void {
    // The head is the whole text now; later edits cut it as they cut the edited text before.
    this.text = this.toString();
    this.pieces.length = 0;
    this.head = this.text.length;
  }

  /** How long the tail's leading run of blank lines is, and whether the tail holds only those. */
  private leadingBlank(): { blank: number; all: boolean } {
    let length = 0;
    let line = 0;
    for (let k = this.pieces.length - 1; k >= 0; k--) {
      const piece = this.pieces[k] as string;
      for (const c of piece) {
        if (c === " " || c === "\t" || c === "\r") line++;
        else if (c === "\n") {
          length += line + 1;
          line = 0;
        } else return { blank: length, all: false };
      }
    }
    return { blank: length, all: line === 0 };
  }

  private dropFront(count: number): void {
    let left = count;
    while (left > 0 && this.pieces.length > 0) {
      const piece = this.pieces.pop() as string;
      if (piece.length > left) {
        this.pieces.push(piece.slice(left));
        return;
      }
      left -= piece.length;
    }
  }
}

/** How many characters of blank lines end `text` after its last line with content's newline. */
function trailingBlankLines(text: string): number {
  let end = text.length;
  let cut = 0;
  // Each pass takes one blank line off the end; the newline ending the content line stays.
  for (;;) {
    if (!text.endsWith("\n", end)) return cut;
    let k = end - 1;
    if (text[k - 1] === "\r") k--;
    let j = k;
    while (j > 0 && (text[j - 1] === " " || text[j - 1] === "\t")) j--;
    if (j === 0 || text[j - 1] !== "\n") return cut;
    cut += end - j;
    end = j;
  }
}

/** Whether `text` ends with a blank line (its last line holds only spaces and tabs), or is one. */
function endsWithBlankLine(text: string): boolean {
  if (!text.endsWith("\n")) return false;
  let j = text.length - 1;
  if (text[j - 1] === "\r") j--;
  while (j > 0 && (text[j - 1] === " " || text[j - 1] === "\t")) j--;
  return j === 0 || text[j - 1] === "\n";
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

function nest(path: readonly string[], value: unknown): Record<string, unknown> {
  let node: unknown = value;
  for (const key of [...path].reverse()) node = { [key]: node };
  return isTable(node) ? node : {};
}
