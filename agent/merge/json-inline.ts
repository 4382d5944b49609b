/**
 * Which objects and arrays a JSON merge writes on one line: those the user wrote so (and those the
 * release writes so where the user has none), where their values stand in the merged file, so an
 * item the release moves, changes or adds to a list keeps the form of the user's items.
 */
import { followItems, inlineContainers, pathKey } from "./json-values.js";
import { isTable } from "./values.js";

/**
 * The one-line containers of the merged values (by pathKey, with their spacing): `inline` (by the
 * user's paths, inlineLayout) moved with the items they stand in, and an item the merge puts among
 * the user's one-line items written on one line too (inlineItems).
 */
export function inlineWhereItemsStand(
  inline: ReadonlyMap<string, boolean>,
  user: unknown,
  merged: unknown,
  /** The values with floats as written, which items pair by (followItems). */
  exactUser: unknown,
  exactMerged: unknown,
): Map<string, boolean> {
  // Every container of the user's where it stands now, with its spacing when on one line.
  const placed = followItems(containerLayouts(user, inline), exactUser, exactMerged);
  const followed = new Map<string, boolean>();
  for (const [key, spaced] of placed) if (spaced !== null) followed.set(key, spaced);
  // What the release writes on one line where the user has no container stands at the merged path.
  for (const [key, spaced] of inline)
    if (!hasContainer(user, JSON.parse(key) as (string | number)[])) followed.set(key, spaced);
  return inlineItems(followed, placed, merged);
}

/**
 * The user's one-line containers where they stand in `merged` (followItems), and an object or array
 * item of a list whose items the user writes each on one line (`{"id": 1, "p": 1},` per line) on one
 * line too when the merge puts it there new or changed: such an item came spread over lines, alone
 * among its siblings, and so did an unchanged one the release moved past the user's last item.
 */
function inlineItems(
  followed: Map<string, boolean>,
  /** The user's containers where they stand now: one absent from `followed` is written over lines. */
  containers: ReadonlyMap<string, unknown>,
  merged: unknown,
): Map<string, boolean> {
  const walk = (path: (string | number)[], node: unknown) => {
    if (Array.isArray(node)) {
      const items = node.flatMap((item, i) =>
        typeof item === "object" && item !== null ? [pathKey([...path, i])] : [],
      );
      const oneLine = items.map((key) => followed.get(key)).find((spaced) => spaced !== undefined);
      const spreadByUser = items.some((key) => containers.has(key) && !followed.has(key));
      if (oneLine !== undefined && !spreadByUser) {
        for (const key of items) if (!followed.has(key)) followed.set(key, oneLine);
      } else likeSibling(path, node, items, containers, followed);
    }
    if (typeof node === "object" && node !== null && !followed.has(pathKey(path)))
      for (const [key, child] of Array.isArray(node) ? node.entries() : Object.entries(node))
        walk([...path, key], child);
  };
  walk([], merged);
  return followed;
}

/**
 * A new item of a list whose items the user spreads over lines takes the one-line parts of the
 * user's first such item (`"t": [1]` inside each), as a member the release adds is indented as its
 * siblings: the new item's `"t": [0]` came spread over three lines.
 */
function likeSibling(
  path: readonly (string | number)[],
  list: readonly unknown[],
  items: readonly string[],
  containers: ReadonlyMap<string, unknown>,
  followed: Map<string, boolean>,
): void {
  const template = items.find((key) => containers.has(key) && !followed.has(key));
  const fresh = items.filter((key) => !containers.has(key) && !followed.has(key));
  if (template === undefined || fresh.length === 0) return;
  const at = JSON.parse(template) as (string | number)[];
  // The one-line containers inside the template, by their path below it.
  const parts: [(string | number)[], boolean][] = [];
  const collect = (rel: (string | number)[], node: unknown) => {
    if (typeof node !== "object" || node === null) return;
    const spaced = followed.get(pathKey([...at, ...rel]));
    if (spaced !== undefined) parts.push([rel, spaced]);
    else
      for (const [key, child] of Array.isArray(node) ? node.entries() : Object.entries(node))
        collect([...rel, key], child);
  };
  collect([], list[at[at.length - 1] as number]);
  for (const key of fresh) {
    const index = (JSON.parse(key) as (string | number)[]).at(-1) as number;
    for (const [rel, spaced] of parts) {
      const target = pathKey([...path, index, ...rel]);
      if (hasContainer(list[index], rel) && !followed.has(target)) followed.set(target, spaced);
    }
  }
}

/** Every object and array in `value` by path (pathKey): its spacing when on one line, else null. */
function containerLayouts(value: unknown, inline: ReadonlyMap<string, boolean>): Map<string, boolean | null> {
  const layouts = new Map<string, boolean | null>();
  const walk = (path: (string | number)[], node: unknown) => {
    if (typeof node !== "object" || node === null) return;
    const key = pathKey(path);
    layouts.set(key, inline.get(key) ?? null);
    for (const [step, child] of Array.isArray(node) ? node.entries() : Object.entries(node))
      walk([...path, step], child);
  };
  walk([], value);
  return layouts;
}

/**
 * The containers to write on one line: the user's, and those the release writes on one line where
 * the user's file has none (a new `"cache": {"ttl": 5}` comes as the release wrote it, not spread
 * over lines). A release written whole on one line says nothing about how it lays out its parts.
 */
export function inlineLayout(userText: string, user: unknown, releaseText: string): Map<string, boolean> {
  const inline = inlineContainers(userText);
  // An empty `{}` or `[]` is one line because JSON has no other way to write it: it shows no
  // layout of the user's. What the merge put into one came on one line, `"level": {"a": 1, "b": 2}`,
  // where the release spreads it over lines; it is laid out as the release lays it out.
  for (const key of inline.keys())
    if (!hasContainer(user, JSON.parse(key) as (string | number)[])) inline.delete(key);
  if (releaseText === "") return inline;
  const theirs = inlineContainers(releaseText);
  if (theirs.has(pathKey([]))) return inline;
  for (const [key, spaced] of theirs) {
    if (!inline.has(key) && !hasContainer(user, JSON.parse(key) as (string | number)[]))
      inline.set(key, spaced);
  }
  return inline;
}

/**
 * The user's file has an object or array at `path`, laid out as they chose. A scalar there says
 * nothing: a release turning `"db": "url"` into `"db": {"host": "y"}` had it spread over lines; nor
 * does an empty one, which JSON writes on one line whatever the user's layout.
 */
function hasContainer(root: unknown, path: readonly (string | number)[]): boolean {
  let node: unknown = root;
  for (const step of path) {
    if (typeof step === "number") {
      if (!Array.isArray(node) || step >= node.length) return false;
      node = node[step];
    } else {
      if (!isTable(node) || !Object.hasOwn(node, step)) return false;
      node = node[step];
    }
  }
  return typeof node === "object" && node !== null && Object.keys(node).length > 0;
}
