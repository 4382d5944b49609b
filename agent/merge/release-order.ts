/**
 * The plan walks a table's keys as a JS object lists them, which puts keys that read as array
 * indices (`10`, `"8080"`) first, in numeric order: YAML and TOML then wrote a release's new
 * `z`, `10` as `10`, `z`. The adds into one table are put back in the order the release writes them.
 */
import type { MergeEdit } from "./plan.js";
import type { TomlLayout } from "./toml-scan.js";
import { isIndexKey } from "./values.js";

/**
 * `edits` with the adds into each table that adds a key reading as an array index in the order
 * `writtenAt` gives (the release's offset of a key path), each in a slot one of them held; every
 * other edit stays where it is. Other tables keep the plan's order, which is the release's already.
 */
export function addsInReleaseOrder(
  edits: readonly MergeEdit[],
  writtenAt: (path: readonly string[]) => number | undefined,
): MergeEdit[] {
  const slots = new Map<string, number[]>();
  edits.forEach((edit, i) => {
    if (edit.kind !== "add" || edit.path.length === 0) return;
    const table = JSON.stringify(edit.path.slice(0, -1));
    slots.set(table, [...(slots.get(table) ?? []), i]);
  });
  const ordered = [...edits];
  for (const indices of slots.values()) {
    const adds = indices.map((i) => edits[i] as MergeEdit);
    if (adds.length < 2 || !adds.some((edit) => isIndexKey(edit.path.at(-1) as string))) continue;
    const at = (edit: MergeEdit) => writtenAt(edit.path) ?? Number.POSITIVE_INFINITY;
    const sorted = [...adds].sort((a, b) => at(a) - at(b));
    indices.forEach((slot, n) => {
      ordered[slot] = sorted[n] as MergeEdit;
    });
  }
  return ordered;
}

/** Where a text first writes each key path, or anything under it, from its items in any order. */
export function firstOffsets(items: Iterable<{ path: readonly string[]; at: number }>): Map<string, number> {
  const first = new Map<string, number>();
  for (const { path, at } of items) {
    for (let depth = 1; depth <= path.length; depth++) {
      const key = JSON.stringify(path.slice(0, depth));
      const known = first.get(key);
      if (known === undefined || at < known) first.set(key, at);
    }
  }
  return first;
}

/** Where a TOML text first writes each key path: its key, its header or a key under it. */
export function tomlWrittenAt(layout: TomlLayout): (path: readonly string[]) => number | undefined {
  let offsets: Map<string, number> | undefined;
  return (path) => {
    offsets ??= firstOffsets([
      ...layout.headers.map((header) => ({ path: header.path, at: header.lineStart })),
      ...layout.entries.flatMap((entry) =>
        entry.path === undefined ? [] : [{ path: entry.path, at: entry.lineStart }],
      ),
    ]);
    return offsets.get(JSON.stringify(path));
  };
}
