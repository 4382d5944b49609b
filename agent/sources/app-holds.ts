/**
 * "Did ship install exactly this release file, per the install index?" — answered from the index
 * alone, without touching the app. Sources leave such files out of staging; the planner, which stats
 * the app anyway, keeps the ones whose stat still matches and has the source stage the rest
 * (FetchedRelease.materialize), so an app edited since the install costs a copy, never a wrong file.
 */
import { join } from "node:path";
import { statMatches } from "../apply/stat-match.js";
import type { TreeEntry } from "../apply/types.js";
import { isFileMode, isSymlinkMode, lstatLite } from "../tree/lstat-lite.js";
import type { InstalledRelease } from "./types.js";

/**
 * Modes are not compared: a mode-only change is staged by the planner from the app's own bytes.
 * A merged file whose release copy is unchanged counts as held: the planner keeps the app's merge result.
 */
export type AppHolds = (rel: string, sha256: string) => boolean;

/**
 * A release listing compared with the install index once, by the source (staging needs it), so the
 * checks after it need not make 20,000 lookups of their own (FetchedRelease.comparedWithIndex).
 */
export interface IndexComparison {
  /** The index's `files` compared with: a reader that holds another object compares again. */
  files: InstalledRelease["files"];
  /** Listed paths the index does not list with the listed sha256 (not "held"), in listing order. */
  differing: string[];
  /** How many listed paths the index lists, whatever their sha256. */
  indexed: number;
}

/** Compares `listing` with what `installed` lists (nothing installed: nothing to compare with). */
export function compareWithIndex(
  listing: ReadonlyMap<string, { sha256: string }>,
  installed: InstalledRelease | undefined,
): IndexComparison | undefined {
  if (installed === undefined) return undefined;
  const files = installed.files;
  const differing: string[] = [];
  let indexed = 0;
  for (const [rel, entry] of listing) {
    // The sha256 alone: no entry built for each of 20,000 listed paths.
    const listed = files.sha256Of(rel);
    if (listed !== undefined) indexed++;
    if (listed !== entry.sha256) differing.push(rel);
  }
  return { files, differing, indexed };
}

/**
 * The index's word plus one lstat of the app's file (the planner's own keep test). For archives:
 * a file left out that the app no longer holds costs a second pass over the whole archive, while
 * the lstat costs microseconds, so an edited file is written in the first pass instead.
 */
export function appHoldsUnchanged(installed: InstalledRelease | undefined): AppHolds {
  if (installed === undefined) return () => false;
  return (rel, sha256) => {
    const indexed = installed.files.get(rel);
    if (indexed === undefined || indexed.sha256 !== sha256) return false;
    // Synchronous on purpose: thousands of lstat calls through the thread pool cost several times more.
    // lstatLite: no Stats with four Dates per file (this runs for nearly every file of an update).
    const stat = lstatLite(join(installed.appDir, rel), false);
    if (stat === undefined) return false;
    const symlink = isSymlinkMode(stat.mode);
    if (!symlink && !isFileMode(stat.mode)) return false;
    const app: TreeEntry = {
      type: symlink ? "symlink" : "file",
      size: stat.size,
      mode: stat.mode & 0o7777,
      mtimeMs: stat.mtimeMs,
      ino: stat.ino,
      ctimeMs: stat.ctimeMs,
    };
    return statMatches(app, indexed);
  };
}
