import { type Document, isPair, isScalar, isSeq, type Node, visit } from "yaml";

export interface DuplicateKey {
  /** The repeated key's offset, and the offset of its first writing in the same mapping. */
  offset: number;
  first: number;
  /** The key as written the second time (its source text when it has one). */
  key: string;
  /** The key as written the first time: another spelling of the same value (`on` beside `yes`). */
  firstKey: string;
  /** The key path of the repeated key: its mapping's keys and list indexes, then its own value. */
  path: (string | number)[];
}

/** The key path down to `node` through its ancestors (pairs' keys, sequences' indexes). */
function keyPathOf(ancestors: readonly unknown[], node: unknown): (string | number)[] {
  const path: (string | number)[] = [];
  const chain = [...ancestors, node];
  chain.forEach((at, i) => {
    if (isPair(at) && isScalar(at.key)) path.push(String(at.key.value));
    else if (isSeq(at)) path.push(at.items.indexOf(chain[i + 1] as Node));
  });
  return path;
}

/**
 * Map keys written twice in one mapping. The yaml library's own check compares each key with every
 * earlier one, which made a manifest of 20,000 keys (or a 40,000-line config) take seconds to
 * minutes to parse; this is the same rule (scalar keys equal by value, `<<` merge keys exempt) in
 * one pass with a map per mapping. Parse with `uniqueKeys: false` and call this instead.
 */
export function duplicateKeys(doc: Document): DuplicateKey[] {
  const found: DuplicateKey[] = [];
  visit(doc, {
    Map(_key, map, ancestors) {
      const seen = new Map<string, { offset: number; key: string }>();
      for (const pair of map.items) {
        const key = pair.key as Node | null;
        // With `merge: true` each `<<` is its own Symbol, which the library never calls equal.
        if (!isScalar(key) || key.value === "<<" || typeof key.value === "symbol") continue;
        const id = `${typeof key.value}:${String(key.value)}`;
        const offset = key.range?.[0] ?? 0;
        const written = key.source ?? String(key.value);
        const first = seen.get(id);
        if (first === undefined) seen.set(id, { offset, key: written });
        else
          found.push({
            offset,
            first: first.offset,
            key: written,
            firstKey: first.key,
            path: [...keyPathOf(ancestors, map), String(key.value)],
          });
      }
    },
  });
  return found;
}
