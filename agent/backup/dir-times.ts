/**
 * The modification times of the directories an update changes entries in, kept in its backup so
 * that a restore puts them back too: a restore put every file's bytes, mode, owner and mtime back,
 * but each directory it added to or removed from kept the time of the restore, so a tree restored
 * "exactly" differed from the one backed up (rsync -a, the seed's method, keeps them; so do
 * mtime-based tools: make, backup and cache checks).
 */
import { lutimesSync } from "node:fs";
import { lstat } from "node:fs/promises";
import { join } from "node:path";
import type { ConfinedPaths } from "../apply/confined-paths.js";
import { type ExactMtime, inMicroseconds, setMtimesExactly, utimeSecondsOfNs } from "../tree/exact-mtime.js";
import { lstatBigOrUndefined } from "../tree/fs-ops.js";

/**
 * One directory (relative to the app, "" for the app directory) and its mtime: in nanoseconds as a
 * decimal string (JSON has no bigint), and in ms as backups made before the nanoseconds were kept
 * have it alone (a double that restores only to the microsecond).
 */
export interface DirTime {
  rel: string;
  mtimeMs: number;
  mtimeNs?: string | undefined;
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
    const stat = lstatBigOrUndefined(rel === "" ? appDir : join(appDir, rel));
    if (stat?.isDirectory() === true)
      out.push({ rel, mtimeMs: Number(stat.mtimeNs) / 1e6, mtimeNs: stat.mtimeNs.toString() });
  }
  return out;
}

/**
 * Once an update has committed, the directories it changed entries in (and those it made) get their
 * modification time cut to the whole microsecond below. The kernel stamps a change with a time in
 * nanoseconds (ext4 here: .500835826), which Node cannot set (libuv cuts utimes to the microsecond),
 * so a restore put each such time back through touch(1): a fork of the whole process, `sh` and
 * `touch`, and `child_process` loaded, on every `--rollback`. A time in whole microseconds is set
 * in-process, exactly; these times are the update's own (the moment it changed the directory, not
 * the release's or the operator's), and they move back by less than a microsecond. So the next
 * update's backup records times its restore sets without a process, wherever ship's own update
 * last changed the directory; a time someone else set (a hook, an operator's touch, ship before
 * this) still goes through touch. Best effort: a directory gone or not ours to stamp keeps its time.
 */
export function dropSubMicroseconds(appDir: string, changes: Changes): void {
  const dirs = new Set<string>(changes.createdDirs);
  for (const rel of [...changes.changed, ...changes.added, ...changes.createdDirs]) dirs.add(parentOf(rel));
  for (const { rel } of changes.removedDirs) dirs.add(parentOf(rel));
  for (const rel of dirs) {
    const path = rel === "" ? appDir : join(appDir, rel);
    const stat = lstatBigOrUndefined(path);
    // Before 1970 (touch's) or already whole microseconds: nothing to gain.
    if (stat?.isDirectory() !== true || stat.mtimeNs < 0n || inMicroseconds(stat.mtimeNs)) continue;
    try {
      lutimesSync(path, utimeSecondsOfNs(stat.atimeNs), utimeSecondsOfNs(stat.mtimeNs));
    } catch {
      // Only what a later restore costs: it runs touch for this one.
    }
  }
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
  const exact: ExactMtime[] = [];
  for (const { rel, mtimeMs, mtimeNs } of deepestFirst) {
    const path = rel === "" ? appDir : join(appDir, rel);
    if (rel !== "" && !(await paths.isRealDir(rel))) continue;
    const stat = await lstat(path).catch(() => undefined);
    if (stat?.isDirectory() !== true) continue;
    exact.push({ path, mtimeNs: mtimeNs === undefined ? microsOf(mtimeMs) : BigInt(mtimeNs) });
  }
  await setMtimesExactly(exact);
}

/** An older record's ms double (sec * 1e3 + nsec / 1e6) as the nearest whole microsecond, in ns. */
function microsOf(mtimeMs: number): bigint {
  return BigInt(Math.round(mtimeMs * 1e3)) * 1000n;
}
