import { type Document, isScalar, type Node, visit } from "yaml";

/**
 * Offsets of map keys written twice in one mapping. The yaml library's own check compares each key
 * with every earlier one, which made a manifest of 20,000 keys take seconds to parse; this is the
 * same rule (scalar keys equal by value, `<<` merge keys exempt) in one pass with a set per map.
 */
export function duplicateKeyOffsets(doc: Document): number[] {
  const offsets: number[] = [];
  visit(doc, {
    Map(_key, map) {
      const seen = new Set<string>();
      for (const pair of map.items) {
        const key = pair.key as Node | null;
        if (!isScalar(key) || key.value === "<<") continue;
        const id = `${typeof key.value}:${String(key.value)}`;
        if (seen.has(id)) offsets.push(key.range?.[0] ?? 0);
        else seen.add(id);
      }
    },
  });
  return offsets;
}
