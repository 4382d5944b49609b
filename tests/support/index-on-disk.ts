/**
 * An install index file as written, not as read: no racy rule applied, no head resolved. A full
 * index in columns (index-columns.ts) comes back with its `columns` header and its entries as
 * `files`; a JSON one (a head, or a full index as an older ship wrote it) as it is.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { columnsSchema, decodeColumns, headerEnd } from "../../agent/apply/index-columns.js";
import type { IndexedFile } from "../../agent/apply/types.js";

export async function indexOnDisk(path: string): Promise<Record<string, unknown>> {
  const bytes = await readFile(path);
  const end = headerEnd(bytes);
  if (end < 0) return JSON.parse(bytes.toString("utf8")) as Record<string, unknown>;
  const header = JSON.parse(bytes.toString("utf8", 0, end)) as Record<string, unknown>;
  const files = decodeColumns(columnsSchema().parse(header.columns), bytes.subarray(end + 1));
  if (typeof files === "string") throw new Error(`${path}: ${files}`);
  return { ...header, files: Object.fromEntries(files) };
}

/** The entry for `rel` as the live index in `stateDir` was written: a head's change, else its base's. */
export async function writtenEntry(stateDir: string, rel: string): Promise<IndexedFile | undefined> {
  const live = await indexOnDisk(join(stateDir, "install-index.json"));
  const base = live.base as { name: string } | undefined;
  if (base === undefined) return (live.files as Record<string, IndexedFile>)[rel];
  const changed = (live.changes as Record<string, IndexedFile>)[rel];
  if (changed !== undefined || (live.dropped as string[]).includes(rel)) return changed;
  return ((await indexOnDisk(join(stateDir, base.name))).files as Record<string, IndexedFile>)[rel];
}
