/**
 * Whether the entry at a path is still the one ship installed there, judged against the install
 * index: a matching stat vouches for it at no cost; otherwise the content hash decides (a merged
 * file's index hash is the release's pristine copy, so only its stat can vouch for it). A restore
 * deletes or replaces only entries that pass this test: anything else belongs to someone else.
 */
import { lstatOrUndefined } from "../tree/fs-ops.js";
import { hashEntry } from "../tree/hash-file.js";
import type { IndexedFile } from "./types.js";

export type InstalledState = "absent" | "installed" | "foreign";

export async function installedState(
  path: string,
  indexed: IndexedFile | undefined,
): Promise<InstalledState> {
  const stat = lstatOrUndefined(path);
  if (stat === undefined) return "absent";
  if (indexed === undefined || stat.isDirectory()) return "foreign";
  if (
    stat.size === indexed.size &&
    stat.mtimeMs === indexed.mtimeMs &&
    stat.ino === indexed.ino &&
    (stat.mode & 0o7777) === indexed.mode &&
    (indexed.ctimeMs === undefined || stat.ctimeMs === indexed.ctimeMs)
  ) {
    return "installed";
  }
  if (indexed.merged) return "foreign";
  if (!stat.isFile() && !stat.isSymbolicLink()) return "foreign";
  return (await hashEntry(path)) === indexed.sha256 ? "installed" : "foreign";
}
