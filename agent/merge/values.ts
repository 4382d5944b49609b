/**
 * Helpers over parsed config values (JSON, YAML `toJS()`, smol-toml output). A "table" is a plain
 * key/value object; arrays, dates, binaries, YAML sets and ordered maps and scalars are values
 * compared as a whole.
 */

import { ExactFloat, sameFloat } from "./exact-floats.js";

export type Table = Record<string, unknown>;

/** Marks a key one side of a merge does not have (distinct from `null`, which YAML and JSON allow). */
export const ABSENT: unique symbol = Symbol("absent");
export type Maybe = unknown | typeof ABSENT;

export function isTable(value: unknown): value is Table {
  if (value === null || typeof value !== "object" || Array.isArray(value)) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

export function childOf(parent: Maybe, key: string): Maybe {
  return isTable(parent) && Object.hasOwn(parent, key) ? parent[key] : ABSENT;
}

export function valueAt(root: unknown, path: readonly string[]): Maybe {
  let node: Maybe = root;
  for (const key of path) node = childOf(node, key);
  return node;
}

/** Deep equality; dates (TOML datetimes) compare by their text so local dates/times work too. */
export function sameValue(a: Maybe, b: Maybe): boolean {
  if (Object.is(a, b)) return true;
  // `-0.0` and `0.0` (`+0`, `0e0`) are one value, as every reader compares them (a decimal too):
  // a release or a tool writing the other sign was taken for a change of the value.
  if (typeof a === "number" && typeof b === "number") return a === b;
  if (a instanceof ExactFloat || b instanceof ExactFloat) return sameFloat(a, b);
  if (a instanceof Date || b instanceof Date) {
    return a instanceof Date && b instanceof Date && dateText(a) === dateText(b);
  }
  // YAML's explicit !!binary, !!omap/!!pairs and !!set: values like any other, compared by content
  // (not by identity: the user's copy and the release's are never the same object).
  if (a instanceof Uint8Array || b instanceof Uint8Array) {
    return a instanceof Uint8Array && b instanceof Uint8Array && Buffer.compare(a, b) === 0;
  }
  if (a instanceof Map || b instanceof Map) {
    return a instanceof Map && b instanceof Map && sameValue([...a.entries()], [...b.entries()]);
  }
  if (a instanceof Set || b instanceof Set) {
    return a instanceof Set && b instanceof Set && sameValue([...a], [...b]);
  }
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
    return a.every((item, i) => sameValue(item, b[i]));
  }
  if (isTable(a) && isTable(b)) {
    const keys = Object.keys(a);
    if (keys.length !== Object.keys(b).length) return false;
    return keys.every((k) => Object.hasOwn(b, k) && sameValue(a[k], b[k]));
  }
  return false;
}

function dateText(date: Date): string {
  // TomlDate's toISOString keeps local dates/times and offsets; plain invalid Dates would throw.
  // `+00:00` (and `-00:00`) is UTC as `Z` is: a copy respelt by a tool is not a changed value, which
  // three-way would take for the operator's and keep over the release's new one.
  return Number.isNaN(date.getTime()) ? "invalid" : date.toISOString().replace(/[+-]00:00$/, "Z");
}

/**
 * Defines an own property, so keys like `__proto__` from a parsed file stay plain data instead of
 * changing an object's prototype.
 */
export function setOwn(table: Table, key: string, value: unknown): void {
  if (!Object.hasOwn(table, key)) noteWritten(table, key);
  Object.defineProperty(table, key, { value, enumerable: true, writable: true, configurable: true });
}

/**
 * The order keys were set in (setOwn), for tables holding a key that reads as an array index
 * (`"404"`, `"8080"`): a JS object lists those first, in numeric order, so a merge wrote a JSON
 * file's `"default", "404"` as `"404", "default"` and put a new `"8080"` above the user's keys.
 */
const setOrder = new WeakMap<Table, string[]>();

function noteWritten(table: Table, key: string): void {
  const order = setOrder.get(table);
  if (order !== undefined) order.push(key);
  else if (isIndexKey(key)) setOrder.set(table, [...Object.keys(table), key]);
}

/** A key ECMAScript orders as an array index: a canonical integer below 2^32 - 1. */
export function isIndexKey(key: string): boolean {
  return /^(?:0|[1-9][0-9]{0,9})$/.test(key) && Number(key) < 2 ** 32 - 1;
}

/** The table's keys in the order they were set (setOwn), where Object.keys would list index keys first. */
export function keysOf(table: Table): string[] {
  const order = setOrder.get(table);
  if (order === undefined) return Object.keys(table);
  // A key deleted and set again is listed twice: it stays where it was first.
  const keys = [...new Set(order.filter((key) => Object.hasOwn(table, key)))];
  const listed = new Set(keys);
  return [...keys, ...Object.keys(table).filter((key) => !listed.has(key))];
}

export function deepClone<T>(value: T): T {
  if (Array.isArray(value)) return value.map((item) => deepClone(item)) as T;
  if (isTable(value)) {
    const copy: Table = {};
    for (const k of keysOf(value)) setOwn(copy, k, deepClone(value[k]));
    return copy as T;
  }
  return value;
}

export function dotted(path: readonly string[]): string {
  return path.join(".");
}

/**
 * A key path as the key report and warnings name it: dotted, with a key that holds a dot, a quote
 * or white space (or is empty) quoted, so `"a.b" = 1` is not read as `a.b`; the file's own top
 * value (a YAML/JSON list or scalar at the top) is "(the whole file)", never "".
 */
export function keyName(path: readonly string[]): string {
  if (path.length === 0) return WHOLE_FILE;
  return path.map((key) => (key === "" || /[."'\s\\]/.test(key) ? JSON.stringify(key) : key)).join(".");
}

export const WHOLE_FILE = "(the whole file)";
