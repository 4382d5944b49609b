/**
 * A key or table a release inserts right under a comment that sat directly above another key or
 * table (a file's header glued to its first `[server]`, `# the port` over `port`) takes that
 * comment over in the release's text, though it was the other one's and stays above it in the
 * user's copy: the new key came with it, and the file held the comment twice. Such a comment is
 * not the new key's own: the new key comes without it. One its first owner no longer holds in the
 * release (a table renamed, `[db]` → `[database]`) moved with it, and still comes, unless the merge
 * keeps that owner (a value the user changed, `[db]` kept) with the user's comment lines above it
 * beginning with it: the file then held it above both (a header glued to `[db]`, `# myapp` over
 * `# the database` over `[db]`, came again over `[database]`).
 */
import { entryAt, pathKey } from "./toml-entry-index.js";
import type { TomlEntry, TomlHeader, TomlLayout } from "./toml-scan.js";
import { ABSENT, valueAt } from "./values.js";

interface Copy {
  text: string;
  layout: TomlLayout;
}

/** The user's copy and the merge's values: which keys the merged file still holds, under which comments. */
interface Kept {
  user: Copy;
  merged: unknown;
}

type Item = TomlEntry | TomlHeader;

/**
 * The release's layout with each new key's and table's comment block dropped where it is an
 * existing key's or table's, per the earlier copy (the previous release's, else the user's).
 */
export function withoutMovedComments(release: Copy, earlier: Copy, kept: Kept): TomlLayout {
  const held = keptBlocks(release, kept);
  const owners = new Map<string, Item[]>();
  for (const item of items(earlier.layout)) {
    const block = blockText(earlier.text, item);
    if (block === "") continue;
    const same = owners.get(block);
    if (same === undefined) owners.set(block, [item]);
    else same.push(item);
  }
  if (owners.size === 0 && held.length === 0) return release.layout;
  const moved = (item: Item): boolean => {
    if (holds(earlier.layout, item)) return false;
    const block = blockText(release.text, item);
    if (block !== "" && held.some((mine) => mine.startsWith(block))) return true;
    return (owners.get(block) ?? []).some((owner) => {
      const now = find(release.layout, owner);
      return now !== undefined && blockText(release.text, now) !== block;
    });
  };
  const detached = <T extends Item>(item: T): T =>
    moved(item) ? { ...item, blockStart: item.lineStart } : item;
  return {
    headers: release.layout.headers.map((h) => (h.kind === "table" ? detached(h) : h)),
    entries: release.layout.entries.map(detached),
  };
}

/** The user's comment blocks above the keys and tables the release dropped and the merge keeps. */
function keptBlocks(release: Copy, { user, merged }: Kept): string[] {
  return items(user.layout)
    .filter((item) => item.path !== undefined && valueAt(merged, item.path) !== ABSENT)
    .filter((item) => find(release.layout, item) === undefined)
    .map((item) => blockText(user.text, item))
    .filter((block) => block !== "");
}

function items(layout: TomlLayout): Item[] {
  return [...layout.headers.filter((h) => h.kind === "table"), ...layout.entries];
}

/** The comment lines directly above an item, without their indentation. */
function blockText(text: string, item: Item): string {
  return text.slice(item.blockStart, item.lineStart).replace(/^[ \t]+/gm, "");
}

function isHeader(item: Item): item is TomlHeader {
  return "kind" in item;
}

/**
 * A layout's headers by kind and path, and its first entry and first `[table]` by the offset their
 * comment block starts at: built once per layout. Each removed or new key looked its neighbour up
 * through every item: a release removing half the keys of a 20,000-key file spent seconds here.
 */
interface Lookups {
  headers: Map<string, TomlHeader>;
  headerPaths: Set<string>;
  entryAtBlock: Map<number, TomlEntry>;
  tableAtBlock: Map<number, TomlHeader>;
}

const lookups = new WeakMap<TomlLayout, Lookups>();

function lookupsOf(layout: TomlLayout): Lookups {
  const known = lookups.get(layout);
  if (known !== undefined) return known;
  const built: Lookups = {
    headers: new Map(),
    headerPaths: new Set(),
    entryAtBlock: new Map(),
    tableAtBlock: new Map(),
  };
  for (const h of layout.headers) {
    const key = pathKey(h.path);
    built.headerPaths.add(key);
    if (!built.headers.has(`${h.kind} ${key}`)) built.headers.set(`${h.kind} ${key}`, h);
    if (h.kind === "table" && h.lineStart >= h.blockStart && !built.tableAtBlock.has(h.blockStart))
      built.tableAtBlock.set(h.blockStart, h);
  }
  for (const e of layout.entries)
    if (e.lineStart >= e.blockStart && !built.entryAtBlock.has(e.blockStart))
      built.entryAtBlock.set(e.blockStart, e);
  lookups.set(layout, built);
  return built;
}

/** The item of `layout` at the same path, of the same kind (a key, a `[table]`): the first, as a scan finds it. */
function find(layout: TomlLayout, item: Item): Item | undefined {
  if (isHeader(item)) return lookupsOf(layout).headers.get(`${item.kind} ${pathKey(item.path)}`);
  return item.path === undefined ? undefined : entryAt(layout, item.path);
}

/** Whether `layout` has a key or table at the item's path already (then it is no new one). */
function holds(layout: TomlLayout, item: Item): boolean {
  const path = item.path;
  if (path === undefined) return true;
  return lookupsOf(layout).headerPaths.has(pathKey(path)) || entryAt(layout, path) !== undefined;
}

/**
 * The mirror case: a key or table the release removes from under a comment that the release now
 * writes above the key that followed it (a header glued to a first key the release dropped). The
 * comment went with the removed key, and the file lost its header, which the release still has.
 * It stays, above that next key and above any comment the user's copy writes on it: the release's
 * block there is the removed key's followed by the next key's own (the user's, or the previous
 * release's that the user edited), so a separator the release dropped with the key (`# -----`,
 * which the next key still has above it) is not written twice.
 *
 * Where the removal starts when the comment stays: the item's own line, less the comment lines at
 * the end of the comment that the next key's own comment begins with (an operator's `# -----` there
 * under a kept `# -----` header was two separators); undefined when the comment goes with the item.
 */
export function passedCommentEnd(
  user: Copy,
  release: Copy,
  item: Item,
  nextStart: number,
  base?: Copy,
): number | undefined {
  const block = blockText(user.text, item);
  if (block === "") return undefined;
  const at = lookupsOf(user.layout);
  const next = at.entryAtBlock.get(nextStart) ?? at.tableAtBlock.get(nextStart);
  if (next === undefined) return undefined;
  const theirs = find(release.layout, next);
  if (theirs === undefined) return undefined;
  const shipped = blockText(release.text, theirs);
  const was = base === undefined ? undefined : find(base.layout, next);
  const owns = [
    blockText(user.text, next),
    ...(was === undefined || base === undefined ? [] : [blockText(base.text, was)]),
  ];
  if (!owns.some((own) => shipped === block + own)) return undefined;
  return item.lineStart - doubledTail(user.text.slice(item.blockStart, item.lineStart), owns[0] ?? "");
}

/** The length of the lines closing `comment` that `next` (a comment) opens with, trimmed alike. */
export function doubledTail(comment: string, next: string): number {
  const lines = comment.match(/[^\n]*\n/g) ?? [];
  const following = next.split(/\r?\n/).map((line) => line.trim());
  for (let count = Math.min(lines.length, following.length); count > 0; count--) {
    const tail = lines.slice(lines.length - count);
    if (tail.every((line, i) => line.trim() === following[i])) return tail.join("").length;
  }
  return 0;
}
