/**
 * "Did ship install exactly this release file, per the install index?" — answered from the index
 * alone, without touching the app. Sources leave such files out of staging; the planner, which stats
 * the app anyway, keeps the ones whose stat still matches and has the source stage the rest
 * (FetchedRelease.materialize), so an app edited since the install costs a copy, never a wrong file.
 */
import { lstatSync } from "node:fs";
import { join } from "node:path";
import { statMatches } from "../apply/plan.js";
import type { TreeEntry } from "../apply/types.js";
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
    const stat = lstatSync(join(installed.appDir, rel), { throwIfNoEntry: false });
    if (stat === undefined || !(stat.isFile() || stat.isSymbolicLink())) return false;
    const app: TreeEntry = {
      type: stat.isSymbolicLink() ? "symlink" : "file",
      size: stat.size,
      mode: stat.mode & 0o7777,
      mtimeMs: stat.mtimeMs,
      ino: stat.ino,
      ctimeMs: stat.ctimeMs,
    };
    return statMatches(app, indexed);
  };
}
