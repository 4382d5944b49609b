/**
 * The modification times of the directories an update changes entries in, kept in its backup so
 * that a restore puts them back too: a restore put every file's bytes, mode, owner and mtime back,
 * but each directory it added to or removed from kept the time of the restore, so a tree restored
 * "exactly" differed from the one backed up (rsync -a, the seed's method, keeps them; so do
 * mtime-based tools: make, backup and cache checks).
 */
import { lstat, utimes } from "node:fs/promises";
import { join } from "node:path";
import type { ConfinedPaths } from "../apply/confined-paths.js";
import { lstatOrUndefined } from "../tree/fs-ops.js";

/** One directory (relative to the app, "" for the app directory) and its mtime in ms. */
export interface DirTime {
  rel: string;
  mtimeMs: number;
}

/** What an update's inventory changes: the entries whose parents' times it moves. */
interface Changes {
  changed: readonly string[];
  added: readonly string[];
  createdDirs: readonly string[];
  removedDirs: readonly { rel: string }[];
}

function parentOf(rel: string): string {
  const at = rel.lastIndexOf("/");
  return at < 0 ? "" : rel.slice(0, at);
}

/**
 * The times, before the update, of the directories whose entries it adds or removes, and of those
 * it removes (recreated by a restore). Read before the apply's first change; one lstat each, never
 * through a symlink (such a directory is none of the update's: the apply does not write there).
 */
export function dirTimesBefore(appDir: string, changes: Changes): DirTime[] {
  const dirs = new Set<string>();
  for (const rel of [...changes.changed, ...changes.added, ...changes.createdDirs]) dirs.add(parentOf(rel));
  for (const { rel } of changes.removedDirs) {
    dirs.add(rel);
    dirs.add(parentOf(rel));
  }
  const out: DirTime[] = [];
  for (const rel of dirs) {
    const stat = lstatOrUndefined(rel === "" ? appDir : join(appDir, rel));
    if (stat?.isDirectory() === true) out.push({ rel, mtimeMs: stat.mtimeMs });
  }
  return out;
}

/**
 * Puts the recorded times back, deepest first (setting a child's time leaves its parent's alone,
 * but the order keeps that true whatever a later change adds). Only real directories inside the app:
 * a symlink on the way is never followed (confined paths, as every other step of a restore).
 */
export async function restoreDirTimes(
  appDir: string,
  times: readonly DirTime[],
  paths: ConfinedPaths,
): Promise<void> {
  const deepestFirst = [...times].sort((a, b) => b.rel.length - a.rel.length);
  for (const { rel, mtimeMs } of deepestFirst) {
    const path = rel === "" ? appDir : join(appDir, rel);
    if (rel !== "" && !(await paths.isRealDir(rel))) continue;
    const stat = await lstat(path).catch(() => undefined);
    if (stat?.isDirectory() !== true) continue;
    await utimes(path, stat.atime, new Date(mtimeMs));
  }
}
