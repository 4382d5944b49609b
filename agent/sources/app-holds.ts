/**
 * "Did ship install exactly this release file, per the install index?" — answered from the index
 * alone, without touching the app. Sources leave such files out of staging; the planner, which stats
 * the app anyway, keeps the ones whose stat still matches and has the source stage the rest
 * (FetchedRelease.materialize), so an app edited since the install costs a copy, never a wrong file.
 */
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
