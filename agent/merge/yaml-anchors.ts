/**
 * Anchors (`&name`), aliases (`*name`) and merge keys (`<<: *name`) in a YAML Document: which
 * mapping pairs a map owns, which it inherits through `<<`, whether a path's value is defined by an
 * anchor elsewhere, and a local copy of an anchored node for the one place that must differ.
 */
import {
  type Alias,
  Document,
  isAlias,
  isMap,
  isNode,
  isPair,
  isScalar,
  isSeq,
  type Node,
  type Pair,
  type Scalar,
  visit,
  type YAMLMap,
} from "yaml";
import { aliasedNodes, aliasTargets } from "../../shared/yaml-depth.js";
import { dotted } from "./values.js";
import { noteExpansion } from "./yaml-expansion-notes.js";

export function isMergePair(pair: Pair<unknown, unknown>): boolean {
  const key = pair.key;
  return isScalar(key) && (typeof key.value === "symbol" || (key.value === "<<" && key.type === "PLAIN"));
}

export function keyText(pair: Pair<unknown, unknown>): string {
  return jsKeyOf(pair.key);
}

/**
 * A key node as the values (valuesOf) name it: a null key is "", and a key that is a list or mapping
 * (`? [a, b]`) is its flow text, `[ a, b ]`. String() gave `["a","b"]` there, so a release changing
 * that key's value found no such key and added a second one, a string `"[ a, b ]"`, beside it.
 */
export function jsKeyOf(key: unknown): string {
  if (isScalar(key)) return scalarKeyName(key.value, key.source);
  if (!isMap(key) && !isSeq(key)) return String(key);
  let text = flowKeys.get(key);
  if (text === undefined) {
    const copy = key.clone();
    if (isMap(copy) || isSeq(copy)) {
      copy.flow = true;
      visit(copy, {
        Collection(_key, node) {
          node.flow = true;
        },
      });
    }
    text = new Document(copy).toString().trimEnd();
    flowKeys.set(key, text);
  }
  return text;
}

const flowKeys = new WeakMap<object, string>();

/**
 * A scalar key's name where String() would misname it: a YAML 1.1 boolean is named as written,
 * lower case (`on:` was `true` in the key report, and a section `on` named no key); a float that
 * is a whole number keeps its `.0` (`1.0:` was `1`, one key with `1:` beside it, an integer).
 */
function scalarKeyName(value: unknown, source: string | undefined): string {
  if (value === null) return "";
  if (typeof value === "boolean") return source?.toLowerCase() ?? String(value);
  const text = String(value);
  return typeof value === "number" && /^-?\d+$/.test(text) ? `${text}.0` : text;
}

/**
 * The document's values, keys named as jsKeyOf names them (the library's toJS() names a key by
 * String() of its value).
 */
export function valuesOf(doc: Document, options: { maxAliasCount: number }): unknown {
  return withKeyNames(doc, () => doc.toJS(options));
}

/** Runs `read` (a toJS() call) with the document's keys renamed; the document is the user's after. */
export function withKeyNames<T>(doc: Document, read: () => T): T {
  const renamed: { key: Scalar; value: unknown }[] = [];
  visit(doc, {
    Pair(_key, pair) {
      const key = pair.key;
      if (!isScalar(key) || isMergePair(pair)) return;
      if (typeof key.value !== "boolean" && typeof key.value !== "number") return;
      renamed.push({ key, value: key.value });
      key.value = jsKeyOf(key);
    },
  });
  try {
    return read();
  } finally {
    for (const { key, value } of renamed) key.value = value;
  }
}

/** The pair the map itself writes for `key` (not one it inherits through `<<`). */
export function ownPair(map: YAMLMap<unknown, unknown>, key: string): Pair<unknown, unknown> | undefined {
  const items = map.items;
  if (items.length < INDEXED_FROM) return items.find((pair) => ownKey(pair) === key);
  // Every edit looked its key up pair by pair, in the user's, the release's and the previous
  // release's mappings: 700 changed defaults in a 20,000-key file cost about a second of CPU.
  const index = currentIndex(map);
  const pair = index.byKey.get(key);
  // A pair removed since (removePair tells) may hide a later one of a key read alike: looked for.
  if (pair !== undefined && !index.removed.has(pair) && ownKey(pair) === key) return pair;
  return items.find((p) => ownKey(p) === key);
}

/**
 * A merge's removals (removePair) are told to the index, and pairs are added at the end: the index
 * follows both without being built again. Rebuilt per removal, it made a release dropping half the
 * keys of a 20,000-key file cost 50 s of CPU. Anything else (a new array) builds it again.
 */
export function pairRemoved(map: YAMLMap<unknown, unknown>, pair: Pair<unknown, unknown>): void {
  const index = pairIndexes.get(map);
  if (index === undefined || index.items !== map.items) return;
  index.removed.add(pair);
  index.size--;
}

const INDEXED_FROM = 64;

interface PairIndex {
  items: readonly Pair<unknown, unknown>[];
  /** How many pairs the map holds as far as the index knows. */
  size: number;
  byKey: Map<string, Pair<unknown, unknown>>;
  removed: WeakSet<Pair<unknown, unknown>>;
}

const pairIndexes = new WeakMap<YAMLMap<unknown, unknown>, PairIndex>();

function currentIndex(map: YAMLMap<unknown, unknown>): PairIndex {
  const items = map.items;
  const known = pairIndexes.get(map);
  if (known !== undefined && known.items === items && known.size <= items.length) {
    // Pairs added at the end since: indexed as a search from the start finds them.
    indexPairs(known, items.slice(known.size));
    known.size = items.length;
    return known;
  }
  const index: PairIndex = { items, size: items.length, byKey: new Map(), removed: new WeakSet() };
  indexPairs(index, items);
  pairIndexes.set(map, index);
  return index;
}

function indexPairs(index: PairIndex, pairs: readonly Pair<unknown, unknown>[]): void {
  for (const pair of pairs) {
    const key = ownKey(pair);
    // The first of keys that read alike (`1` and '1'), as a search from the start finds it.
    if (key === undefined) continue;
    if (!index.byKey.has(key)) index.byKey.set(key, pair);
  }
}

function ownKey(pair: Pair<unknown, unknown>): string | undefined {
  return isMergePair(pair) ? undefined : keyText(pair);
}

/**
 * What an alias of the document refers to (aliasTargets): one made per document read or edit step,
 * as each alias's own resolve() walks the whole document (16,000 aliases took minutes).
 */
export type AliasTarget = (alias: Alias) => unknown;

/** The maps a map's merge keys (`<<: *a`, `<<: [*a, *b]`) take from, aliases resolved, in order. */
export function mergeSources(
  targetOf: AliasTarget,
  map: YAMLMap<unknown, unknown>,
): YAMLMap<unknown, unknown>[] {
  const maps: YAMLMap<unknown, unknown>[] = [];
  for (const pair of map.items) {
    if (!isMergePair(pair)) continue;
    for (const source of isSeq(pair.value) ? pair.value.items : [pair.value]) {
      const resolved = isAlias(source) ? targetOf(source) : source;
      if (isMap(resolved)) maps.push(resolved);
    }
  }
  return maps;
}

/** The node `key` takes through the map's merge keys, the first source that has it winning. */
export function inheritedNode(targetOf: AliasTarget, map: YAMLMap<unknown, unknown>, key: string): unknown {
  for (const resolved of mergeSources(targetOf, map)) {
    const found = ownPair(resolved, key) ?? undefined;
    if (found !== undefined) return found.value;
    const deeper = inheritedNode(targetOf, resolved, key);
    if (deeper !== undefined) return deeper;
  }
  return undefined;
}

/**
 * Whether the value at `path` is defined by an anchor elsewhere: the path passes through an alias
 * or a key inherited through `<<`. Such a value follows its anchor when the anchor is merged.
 */
export function followsAnchor(doc: Document, path: readonly string[]): boolean {
  let node: unknown = doc.contents;
  for (const key of path) {
    if (isAlias(node)) return true;
    if (!isMap(node)) return false;
    const own = ownPair(node, key);
    if (own === undefined) return inheritedNode(aliasTargets(doc), node, key) !== undefined;
    node = own.value;
  }
  return isAlias(node);
}

/** Whether the document uses aliases at all (then an edit may already be made through its anchor). */
export function hasAliases(doc: Document): boolean {
  let found = false;
  visit(doc, {
    Alias() {
      found = true;
      return visit.BREAK;
    },
  });
  return found;
}

/** A copy of an anchored node for one place, without anchors of its own (they would redefine names). */
export function localCopy(targetOf: AliasTarget, node: unknown): Node {
  const resolved: unknown = isAlias(node) ? targetOf(node) : node;
  if (!isNode(resolved)) throw new Error("alias does not resolve");
  const copy = resolved.clone() as Node;
  visit(copy, {
    Node(_key, n) {
      if (!isAlias(n) && n.anchor !== undefined) n.anchor = undefined;
    },
  });
  if (!isAlias(copy)) copy.anchor = undefined;
  return copy;
}

/**
 * The mapping at `path`, made editable: an alias on the way is replaced by a local copy of its
 * anchor, a key inherited through `<<` gets an own copy; each such expansion is noted.
 */
export function editableMapAt(
  doc: Document,
  path: readonly string[],
  notes: string[],
  /** Makes a mapping the user's copy lacks altogether (only an add goes through one). */
  open?: (path: readonly string[]) => Pair<unknown, unknown>,
): YAMLMap<unknown, unknown> {
  let node: unknown = doc.contents;
  for (let i = 0; i < path.length; i++) {
    const key = path[i] as string;
    if (!isMap(node)) throw new Error(`no mapping at ${dotted(path.slice(0, i))}`);
    const here = dotted(path.slice(0, i + 1));
    // Per step: the step before may have added a copy, whose aliases are new nodes.
    const targetOf = aliasTargets(doc);
    let pair = ownPair(node, key);
    if (pair === undefined) {
      const inherited = inheritedNode(targetOf, node, key);
      if (inherited === undefined && open !== undefined) {
        const opened = open(path.slice(0, i + 1));
        node.items.push(opened);
        node = opened.value;
        continue;
      }
      if (inherited === undefined) throw new Error(`no ${here}`);
      const copy = localCopy(targetOf, inherited);
      pair = doc.createPair(key, null);
      pair.value = copy;
      node.items.push(pair);
      noteExpansion(
        notes,
        copy,
        `${here} was inherited through a merge key (<<): it now has its own copy, to change a key inside it`,
      );
    } else if (isAlias(pair.value)) {
      const name = pair.value.source;
      const copy = localCopy(targetOf, pair.value);
      pair.value = copy;
      noteExpansion(
        notes,
        copy,
        `the alias *${name} at ${here} was expanded into its own copy, to change a key inside it`,
      );
    }
    node = pair.value;
  }
  if (!isMap(node)) throw new Error(`no mapping at ${dotted(path)}`);
  return node;
}

/**
 * Whether `alias` shows `node`: YAML lets a file define an anchor name again (`&x` twice), and an
 * alias shows the last node of that name before it, so the name alone is not enough.
 */
function shows(targetOf: AliasTarget, alias: Alias, node: Node): boolean {
  return alias.source === node.anchor && targetOf(alias) === node;
}

/**
 * The anchor a value node defines that some alias of the document uses (a `&name` worth keeping).
 * `used` (aliasedNodes) serves a caller asking of many nodes of one unchanged document.
 */
export function usedAnchorOf(doc: Document, node: unknown, used?: ReadonlySet<unknown>): string | undefined {
  if (!isNode(node) || isAlias(node) || node.anchor === undefined) return undefined;
  return (used ?? aliasedNodes(doc)).has(node) ? node.anchor : undefined;
}

/**
 * Replaces every alias of the anchored `node` with a copy of what it shows now, so they keep their
 * value when the node changes or goes; each expansion is noted by where it is. Aliases of another
 * node under the same anchor name (defined again further on) are left alone.
 */
export function expandAliasesOf(doc: Document, node: Node, notes: string[]): void {
  const anchor = node.anchor;
  // Decided before any is replaced: a replaced alias no longer resolves through the document.
  const ofNode = new Set<Alias>();
  const targetOf = aliasTargets(doc);
  visit(doc, {
    Alias(_key, alias) {
      if (shows(targetOf, alias, node)) ofNode.add(alias);
    },
  });
  visit(doc, {
    Alias(_key, alias, path) {
      if (!ofNode.has(alias)) return undefined;
      const at = path.filter(isPair).map((pair) => pathKeyText(pair as Pair<unknown, unknown>));
      const copy = localCopy(targetOf, alias);
      noteExpansion(
        notes,
        copy,
        `the alias *${anchor} at ${dotted(at)} was expanded into its own copy, to keep its value while the anchored value changed`,
      );
      // The anchored value's comments stay with it (or go with it, reported), not written twice;
      // the alias's own stay where they were.
      visit(copy, {
        Node(_k, node) {
          node.comment = undefined;
          node.commentBefore = undefined;
        },
      });
      copy.comment = alias.comment;
      copy.commentBefore = alias.commentBefore;
      return copy;
    },
  });
}

/** Every key a map shows, its own first, then what its merge keys give (the first source winning). */
function keysShown(
  targetOf: AliasTarget,
  map: YAMLMap<unknown, unknown>,
  seen = new Set<YAMLMap<unknown, unknown>>(),
): string[] {
  if (seen.has(map)) return [];
  seen.add(map);
  const keys = map.items.filter((pair) => !isMergePair(pair)).map(keyText);
  for (const pair of map.items) {
    if (!isMergePair(pair)) continue;
    for (const source of isSeq(pair.value) ? pair.value.items : [pair.value]) {
      const resolved = isAlias(source) ? targetOf(source) : source;
      if (isMap(resolved))
        for (const key of keysShown(targetOf, resolved, seen)) if (!keys.includes(key)) keys.push(key);
    }
  }
  return keys;
}

/**
 * Replaces a map's merge keys (`<<: *base`) with own copies of the keys they gave, where the first
 * of them stood: the one way to remove (or change alone) a key the map only inherits, short of
 * rebuilding the file. Noted, naming the map.
 */
export function expandMergeKeys(
  doc: Document,
  map: YAMLMap<unknown, unknown>,
  at: string,
  notes: string[],
  why = "to remove a key it gave",
): void {
  const first = map.items.findIndex(isMergePair);
  if (first < 0) return;
  const own = new Set(map.items.filter((pair) => !isMergePair(pair)).map(keyText));
  const targetOf = aliasTargets(doc);
  const inherited = keysShown(targetOf, map)
    .filter((key) => !own.has(key))
    .map((key) => {
      const pair = doc.createPair(key, null);
      pair.value = localCopy(targetOf, inheritedNode(targetOf, map, key));
      return pair;
    });
  const kept = map.items.filter((pair) => !isMergePair(pair));
  kept.splice(Math.min(first, kept.length), 0, ...inherited);
  map.items = kept;
  noteExpansion(notes, map, `the merge key (<<) of ${at} was expanded into its own keys, ${why}`);
}

/** Anchored maps other places alias (or merge with `<<`) that a change at `path` goes through. */
export function usedAnchorsOnPath(doc: Document, path: readonly string[]): Node[] {
  const anchored: Node[] = [];
  let node: unknown = doc.contents;
  for (const key of ["", ...path]) {
    if (key !== "") {
      const own = isMap(node) ? ownPair(node, key) : undefined;
      if (own === undefined || isAlias(own.value)) break;
      node = own.value;
    }
    if (isNode(node) && usedAnchorOf(doc, node) !== undefined) anchored.push(node);
  }
  return anchored;
}

/** A pair's key as a step of a path in a note (`<<` for a merge key, whose key is a symbol). */
function pathKeyText(pair: Pair<unknown, unknown>): string {
  return isMergePair(pair) ? "<<" : keyText(pair);
}

/** Maps whose `<<` merges the anchored `node` get own copies of what it gave: they keep it while it changes. */
export function expandMergesOf(doc: Document, node: Node, notes: string[]): void {
  const merging: { map: YAMLMap<unknown, unknown>; at: string }[] = [];
  const targetOf = aliasTargets(doc);
  visit(doc, {
    Map(_key, map, path) {
      const sources = map.items
        .filter(isMergePair)
        .flatMap((pair) => (isSeq(pair.value) ? pair.value.items : [pair.value]));
      if (!sources.some((source) => isAlias(source) && shows(targetOf, source, node))) return;
      const at = path.filter(isPair).map((pair) => pathKeyText(pair as Pair<unknown, unknown>));
      merging.push({ map, at: dotted(at) || "the top level" });
    },
  });
  for (const { map, at } of merging)
    expandMergeKeys(doc, map, at, notes, "to keep the values it gave while the anchored mapping changed");
}
