/**
 * How deep a YAML copy nests. The library's composer recurses once per level, so a copy nested some
 * thousands deep in block style (an indented list of lists, `- - - 1`, mappings under mappings,
 * `? ` keys) came back as "does not parse: Maximum call stack size exceeded"; counting brackets in
 * the text saw only flow style (and took a `[` in a comment or a block scalar for nesting). The
 * composed document is measured; when composing failed, the syntax tree, which the library builds
 * without recursion, is measured instead (only then: reading it again costs most of a parse).
 */
import { type CST, type Document, isMap, isPair, isSeq, Parser } from "yaml";
import { MAX_NESTING, tooDeep } from "./nesting.js";
import { type CopyRole, lineColumnAt } from "./parse-error.js";

/** Refuses a YAML copy whose lists and mappings nest deeper than the limit, at the first one past it. */
export function checkYamlNesting(doc: Document, text: string, fileName: string, role: CopyRole): void {
  const past =
    doc.errors.length > 0
      ? firstPastLimit(documentValues(text), syntaxChildren)
      : firstPastLimit([doc.contents], nodeChildren);
  if (past !== undefined) throw tooDeep(fileName, role, lineColumnAt(text, past));
}

/** A collection's offset and what it holds; undefined for anything else. */
type Children<T> = (item: T) => { offset: number; children: T[] } | undefined;

/** The offset of the first collection nested past the limit, counted with a stack of its own. */
function firstPastLimit<T>(roots: T[], childrenOf: Children<T>): number | undefined {
  const stack = roots.map((item) => ({ item, depth: 0 }));
  for (let next = stack.pop(); next !== undefined; next = stack.pop()) {
    const collection = childrenOf(next.item);
    if (collection === undefined) continue;
    const depth = next.depth + 1;
    if (depth > MAX_NESTING) return collection.offset;
    for (const item of collection.children) stack.push({ item, depth });
  }
  return undefined;
}

const nodeChildren: Children<unknown> = (node) => {
  if (!isMap(node) && !isSeq(node)) return undefined;
  // A key may itself be a list or mapping (`? - a`, `[a, b]: 1`).
  const children = node.items.flatMap((item) => (isPair(item) ? [item.key, item.value] : [item]));
  return { offset: node.range?.[0] ?? 0, children };
};

/** Each document's top value in the syntax tree: the documents themselves are no level. */
const documentValues = (text: string): CST.Token[] =>
  [...new Parser().parse(text)].flatMap((token) =>
    token.type === "document" && token.value ? [token.value] : [],
  );

const syntaxChildren: Children<CST.Token> = (token) => {
  if (token.type !== "block-map" && token.type !== "block-seq" && token.type !== "flow-collection")
    return undefined;
  const children = token.items.flatMap((item) =>
    [item.key, item.value].filter((child): child is CST.Token => child != null),
  );
  return { offset: token.offset, children };
};
