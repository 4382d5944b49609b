/**
 * Whether the entry at a path is still the one ship installed there, judged against the install
 * index: a matching stat vouches for it at no cost; otherwise the content hash decides (for a merged
 * file, the hash of the merge ship wrote; indexes from before it was recorded leave only the stat). A restore
 * deletes or replaces only entries that pass this test: anything else belongs to someone else.
 */
import { lstatOrUndefined } from "../tree/fs-ops.js";
import { hashEntry } from "../tree/hash-file.js";
import { statMatches } from "./stat-match.js";
import type { IndexedFile } from "./types.js";

export type InstalledState = "absent" | "installed" | "foreign";

export async function installedState(
  path: string,
  indexed: IndexedFile | undefined,
): Promise<InstalledState> {
  const stat = lstatOrUndefined(path);
  if (stat === undefined) return "absent";
  if (indexed === undefined || stat.isDirectory()) return "foreign";
  if (statMatches(stat, indexed)) return "installed";
  if (!stat.isFile() && !stat.isSymbolicLink()) return "foreign";
  // A merged file holds the merge's bytes, not the release's: only their own hash can vouch for it.
  const expected = indexed.merged ? indexed.installedSha256 : indexed.sha256;
  if (expected === undefined) return "foreign";
  return (await hashEntry(path)) === expected ? "installed" : "foreign";
}
