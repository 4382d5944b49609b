import { type Document, isCollection, isNode, isPair, visit } from "yaml";

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
  return isCollection(node) && (node as unknown as Record<symbol, unknown>)[ONE_LINE] === true;
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
