/**
 * Which of the user's `[[array]]` elements each of the release's elements is: the one with the same
 * values, else the one of the same identity (a key whose values name one element each on both sides:
 * `name`, `id`, `key`, or another such as pyproject's `module`), else — with no identity — the one
 * at the same place when the array kept its length, or the most alike when it did not (among the
 * candidates candidatesOf nominates). Pairing by place after an element was added or dropped gave one
 * element's comments to its neighbour.
 */
import { ExactFloat } from "./exact-floats.js";
import { UnusedItems, valueBucket } from "./unused-items.js";
import { isTable, sameValue, type Table } from "./values.js";

/** Keys that name an element (`name = "admin"`), tried before any other key. */
const IDENTITY_KEYS = ["name", "id", "key"] as const;

export interface Pairing {
  /** For each release element, the index of the user's element it is, if any. */
  pairs: (number | undefined)[];
  /** The key that names elements on both sides, when there is one. */
  id: string | undefined;
}

export function pairElements(mine: readonly unknown[], theirs: readonly unknown[]): Pairing {
  const id = identityKeyOf(mine, theirs);
  const unused = new UnusedItems(mine.length);
  const alike = unused.byValue(mine);
  const pairs: (number | undefined)[] = theirs.map((value) => unused.take(alike(value)));
  const open = () => theirs.flatMap((_, i) => (pairs[i] === undefined ? [i] : []));
  if (id !== undefined) {
    const named = unused.byValue(mine.map((element) => (element as Table)[id]));
    for (const i of open()) pairs[i] = unused.take(named((theirs[i] as Table)[id]));
  } else if (mine.length === theirs.length) {
    for (const i of open()) pairs[i] = unused.has(i) ? unused.take(i) : undefined;
  } else {
    // The most alike first, so a weak likeness does not take the element a strong one belongs to.
    // Only tables and lists can be alike in part: scoring every pair of a long list of numbers was
    // quadratic for nothing.
    const partial = (value: unknown) => isTable(value) || Array.isArray(value);
    const free = unused.free().filter((u) => partial(mine[u]));
    const nominated = candidatesOf(mine, free);
    const scored = open()
      .filter((i) => partial(theirs[i]))
      .flatMap((i) => nominated(theirs[i], i).map((u) => ({ i, u, score: likeness(mine[u], theirs[i]) })))
      .filter((s) => s.score > 0)
      .sort((a, b) => b.score - a.score || a.i - b.i || a.u - b.u);
    for (const { i, u } of scored) if (pairs[i] === undefined && unused.has(u)) pairs[i] = unused.take(u);
  }
  return { pairs, id };
}

/** A value shared by more of the user's elements than this names none of them in particular. */
const RARE = 8;
/** How many of the user's free elements on each side of its own place an element is compared with. */
const NEAR = 4;

/**
 * The user's free elements worth scoring against one of the release's: those sharing a value with it
 * that few elements hold (`host = "db2"`, not `enabled = true`), and those at about its place.
 * Scoring each against every free one was quadratic in the unmatched elements: a release changing a
 * value in each of 3,000 `[[servers]]` without a name took 4.5 million comparisons. Now an element
 * is compared at most RARE times per value it holds, plus 2 × NEAR.
 */
function candidatesOf(
  mine: readonly unknown[],
  free: readonly number[],
): (value: unknown, at: number) => number[] {
  const holders = new Map<string, number[]>();
  for (const u of free) {
    for (const feature of featuresOf(mine[u])) {
      const list = holders.get(feature);
      if (list === undefined) holders.set(feature, [u]);
      else if (list.length <= RARE) list.push(u);
    }
  }
  return (value, at) => {
    const found = new Set<number>();
    for (const feature of featuresOf(value)) {
      const list = holders.get(feature);
      if (list !== undefined && list.length <= RARE) for (const u of list) found.add(u);
    }
    // The free elements nearest its place, for an element whose values are all common (or all new).
    let low = 0;
    let high = free.length;
    while (low < high) {
      const mid = (low + high) >> 1;
      if ((free[mid] as number) < at) low = mid + 1;
      else high = mid;
    }
    for (let k = Math.max(0, low - NEAR); k < Math.min(free.length, low + NEAR); k++)
      found.add(free[k] as number);
    return [...found];
  };
}

/** What two elements can hold alike, each once: a table's keys with their values, a list's items. */
function featuresOf(value: unknown): Set<string> {
  if (Array.isArray(value)) return new Set(value.map(valueBucket));
  if (!isTable(value)) return new Set();
  return new Set(Object.keys(value).map((key) => `${JSON.stringify(key)}=${valueBucket(value[key])}`));
}

/**
 * A key every element on both sides has, with a plain value naming one element on each side (a float
 * a double does not hold is plain too: 0.1 and 0.10000000000000001 name two elements). Beyond
 * name/id/key only a string qualifies: a flag or a number unique by chance names nothing.
 */
function identityKeyOf(mine: readonly unknown[], theirs: readonly unknown[]): string | undefined {
  const all = [...mine, ...theirs];
  if (all.length === 0 || !all.every(isTable)) return undefined;
  const tables = all as Table[];
  // Each value names one element: none is alike an earlier one (found by hash, not pair by pair).
  const names = (side: readonly unknown[], key: string) => {
    const values = (side as Table[]).map((t) => t[key]);
    const seen = new UnusedItems(values.length).byValue(values);
    return values.every((v, i) => seen(v) === i);
  };
  const candidates = [...IDENTITY_KEYS, ...Object.keys(tables[0] as Table)];
  return candidates.find((key) => {
    const plain = tables.every((t) => {
      const v = t[key];
      return (IDENTITY_KEYS as readonly string[]).includes(key)
        ? v !== undefined && (v === null || typeof v !== "object" || v instanceof ExactFloat)
        : typeof v === "string";
    });
    // One that no element keeps on both sides (a single `url` the release changes) names nothing
    // they share: such elements pair by place or likeness.
    const shared =
      (IDENTITY_KEYS as readonly string[]).includes(key) ||
      sharesValue(mine as Table[], theirs as Table[], key);
    return plain && shared && names(mine, key) && names(theirs, key);
  });
}

/** Whether an element on each side holds `key` with the same value. */
function sharesValue(mine: readonly Table[], theirs: readonly Table[], key: string): boolean {
  const inTheirs = new UnusedItems(theirs.length).byValue(theirs.map((t) => t[key]));
  return mine.some((m) => inTheirs(m[key]) !== undefined);
}

/**
 * The share of keys two elements hold with the same value; of two lists (YAML `- - a` items), the
 * share of items they hold alike. 0 for anything else.
 */
function likeness(a: unknown, b: unknown): number {
  if (Array.isArray(a) && Array.isArray(b)) {
    const longer = Math.max(a.length, b.length);
    const unmatched = new UnusedItems(b.length);
    const inB = unmatched.byValue(b);
    const same = a.filter((item) => unmatched.take(inB(item)) !== undefined).length;
    return longer === 0 ? 0 : same / longer;
  }
  if (!isTable(a) || !isTable(b)) return 0;
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  if (keys.size === 0) return 0;
  let same = 0;
  for (const key of keys) if (key in a && key in b && sameValue(a[key], b[key])) same++;
  return same / keys.size;
}
