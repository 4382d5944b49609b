/**
 * A list's items not yet paired, found by value or text through a hash index. Pairing each item of
 * one list with the first free alike item of another by scanning every free item was quadratic: a
 * release changing a TOML array of 8,000 floats took half a minute to merge.
 */
import { ExactFloat, numberDecimal } from "./exact-floats.js";
import { isTable, sameValue } from "./values.js";

/** Finds the lowest free index whose key is `key` and that `fits`, if any. */
export type Lookup = (key: string, fits?: (index: number) => boolean) => number | undefined;

export class UnusedItems {
  private readonly taken = new Set<number>();

  constructor(private readonly size: number) {}

  has(index: number): boolean {
    return index >= 0 && index < this.size && !this.taken.has(index);
  }

  /** Takes `index` (when given) and hands it back, so a lookup's answer is taken in one step. */
  take(index: number | undefined): number | undefined {
    if (index !== undefined) this.taken.add(index);
    return index;
  }

  /** The free indices, lowest first. */
  free(): number[] {
    return Array.from({ length: this.size }, (_, i) => i).filter((i) => !this.taken.has(i));
  }

  /**
   * A lookup over `keys` (one per index). Each bucket is walked from its first free index: taken
   * indices at its head are passed once, so a whole pairing costs the list's length, not its square.
   */
  index(keys: readonly string[]): Lookup {
    const buckets = new Map<string, { at: number[]; head: number }>();
    keys.forEach((key, i) => {
      const bucket = buckets.get(key);
      if (bucket === undefined) buckets.set(key, { at: [i], head: 0 });
      else bucket.at.push(i);
    });
    return (key, fits = () => true) => {
      const bucket = buckets.get(key);
      if (bucket === undefined) return undefined;
      while (bucket.head < bucket.at.length && this.taken.has(bucket.at[bucket.head] as number))
        bucket.head++;
      for (let j = bucket.head; j < bucket.at.length; j++) {
        const at = bucket.at[j] as number;
        if (!this.taken.has(at) && fits(at)) return at;
      }
      return undefined;
    };
  }

  /** A lookup of the items of `values` that are sameValue to a value. */
  byValue(values: readonly unknown[]): (value: unknown) => number | undefined {
    const lookup = this.index(values.map(valueBucket));
    return (value) => lookup(valueBucket(value), (u) => sameValue(values[u], value));
  }
}

/**
 * A key two values share whenever sameValue holds them alike (never the reverse: a bucket is checked
 * with sameValue). Numbers and exact floats by their decimal, as sameFloat compares them.
 */
export function valueBucket(value: unknown): string {
  if (typeof value === "number") return `n${numberDecimal(value)}`;
  if (value instanceof ExactFloat) return `n${value.decimal}`;
  if (typeof value === "string") return `s${value}`;
  if (value === null || typeof value !== "object") return `${typeof value}:${String(value)}`;
  if (Array.isArray(value)) return `[${value.map(valueBucket).join("\u0000")}]`;
  if (isTable(value)) {
    const keys = Object.keys(value).sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${valueBucket(value[k])}`).join("\u0000")}}`;
  }
  // Dates, binaries, YAML sets and ordered maps: one bucket each kind, told apart by sameValue.
  if (value instanceof Date) return "date";
  if (value instanceof Uint8Array) return "bytes";
  if (value instanceof Map) return "map";
  return value instanceof Set ? "set" : "object";
}
