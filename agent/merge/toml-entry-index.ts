/**
 * The entries of a scanned TOML layout found by key path through a hash index, built once per
 * layout. Each edit of a merge looked its key up in the user's, the release's and the previous
 * release's entries one by one: a release changing half the keys of a 20,000-key file took a minute
 * and a half of CPU.
 */
import type { TomlEntry, TomlLayout } from "./toml-scan.js";

interface Indexed {
  entry: TomlEntry;
  /** Its place among the layout's entries, so the first of several can be told. */
  at: number;
}

const indexes = new WeakMap<TomlLayout, Map<string, Indexed>>();

/** The first entry whose key path is `path`, as a scan through the entries finds it. */
export function entryAt(layout: TomlLayout, path: readonly string[]): TomlEntry | undefined {
  return indexOf(layout).get(pathKey(path))?.entry;
}

/**
 * The first entry (in the file's order) whose key path holds `path` strictly inside it: an inline
 * table or array `path` lies within (`pool = { size = 5 }` for pool.size).
 */
export function holderOf(layout: TomlLayout, path: readonly string[]): TomlEntry | undefined {
  return firstOfPrefixes(layout, path, path.length - 1);
}

/** The first entry (in the file's order) whose key path is `path` or holds it (holderOf). */
export function entryHolding(layout: TomlLayout, path: readonly string[]): TomlEntry | undefined {
  return firstOfPrefixes(layout, path, path.length);
}

function firstOfPrefixes(
  layout: TomlLayout,
  path: readonly string[],
  longest: number,
): TomlEntry | undefined {
  const index = indexOf(layout);
  let first: Indexed | undefined;
  for (let length = 1; length <= longest; length++) {
    const found = index.get(pathKey(path.slice(0, length)));
    if (found !== undefined && (first === undefined || found.at < first.at)) first = found;
  }
  return first?.entry;
}

function indexOf(layout: TomlLayout): Map<string, Indexed> {
  const known = indexes.get(layout);
  if (known !== undefined) return known;
  const index = new Map<string, Indexed>();
  layout.entries.forEach((entry, at) => {
    if (entry.path === undefined) return;
    const key = pathKey(entry.path);
    if (!index.has(key)) index.set(key, { entry, at });
  });
  indexes.set(layout, index);
  return index;
}

/** One string per path: JSON keeps `a.b` (one key holding a dot) apart from `a` → `b`. */
export function pathKey(path: readonly string[]): string {
  return JSON.stringify(path);
}
