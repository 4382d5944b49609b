/**
 * The previous release's `[[array]]` elements, read once per merge. Each element the release changed
 * read the whole previous copy again and walked its blocks to find its own: a merge of an array of
 * a thousand elements read the file a thousand times (minutes at two thousand).
 */
import { arrayBlocks, type Block, elementBlocks } from "./toml-blocks.js";
import type { TomlLayout } from "./toml-scan.js";
import { readTomlValues } from "./toml-value-text.js";
import { UnusedItems } from "./unused-items.js";
import { isTable, valueAt } from "./values.js";

interface BaseCopy {
  text: string;
  layout: TomlLayout;
}

export interface BaseElements {
  blocks: Block[];
  /** The index of the first element whose `id` is `value`. */
  named: (id: string, value: unknown) => number | undefined;
}

/** Not a value any element names: a non-table element is named by nothing. */
const NOT_A_TABLE = Symbol("not a table");

const read = new WeakMap<BaseCopy, { value: unknown } | undefined>();
const arrays = new WeakMap<BaseCopy, Map<string, BaseElements | undefined>>();

/** The elements of the array of tables `path` in the previous release's copy, when each is a block. */
export function baseElementsOf(base: BaseCopy, path: readonly string[]): BaseElements | undefined {
  const known = arrays.get(base) ?? new Map<string, BaseElements | undefined>();
  arrays.set(base, known);
  const key = JSON.stringify(path);
  if (!known.has(key)) known.set(key, elementsOf(base, path));
  return known.get(key);
}

function elementsOf(base: BaseCopy, path: readonly string[]): BaseElements | undefined {
  if (!read.has(base)) {
    try {
      read.set(base, { value: readTomlValues(base.text) });
    } catch {
      read.set(base, undefined);
    }
  }
  const copy = read.get(base);
  if (copy === undefined) return undefined;
  const side = { ...base, value: copy.value };
  const all = arrayBlocks(side, path);
  const blocks = all === undefined ? undefined : elementBlocks(side, all, path);
  const elements = valueAt(copy.value, path);
  if (blocks === undefined || !Array.isArray(elements) || elements.length !== blocks.length) return undefined;
  const lookups = new Map<string, (value: unknown) => number | undefined>();
  const named = (id: string, value: unknown) => {
    let lookup = lookups.get(id);
    if (lookup === undefined) {
      const ids = elements.map((element) => (isTable(element) ? element[id] : NOT_A_TABLE));
      // Nothing is taken: each lookup answers the first element of that name, as a search did.
      lookup = new UnusedItems(ids.length).byValue(ids);
      lookups.set(id, lookup);
    }
    return lookup(value);
  };
  return { blocks, named };
}
