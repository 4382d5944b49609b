/**
 * How deep a YAML text nests. The yaml library's composer recurses once per level, so a text nested
 * some thousands deep (block style `- - -`, mappings under mappings, `? ` keys, or flow `[[[`) came
 * back as "Maximum call stack size exceeded"; counting brackets in the text sees only flow style
 * (and takes a `[` in a comment or a block scalar for nesting). The composed document is measured;
 * when composing failed, the syntax tree, which the library builds without recursion, is measured
 * instead (only then: reading it again costs most of a parse). Config merges and update manifests
 * both measure here, each against its own limit.
 */
import {
  type Alias,
  type CST,
  type Document,
  isAlias,
  isMap,
  isPair,
  isScalar,
  isSeq,
  Parser,
  visit,
} from "yaml";

/** The offset of the first list or mapping of `doc` (parsed from `text`) nested deeper than `max`. */
export function firstYamlPastDepth(doc: Document, text: string, max: number): number | undefined {
  return doc.errors.length > 0
    ? firstPastLimit(documentValues(text), syntaxChildren, max)
    : firstPastLimit([doc.contents], nodeChildren, max);
}

/** A collection's offset and what it holds; undefined for anything else. */
type Children<T> = (item: T) => { offset: number; children: T[] } | undefined;

/** The offset of the first collection nested past `max`, counted with a stack of its own. */
function firstPastLimit<T>(roots: T[], childrenOf: Children<T>, max: number): number | undefined {
  const stack = roots.map((item) => ({ item, depth: 0 }));
  for (let next = stack.pop(); next !== undefined; next = stack.pop()) {
    const collection = childrenOf(next.item);
    if (collection === undefined) continue;
    const depth = next.depth + 1;
    if (depth > max) return collection.offset;
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

/** Thrown inside expandedHeight when expansion passes the limit; `offset` is the alias that did. */
class PastDepth {
  constructor(readonly offset: number) {}
}

/**
 * The offset of the first alias through which `doc`, expanded as toJS expands it, nests deeper
 * than `max`, or one that refers to a collection it is inside of (a cycle nests for ever). An
 * anchor 30 levels deep used 5 levels down passed the measure above, which counts an alias as a
 * leaf, and came out 35 deep. Each node's height is worked out once (a "billion laughs" of aliases
 * costs no more than its text), and the walk stops past `max`, so its recursion stays shallow.
 */
export function firstAliasPastDepth(doc: Document, max: number): number | undefined {
  const targetOf = aliasTargets(doc);
  const heights = new Map<unknown, number>();
  const inProgress = new Set<unknown>();
  const height = (node: unknown, depth: number): number => {
    if (isAlias(node)) {
      const target = targetOf(node);
      const offset = node.range?.[0] ?? 0;
      if (inProgress.has(target)) throw new PastDepth(offset);
      const below = height(target, depth);
      if (depth + below > max) throw new PastDepth(offset);
      return below;
    }
    if (!isMap(node) && !isSeq(node)) return 0;
    const known = heights.get(node);
    if (known !== undefined) return known;
    if (depth >= max) throw new PastDepth(node.range?.[0] ?? 0);
    inProgress.add(node);
    let tallest = 0;
    for (const item of node.items) {
      if (!isPair(item)) tallest = Math.max(tallest, height(item, depth + 1));
      else if (isScalar(item.key) && typeof item.key.value === "symbol" && isMergeable(item.value)) {
        // `<<: *base` puts base's keys in this mapping: they are at this level, not one below.
        for (const source of isSeq(item.value) ? item.value.items : [item.value])
          tallest = Math.max(tallest, height(source, depth) - 1);
      } else tallest = Math.max(tallest, height(item.key, depth + 1), height(item.value, depth + 1));
    }
    inProgress.delete(node);
    heights.set(node, tallest + 1);
    return tallest + 1;
  };
  try {
    height(doc.contents, 0);
    return undefined;
  } catch (e) {
    if (e instanceof PastDepth) return e.offset;
    throw e;
  }
}

/** Thrown inside firstAliasPastCount when the repeated values pass the limit, at the alias that did. */
class PastCount {
  constructor(readonly offset: number) {}
}

/**
 * The offset of the alias through which the values `doc`'s aliases repeat (an alias counted as
 * what it repeats: every key, value and list item it stands for, its own aliases expanded) pass
 * `max`, in one walk. yaml's per-anchor maxAliasCount let 20 anchors used 800 times each through,
 * and toJS then took over 30 s of CPU. Each collection is sized once, so the recursion is only as
 * deep as the text nests (aliases refer back to nodes already sized); an alias inside what it
 * refers to repeats nothing (toJS makes it a reference back).
 */
export function firstAliasPastCount(doc: Document, max: number): number | undefined {
  const targetOf = aliasTargets(doc);
  const sizes = new Map<unknown, number>();
  const inProgress = new Set<unknown>();
  let repeated = 0;
  const sizeOf = (node: unknown): number => {
    if (isAlias(node)) {
      const target = targetOf(node);
      const size = target === undefined || inProgress.has(target) ? 0 : sizeOf(target);
      repeated += size;
      if (repeated > max) throw new PastCount(node.range?.[0] ?? 0);
      return size;
    }
    if (!isMap(node) && !isSeq(node)) return 1;
    const known = sizes.get(node);
    if (known !== undefined) return known;
    inProgress.add(node);
    let size = 1;
    for (const item of node.items)
      size += isPair(item) ? sizeOf(item.key) + sizeOf(item.value) : sizeOf(item);
    inProgress.delete(node);
    sizes.set(node, size);
    return size;
  };
  try {
    sizeOf(doc.contents);
    return undefined;
  } catch (e) {
    if (e instanceof PastCount) return e.offset;
    throw e;
  }
}

/**
 * What each alias of `doc` refers to, as `alias.resolve(doc)` finds it (the last node anchored so
 * before it), from one walk of the document, made at the first lookup (a document without aliases
 * costs none): resolve() walks the whole document for each alias, so 16,000 `*a` (48 KB, under the
 * hub's 64 KiB) held the hub 35 s of CPU before any count saw them, and an agent's merge minutes.
 * The walk sees the document as it is then: one made before an edit that adds or moves anchors is
 * not asked after it.
 */
export function aliasTargets(doc: Document): (alias: Alias) => unknown {
  let targets: Map<Alias, unknown> | undefined;
  return (alias) => {
    targets ??= targetsOf(doc);
    return targets.get(alias);
  };
}

/** The nodes some alias of `doc` refers to (anchors in use), from the same one walk. */
export function aliasedNodes(doc: Document): ReadonlySet<unknown> {
  return new Set(targetsOf(doc).values());
}

function targetsOf(doc: Document): Map<Alias, unknown> {
  const latest = new Map<string, unknown>();
  const targets = new Map<Alias, unknown>();
  visit(doc, {
    Node: (_key, node) => {
      if (isAlias(node)) targets.set(node, latest.get(node.source));
      else if (typeof node.anchor === "string") latest.set(node.anchor, node);
    },
  });
  return targets;
}

const isMergeable = (value: unknown): boolean => isAlias(value) || isMap(value) || isSeq(value);
