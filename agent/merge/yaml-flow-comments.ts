import {
  type Document,
  isCollection,
  isMap,
  isNode,
  isPair,
  isScalar,
  type Pair,
  visit,
  type YAMLMap,
} from "yaml";

/**
 * The YAML library reads the comment after a flow collection's last item (`b,   # second` above the
 * `]` of a list spread over lines) as the collection's own, written after its closing bracket. A
 * release that replaced such a list then wrote the user's comment twice (`b,   # second` and
 * `] # second`), and one that kept it moved it past the bracket. The comment goes back to that item
 * here, where the library writes it again as `b # second` above the `]`.
 */
export function lastItemComments(doc: Document, text: string): void {
  visit(doc, {
    Collection(_key, node) {
      if (node.flow !== true || !node.comment || node.range == null) return;
      const last = node.items.at(-1);
      const holder = isPair(last) ? (isNode(last.value) ? last.value : last.key) : last;
      if (!isNode(holder) || holder.comment || holder.range == null) return;
      // Between the last item's end and the closing bracket (the collection's value end).
      // The library joins those lines with any after the bracket (`] # y`), which stay the collection's.
      const inside = text
        .slice(holder.range[2], node.range[1] - 1)
        .split("\n")
        .filter((line) => line.includes("#"));
      if (inside.length === 0) return;
      const lines = node.comment.split("\n");
      holder.comment = lines.slice(0, inside.length).join("\n");
      node.comment = lines.length > inside.length ? lines.slice(inside.length).join("\n") : null;
    },
  });
}

/**
 * Flow collections written on one line (`db: {host: a, port: 5432}`), marked at parse on the node,
 * where clone() keeps it. What the merge puts into one comes without the release's comments: the
 * library spread a one-line `{…}` over lines, braces on lines of their own, around a note the
 * release wrote above or after a key it writes in block lines.
 */
const ONE_LINE = Symbol("flow collection on one line");

export function markOneLineFlows(doc: Document, text: string): void {
  visit(doc, {
    Collection(_key, node) {
      if (node.flow !== true || node.range == null) return;
      if (!text.slice(node.range[0], node.range[1]).includes("\n"))
        Object.defineProperty(node, ONE_LINE, { value: true });
    },
  });
}

export function writtenOnOneLine(node: unknown): boolean {
  return (
    isCollection(node) &&
    node.flow === true &&
    (node as unknown as Record<symbol, unknown>)[ONE_LINE] === true
  );
}

/**
 * An empty mapping (`level: {}`) is written in braces because YAML has no other way to write one:
 * it shows no style of the user's. Keys the merge puts into it came on one line, `level: { a: 1 }`,
 * the release's comments on them dropped, where the release writes that mapping in block lines
 * (as an empty list, `[]`, already took the release's lines). It takes the release's block form,
 * unless it stands inside a flow collection, which holds no block lines.
 */
export function blockLikeRelease(
  doc: Document,
  map: YAMLMap<unknown, unknown>,
  path: readonly string[],
  key: string,
  release: Document,
): void {
  if (map.flow !== true || map.items.length > 0) return;
  let node: unknown = doc.contents;
  let holder: Pair<unknown, unknown> | undefined;
  for (const step of path) {
    if (!isMap(node) || node.flow === true) return;
    holder = node.items.find((pair) => isScalar(pair.key) && String(pair.key.value) === step);
    node = holder?.value;
  }
  let theirs: unknown = release.contents;
  for (const step of path) theirs = isMap(theirs) ? theirs.get(step, true) : undefined;
  if (!isMap(theirs) || theirs.flow === true || !isScalar(holder?.key) || holder.key.comment) return;
  map.flow = false;
  // The comment after the braces (`level: {}  # mine`) stays on the key's line, where the library
  // writes a key's own comment, and the release's comment above its first key comes with that key,
  // as in a mapping the merge opens anew.
  holder.key.comment = map.comment;
  map.comment = null;
  const first = theirs.items[0];
  const shipped = isScalar(first?.key) && String(first.key.value) === key ? theirs.commentBefore : null;
  if (map.commentBefore == null) map.commentBefore = shipped;
}

/** `node` (a pair or a value) without any comment, at any depth. */
export function withoutComments(node: unknown): void {
  const parts = isPair(node) ? [node.key, node.value] : [node];
  for (const part of parts) {
    if (!isNode(part)) continue;
    visit(part, {
      Node(_key, child) {
        child.commentBefore = null;
        child.comment = null;
      },
    });
  }
}
