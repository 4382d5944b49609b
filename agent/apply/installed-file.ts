/**
 * Whether the entry at a path is still the one ship installed there, judged against the install
 * index: a matching stat vouches for it at no cost; otherwise the content hash decides (for a merged
 * file, the hash of the merge ship wrote; indexes from before it was recorded leave only the stat). A restore
 * deletes or replaces only entries that pass this test: anything else belongs to someone else.
 */
import { VerificationError } from "../../shared/errors.js";
import { hashEntry, hashRegularFileSync, SYNC_READ_MAX_BYTES, SYNC_SLICE_BYTES } from "../tree/hash-file.js";
import {
  isDirectoryMode,
  isFileMode,
  isSymlinkMode,
  type LiteStat,
  lstatLiteOrUndefined,
} from "../tree/lstat-lite.js";
import { statMatches } from "./stat-match.js";
import type { IndexedFile } from "./types.js";

export type InstalledState = "absent" | "installed" | "foreign";

export async function installedState(
  path: string,
  indexed: IndexedFile | undefined,
): Promise<InstalledState> {
  // Numbers only, no Stats object: a rollback asks this of every path it puts back (lstat-lite.ts).
  const stat = lstatLiteOrUndefined(path);
  if (stat === undefined) return "absent";
  if (indexed === undefined || isDirectoryMode(stat.mode)) return "foreign";
  if (statMatches(stat, indexed)) return "installed";
  if (!isFileMode(stat.mode) && !isSymlinkMode(stat.mode)) return "foreign";
  // A merged file holds the merge's bytes, not the release's: only their own hash can vouch for it.
  const expected = indexed.merged ? indexed.installedSha256 : indexed.sha256;
  if (expected === undefined) return "foreign";
  return (await hashOf(path, stat)) === expected ? "installed" : "foreign";
}

/** Bytes read synchronously since the event loop last ran (see hashOf). */
let sinceYield = 0;

/**
 * A small regular file is read synchronously, as hashEntries reads them: through a stream and the
 * thread pool, a rollback's 200 files of 25 KB cost several times the reads. The loop is let run
 * once per SYNC_SLICE_BYTES, so a restore of thousands of files does not hold the daemon's hub
 * connection for long.
 */
async function hashOf(path: string, stat: LiteStat): Promise<string> {
  if (isFileMode(stat.mode) && stat.size <= SYNC_READ_MAX_BYTES) {
    if (sinceYield >= SYNC_SLICE_BYTES) {
      sinceYield = 0;
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    sinceYield += stat.size + 4096;
    try {
      return hashRegularFileSync(path);
    } catch (error) {
      // Swapped for a symlink or something else since the lstat: hashed as what it is now.
      if (!(error instanceof VerificationError)) throw error;
    }
  }
  return hashEntry(path);
}
