import {
  type Document,
  isMap,
  isScalar,
  isSeq,
  type LineCounter,
  type Node,
  type Pair,
  type Scalar,
  type YAMLMap,
} from "yaml";
import type { Position } from "../schema/issues.js";
import type { KeyPath } from "../schema/key-path.js";
import type { Problem } from "../schema/problem.js";

interface Located {
  /** The node reached at the end of the path (or the deepest one that exists). */
  node: Node | null;
  /** The key node of the last map entry on the path, when the path ends inside a map. */
  key: Node | null;
  /** Whether the whole path exists in the document. */
  complete: boolean;
}

function keyText(key: unknown): string {
  return isScalar(key) ? String(key.value) : String(key);
}

/**
 * Each map's entries by key text, built once per map: looking every problem's path up by scanning
 * the map made positioning quadratic (20,000 unknown keys took seconds).
 */
const entryIndex = new WeakMap<YAMLMap, Map<string, Pair>>();

function entryOf(map: YAMLMap, segment: string): Pair | undefined {
  let index = entryIndex.get(map);
  if (index === undefined) {
    index = new Map();
    for (const pair of map.items) {
      const text = keyText(pair.key);
      if (!index.has(text)) index.set(text, pair);
    }
    entryIndex.set(map, index);
  }
  return index.get(segment);
}

/** Walks the YAML AST along a key path, keeping the deepest node reached. */
export function locateInYaml(doc: Document, path: KeyPath): Located {
  let node: Node | null = doc.contents;
  let key: Node | null = null;
  for (const segment of path) {
    let next: Node | null | undefined;
    let nextKey: Node | null = null;
    if (isMap(node)) {
      const pair = entryOf(node, String(segment));
      if (pair !== undefined) {
        nextKey = (pair.key as Node | null) ?? null;
        next = (pair.value as Node | null) ?? nextKey;
      }
    } else if (isSeq(node) && typeof segment === "number") {
      next = node.items[segment] as Node | undefined;
    }
    if (next === undefined || next === null) return { node, key, complete: false };
    node = next;
    key = nextKey;
  }
  return { node, key, complete: true };
}

/**
 * Where a character `offset` into a block scalar (`|` or `>`) sits: its content lines follow the
 * header, each with the block's indentation removed; folding turns a line break into one space,
 * so offsets still count one character per break (blank lines inside a folded block aside).
 */
function offsetInBlock(scalar: Scalar, source: string, offset: number): number | undefined {
  const start = scalar.range?.[0];
  if (start === undefined) return undefined;
  let lineStart = source.indexOf("\n", start) + 1;
  if (lineStart === 0) return undefined;
  const indent = /^ */.exec(source.slice(lineStart))?.[0].length ?? 0;
  let remaining = offset;
  while (lineStart < source.length) {
    const end = source.indexOf("\n", lineStart);
    const length = (end === -1 ? source.length : end) - lineStart - indent;
    if (remaining <= length) return lineStart + indent + remaining;
    remaining -= length + 1;
    if (end === -1) return undefined;
    lineStart = end + 1;
  }
  return undefined;
}

/** Where a character `offset` into a scalar's value sits in the source. */
function offsetInScalar(scalar: Scalar, source: string, offset: number): number | undefined {
  const start = scalar.range?.[0];
  if (start === undefined) return undefined;
  if (scalar.type === "PLAIN") return start + offset;
  if (scalar.type === "QUOTE_DOUBLE" || scalar.type === "QUOTE_SINGLE") return start + 1 + offset;
  return offsetInBlock(scalar, source, offset);
}

/**
 * The line:column a problem points at: the key of the entry for key-level problems and for values
 * of map entries (operators read `action:` as "the action"), the item for list entries, and the
 * exact character for an offset into a string. A missing key points at its parent.
 */
export function positionInYaml(
  doc: Document,
  source: string,
  lines: LineCounter,
  problem: Problem,
): Position | undefined {
  const found = locateInYaml(doc, problem.path);
  let offset: number | undefined;
  if (found.complete && problem.offset !== undefined && isScalar(found.node)) {
    offset = offsetInScalar(found.node, source, problem.offset);
  }
  if (offset === undefined && found.complete && found.key !== null) offset = found.key.range?.[0];
  if (offset === undefined) offset = found.node?.range?.[0];
  if (offset === undefined) return undefined;
  const { line, col } = lines.linePos(offset);
  return { line, column: col };
}
