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

/** A matcher over `installed` (nothing installed: the app holds nothing). */
export function appHolds(installed: InstalledRelease | undefined): AppHolds {
  if (installed === undefined) return () => false;
  return (rel, sha256) => installed.files[rel]?.sha256 === sha256;
}

/**
 * The index's word plus one lstat of the app's file (the planner's own keep test). For archives:
 * a file left out that the app no longer holds costs a second pass over the whole archive, while
 * the lstat costs microseconds, so an edited file is written in the first pass instead.
 */
export function appHoldsUnchanged(installed: InstalledRelease | undefined): AppHolds {
  if (installed === undefined) return () => false;
  return (rel, sha256) => {
    const indexed = installed.files[rel];
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
