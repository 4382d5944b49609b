/**
 * The previous release's items of a YAML list, found by value through a hash index read once per
 * list. Each of the release's items was looked for by reading every shipped item again (its value
 * rebuilt each time): a list of 4,000 mappings merged in minutes of CPU.
 */
import { isMap, isNode, isScalar, isSeq, type Node, type Pair } from "yaml";
import { UnusedItems, valueBucket } from "./unused-items.js";
import { sameValue } from "./values.js";
import { jsKeyOf } from "./yaml-anchors.js";
import { exactScalarValue, sameExactFloats } from "./yaml-numbers.js";

/** An item that cannot be read alone (an alias to elsewhere) is found by nothing. */
const UNREADABLE = Symbol("unreadable");

interface ShippedIndex {
  /** The first shipped item alike `item` (a scalar or a collection, with the same exact floats). */
  alike: (item: Node) => Node | undefined;
  /** The first shipped mapping whose `id` holds `value`. */
  named: (id: string, value: unknown) => Node | undefined;
}

const indexes = new WeakMap<object, ShippedIndex>();

/** The index of the previous release's list `base`; undefined when it is no list. */
export function shippedItems(base: unknown): ShippedIndex | undefined {
  if (!isSeq(base)) return undefined;
  const known = indexes.get(base);
  if (known !== undefined) return known;
  const items = base.items;
  const values = items.map((item) => {
    try {
      return isScalar(item) ? item.value : isMap(item) || isSeq(item) ? item.toJSON() : UNREADABLE;
    } catch {
      return UNREADABLE;
    }
  });
  const byValue = new UnusedItems(items.length).index(values.map(valueBucket));
  const byName = new Map<string, (value: unknown) => number | undefined>();
  const index: ShippedIndex = {
    alike: (item) => {
      let value: unknown;
      try {
        value = isScalar(item) ? item.value : item.toJSON();
      } catch {
        return undefined;
      }
      const collection = !isScalar(item);
      const at = byValue(valueBucket(value), (u) => {
        const shipped = items[u];
        const kind = collection ? isMap(shipped) || isSeq(shipped) : isScalar(shipped);
        return (
          kind && values[u] !== UNREADABLE && sameValue(values[u], value) && sameExactFloats(shipped, item)
        );
      });
      const found = at === undefined ? undefined : items[at];
      return isNode(found) ? found : undefined;
    },
    named: (id, value) => {
      let lookup = byName.get(id);
      if (lookup === undefined) {
        const names = items.map((item) => {
          const named = isMap(item) ? item.items.find((p) => keyOf(p as Pair) === id)?.value : undefined;
          // As written: `id: 0.1` is not the item `id: 0.10000000000000001` (exact-floats.ts).
          return isScalar(named) ? exactScalarValue(named) : UNREADABLE;
        });
        lookup = new UnusedItems(names.length).byValue(names);
        byName.set(id, lookup);
      }
      const at = value === UNREADABLE ? undefined : lookup(value);
      const found = at === undefined ? undefined : items[at];
      return isNode(found) ? found : undefined;
    },
  };
  indexes.set(base, index);
  return index;
}

function keyOf(pair: Pair): string | undefined {
  return isScalar(pair.key) ? jsKeyOf(pair.key) : undefined;
}
