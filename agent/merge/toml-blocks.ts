/**
 * Header blocks of a TOML text (`[table]` and `[[array]]` with the comments above them and the keys
 * under them): where a table or an array of tables lives, its text, and where new blocks go so the
 * file keeps its order — in place of the old ones, before the block that follows them in the
 * release, or after the last block of their parent table.
 */
import type { TomlEntry, TomlHeader, TomlLayout } from "./toml-scan.js";

export interface TomlSide {
  text: string;
  value: unknown;
  layout: TomlLayout;
}

export interface Block {
  /** First comment line directly above the header, else the header line. */
  start: number;
  /** The header line itself. */
  headerStart: number;
  /** Where the next header's block starts (or the end of the text). */
  end: number;
  /** Just past the header's or the last key's line: what follows up to `end` is blank lines and comments. */
  contentEnd: number;
}

/**
 * The blocks holding table (or array of tables) `path` and its sub-tables, when every key of it
 * lives inside them (not in dotted keys elsewhere).
 */
export function tableBlocks(side: TomlSide, path: readonly string[]): Block[] | undefined {
  const blocks = headerBlocks(side, path);
  if (blocks.length === 0) return undefined;
  return outsideBlocks(side, path, blocks).length > 0 ? undefined : blocks;
}

/** The `[path]` and `[path.sub]` blocks, whether or not keys of the table also live elsewhere. */
export function headerBlocks(side: TomlSide, path: readonly string[]): Block[] {
  const { headers, entries } = side.layout;
  return headers
    .filter((h) => startsWith(h.path, path))
    .map((h): Block => {
      const end = nextBlockStart(headers, h.lineEnd, side.text.length);
      const last = entries[firstAtOrAfter(entries, end) - 1];
      const content = last !== undefined && last.lineStart >= h.lineEnd ? last.lineEnd : h.lineEnd;
      return { start: h.blockStart, headerStart: h.lineStart, end, contentEnd: content };
    });
}

/**
 * The index of the first of `lines` (in text order, as the scan lists headers and entries) starting
 * at or after `offset`; their length when none does. A search, not a scan: a file of thousands of
 * `[[array]]` elements looked up every element's end by walking every header and entry.
 */
function firstAtOrAfter(lines: readonly { lineStart: number }[], offset: number): number {
  let low = 0;
  let high = lines.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if ((lines[mid] as { lineStart: number }).lineStart < offset) low = mid + 1;
    else high = mid;
  }
  return low;
}

/** Entries of table `path` outside `blocks`: dotted keys in a parent's body (`log.level = 1`). */
export function outsideBlocks(
  side: TomlSide,
  path: readonly string[],
  blocks: readonly Block[],
): TomlEntry[] {
  const inside = (offset: number) => blocks.some((b) => offset >= b.start && offset < b.end);
  return side.layout.entries.filter(
    (e) => e.path !== undefined && startsWith(e.path, path) && !inside(e.lineStart),
  );
}

/** The blocks of `path` when it is an array of tables (`[[path]]`) in this text. */
export function arrayBlocks(side: TomlSide, path: readonly string[]): Block[] | undefined {
  const first = side.layout.headers.find((h) => samePath(h.path, path));
  return first?.kind === "array" ? tableBlocks(side, path) : undefined;
}

/**
 * `blocks` (an array of tables' `tableBlocks`) as one block per element: each `[[path]]` block with
 * the sub-table blocks under it (`[path.tls]`, `[[path.rules]]`), which belong to that element.
 * Undefined when a block comes before the first element or a sub-table is not directly under its
 * element (a `[[path]]`, `[other]`, `[path.tls]` file: one span would hold `[other]` too).
 */
export function elementBlocks(
  side: TomlSide,
  blocks: readonly Block[],
  path: readonly string[],
): Block[] | undefined {
  const elements: Block[] = [];
  const headerAt = new Map(side.layout.headers.map((h) => [h.lineStart, h]));
  for (const block of blocks) {
    const header = headerAt.get(block.headerStart);
    const opens = header?.kind === "array" && samePath(header.path, path);
    const last = elements.at(-1);
    if (opens) elements.push({ ...block });
    else if (last === undefined || last.end !== block.start) return undefined;
    else {
      last.end = block.end;
      last.contentEnd = block.contentEnd;
    }
  }
  return elements;
}

export function nextBlockStart(headers: readonly TomlHeader[], after: number, fallback: number): number {
  return headers[firstAtOrAfter(headers, after)]?.blockStart ?? fallback;
}

/**
 * The blocks' text in order, without what trails the last one (a banner comment for the next
 * section); from the first header line on when `fromHeader` (the comment above stays the user's).
 */
export function blocksText(side: TomlSide, blocks: readonly Block[], fromHeader = false): string {
  const parts = blocks.map((b, i) =>
    side.text.slice(
      i === 0 && fromHeader ? b.headerStart : b.start,
      i === blocks.length - 1 ? b.contentEnd : b.end,
    ),
  );
  return withNewline(parts.map(withNewline).join("").trimEnd());
}

/**
 * Where the release's blocks of a new table `path` go in the user's text: before the user's copy of
 * the block that follows them in the release, else after the user's last block of the parent table;
 * undefined when neither exists (the caller appends at the end).
 */
export function blockInsertionPoint(
  user: TomlSide,
  release: TomlSide,
  path: readonly string[],
  releaseBlocks: readonly Block[],
): number | undefined {
  const after = releaseBlocks.at(-1)?.end ?? release.text.length;
  const next = release.layout.headers.find((h) => h.blockStart >= after);
  if (next !== undefined && !inArrayElement(release.layout, next.path)) {
    const mine = user.layout.headers.find((h) => samePath(h.path, next.path) && h.kind === next.kind);
    if (mine !== undefined && !inArrayElement(user.layout, mine.path)) return mine.blockStart;
  }
  const parent = path.slice(0, -1);
  if (parent.length === 0) return undefined;
  const siblings = user.layout.headers.filter(
    (h) => startsWith(h.path, parent) && h.path.length > parent.length,
  );
  const last = siblings.at(-1);
  if (last === undefined) return undefined;
  const end = nextBlockStart(user.layout.headers, last.lineEnd, user.text.length);
  return end === user.text.length ? undefined : end;
}

/** A header inside an element of an array of tables ([a.b] after [[a]]) only means something there. */
export function inArrayElement(layout: TomlLayout, path: readonly string[]): boolean {
  return layout.headers.some(
    (h) => h.kind === "array" && h.path.length < path.length && startsWith(path, h.path),
  );
}

export function withNewline(text: string): string {
  return text.endsWith("\n") ? text : `${text}\n`;
}

export function samePath(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((part, i) => part === b[i]);
}

export function startsWith(path: readonly string[], prefix: readonly string[]): boolean {
  return prefix.length <= path.length && prefix.every((part, i) => part === path[i]);
}
