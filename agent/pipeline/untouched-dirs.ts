/**
 * A run refused for bad input (a broken manifest, an empty release, a branch the remote does not
 * have, a 404) leaves ship's directories as it found them. The refusal is only known once the
 * source has been read and the release fetched, and that has to happen under the run's locks and
 * in its work directory: a fresh host gets its state directory, locks/ and work/ made for them,
 * and on any host the lock files and the staging area come and go. Those are ship's own
 * bookkeeping, gone by the end of the run, so what a refusal undoes is their trace: directories
 * the run made (when they are empty again), the log file it created, and the timestamps of the
 * directories whose entries are as they were. Content (the state file, the source's caches) is
 * never written by a refusal in the first place (finalize.ts, run-source.ts).
 */
import { type BigIntStats, type Dirent, existsSync, readdirSync, statSync } from "node:fs";
import { readdir, realpath, rm, rmdir, stat } from "node:fs/promises";
import { dirname, join } from "node:path";
import type { AgentConfig } from "../../shared/config/schema.js";
import { ExitCode, ShipError } from "../../shared/errors.js";
import { setMtimesExactly } from "../tree/exact-mtime.js";
import { stateRoot } from "./paths.js";

interface DirBefore {
  /** Nanoseconds: a Date (milliseconds) put back is a timestamp that still differs. */
  mtimeNs: bigint;
  names: string[];
}

export interface UntouchedDirs {
  /** Takes out what the run added to ship's directories and puts their timestamps back. */
  restore(): Promise<void>;
  /** Runs `work`; a refusal for bad input (exit 2) it throws first puts ship's directories back. */
  guard<T>(work: () => Promise<T>): Promise<T>;
}

/** Whether `error` refuses the run for bad input (exit 2), which must leave nothing changed. */
export function isRefusal(error: unknown): boolean {
  return error instanceof ShipError && error.exitCode === ExitCode.badInput;
}

/** How deep below the state, work and backup directories a run makes its own (state dir/sources/NAME). */
const DEPTH = 2;

/** Ship's directories (state, work, locks, backups, log) as they are now, before the run. */
export async function noteShipDirs(config: AgentConfig): Promise<UntouchedDirs> {
  const general = config.general;
  const logFile = general.logging.file;
  // Ship makes its own entries below the state, work and backup directories; in the lock file's
  // and the log file's it makes only that file (and the directory when missing): those are often
  // other programs' too (/run/lock, /var/log), whose subdirectories are not ship's to list, empty
  // out or re-stamp.
  const roots: [string | undefined, number][] = [
    [stateRoot(config), DEPTH],
    [general.work_dir, DEPTH],
    [general.backup_dir, DEPTH],
    [general.lock_file === undefined ? undefined : dirname(general.lock_file), 0],
    [logFile === undefined ? undefined : dirname(logFile), 0],
  ];
  const before = new Map<string, DirBefore>();
  for (const [root, depth] of roots) {
    if (root === undefined) continue;
    // A directory that is not there yet: its nearest existing parent is where the run adds it.
    let dir = root;
    while (!existsSync(dir) && dirname(dir) !== dir) dir = dirname(dir);
    note(dir, dir === root ? depth : 0, before);
  }
  const logFileWasThere = logFile !== undefined && existsSync(logFile);
  const dirs: UntouchedDirs = {
    async guard(work) {
      try {
        return await work();
      } catch (error) {
        if (isRefusal(error)) await dirs.restore();
        throw error;
      }
    },
    async restore() {
      if (logFile !== undefined && !logFileWasThere)
        await rm(logFile, { force: true }).catch(() => undefined);
      // Deepest first: a directory's timestamp is put back after its children were taken out.
      const noted = [...before.keys()].sort((a, b) => b.length - a.length);
      for (const dir of noted) await takeOutAdded(dir, before.get(dir) as DirBefore);
      for (const dir of noted) await putBackTimes(dir, before.get(dir) as DirBefore);
    },
  };
  return dirs;
}

/**
 * Synchronous: a stat and a listing per directory, a few dozen on every start (backup_dir's backups
 * among them), where each awaited call was a round trip through libuv's thread pool.
 */
function note(dir: string, depth: number, into: Map<string, DirBefore>): void {
  if (into.has(dir)) return;
  let found: BigIntStats;
  let entries: Dirent[];
  try {
    found = statSync(dir, { bigint: true });
    if (!found.isDirectory()) return;
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return;
  }
  into.set(dir, { mtimeNs: found.mtimeNs, names: entries.map((e) => e.name).sort() });
  if (depth === 0) return;
  for (const entry of entries) if (entry.isDirectory()) note(join(dir, entry.name), depth - 1, into);
}

/** Removes directories added under `dir` that hold nothing but empty directories. */
async function takeOutAdded(dir: string, was: DirBefore): Promise<void> {
  const now = await readdir(dir).catch(() => undefined);
  if (now === undefined) return;
  for (const name of now) if (!was.names.includes(name)) await removeEmptyTree(join(dir, name));
}

/** rmdir bottom-up; a file anywhere keeps its directories (it was written: not ours to hide). */
async function removeEmptyTree(dir: string): Promise<void> {
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => undefined);
  if (entries === undefined) return;
  for (const entry of entries) if (entry.isDirectory()) await removeEmptyTree(join(dir, entry.name));
  await rmdir(dir).catch(() => undefined);
}

async function putBackTimes(dir: string, was: DirBefore): Promise<void> {
  const now = await readdir(dir).catch(() => undefined);
  if (now === undefined || now.sort().join("\0") !== was.names.join("\0")) return;
  const found = await stat(dir, { bigint: true }).catch(() => undefined);
  if (found === undefined || found.mtimeNs === was.mtimeNs) return;
  // Noted through a symlink (a state directory linked onto storage): its directory's time, not the link's.
  const path = await realpath(dir).catch(() => dir);
  await setMtimesExactly([{ path, mtimeNs: was.mtimeNs }]).catch(() => undefined);
}
