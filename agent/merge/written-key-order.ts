/**
 * A copy's tables in the order its text writes their keys, where that order is lost: YAML's and
 * TOML's readers give plain objects, which list keys that read as array indices (`404`, `8080`)
 * first, in numeric order. The plan walks keys in table order (keysOf), so the key report named
 * `codes.200, codes.404, codes.zeta` for a file writing `zeta`, `404`, `200`, in every list (added,
 * updated, kept, removed, deleted). JSON's reader keeps the order already (json-values.ts).
 *
 * Only tables holding such a key are rebuilt (setOwn remembers the order); a file without one is
 * returned as it is, so an ordinary merge walks its values once more and copies nothing.
 */
import { type Document, isMap, type YAMLMap } from "yaml";
import { tomlWrittenAt } from "./release-order.js";
import { holderOf } from "./toml-entry-index.js";
import { memberPlace } from "./toml-inline-spelling.js";
import { scanToml, type TomlLayout, TomlScanError } from "./toml-scan.js";
import { isIndexKey, isTable, keysOf, setOwn, type Table } from "./values.js";
import { isMergePair, keyText } from "./yaml-anchors.js";

/** Where the text writes `key` of the table at `path`, as a number that sorts; undefined when unknown. */
type KeyPlace = (path: readonly string[], key: string) => number | undefined;

export function inWrittenOrder(
  format: "toml" | "json" | "yaml",
  value: unknown,
  copy: { text: string; doc?: Document | undefined },
): unknown {
  if (format === "json" || !holdsIndexKey(value)) return value;
  const place = format === "yaml" ? yamlPlaces(copy.doc) : tomlPlaces(copy.text);
  return place === undefined ? value : ordered(value, [], place);
}

function holdsIndexKey(value: unknown): boolean {
  if (!isTable(value)) return false;
  return Object.keys(value).some((key) => isIndexKey(key) || holdsIndexKey(value[key]));
}

/**
 * `value` with each table that holds an index key rebuilt in written order; keys the text does not
 * place (one only a `<<` merge key gives, a dotted member of a TOML inline table) follow, in table order.
 * Lists are values to the plan (never merged key by key), so tables inside them are left alone.
 */
function ordered(value: unknown, path: string[], place: KeyPlace): unknown {
  if (!isTable(value) || !holdsIndexKey(value)) return value;
  const keys = keysOf(value);
  const at = new Map(keys.map((key, i) => [key, place(path, key) ?? Number.MAX_SAFE_INTEGER + i]));
  const copy: Table = {};
  for (const key of [...keys].sort((a, b) => (at.get(a) ?? 0) - (at.get(b) ?? 0))) {
    setOwn(copy, key, ordered(value[key], [...path, key], place));
  }
  return copy;
}

/** A YAML mapping's own keys by their place among its pairs (not cached: the user's document is edited later). */
function yamlPlaces(doc: Document | undefined): KeyPlace | undefined {
  if (doc === undefined) return undefined;
  const orders = new Map<string, Map<string, number>>();
  return (path, key) => {
    const table = JSON.stringify(path);
    let order = orders.get(table);
    if (order === undefined) {
      order = new Map();
      const map = mapAt(doc, path);
      map?.items.forEach((pair, i) => {
        const name = keyText(pair);
        if (!isMergePair(pair) && !order?.has(name)) order?.set(name, i);
      });
      orders.set(table, order);
    }
    return order.get(key);
  };
}

function mapAt(doc: Document, path: readonly string[]): YAMLMap<unknown, unknown> | undefined {
  let node: unknown = doc.contents;
  for (const key of path) {
    if (!isMap(node)) return undefined;
    node = node.items.find((pair) => !isMergePair(pair) && keyText(pair) === key)?.value;
  }
  return isMap(node) ? node : undefined;
}

/** A TOML key's place: the offset of its line, of its table's header or of a key under it. */
function tomlPlaces(text: string): KeyPlace | undefined {
  let layout: TomlLayout;
  try {
    layout = scanToml(text);
  } catch (error) {
    // A layout the scanner cannot read is rewritten from values anyway (toml-format.ts).
    if (error instanceof TomlScanError) return undefined;
    throw error;
  }
  const writtenAt = tomlWrittenAt(layout);
  return (path, key) => {
    const at = writtenAt([...path, key]);
    if (at !== undefined) return at;
    // A member of an inline table (`codes = { zeta = 1, 404 = 1 }`): its place among the members.
    const holder = holderOf(layout, [...path, key]);
    if (holder?.path === undefined) return undefined;
    const value = text.slice(holder.valueStart, holder.valueEnd);
    return memberPlace(value, [...path, key].slice(holder.path.length));
  };
}
