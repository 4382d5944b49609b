/** Seeded random nested documents and mutations of them, for the merge property tests. */

export type Doc = Record<string, unknown>;
export type Random = () => number;

export function mulberry32(seed: number): Random {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const keys = ["a", "b", "c", "d", "e"];
const pick = <T>(random: Random, items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;

/** With `tableArrays`, some values are arrays of small tables (TOML's [[arrays]]). */
export interface Shape {
  tableArrays?: boolean;
}

function randomValue(random: Random, depth: number, shape: Shape): unknown {
  const roll = random();
  if (roll < 0.3 && depth < 3) return randomDoc(random, depth + 1, shape);
  if (roll < 0.5) return Math.floor(random() * 4);
  if (roll < 0.7) return pick(random, ["x", "y", "z"]);
  if (roll < 0.85) return random() < 0.5;
  if (shape.tableArrays && roll < 0.93) {
    return Array.from({ length: 1 + Math.floor(random() * 2) }, () => ({ n: Math.floor(random() * 3) }));
  }
  return Array.from({ length: Math.floor(random() * 3) }, () => Math.floor(random() * 3));
}

export function randomDoc(random: Random, depth = 0, shape: Shape = {}): Doc {
  const doc: Doc = {};
  for (const key of keys) if (random() < 0.5) doc[key] = randomValue(random, depth, shape);
  return doc;
}

/** A copy of `base` with values changed, deleted, retyped and added at every level. */
export function mutate(random: Random, base: Doc, depth = 0, shape: Shape = {}): Doc {
  const doc: Doc = {};
  for (const key of keys) {
    const old = base[key];
    const roll = random();
    if (old === undefined) {
      if (roll < 0.25) doc[key] = randomValue(random, depth, shape);
    } else if (roll < 0.55) {
      doc[key] = isTable(old) ? mutate(random, old, depth + 1, shape) : old;
    } else if (roll < 0.75) {
      doc[key] = old;
    } else if (roll < 0.9) {
      doc[key] = randomValue(random, depth, shape);
    }
  }
  return doc;
}

export function isTable(value: unknown): value is Doc {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
