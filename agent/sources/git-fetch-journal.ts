/**
 * The on-disk record of a git fetch held to max_download_mb, written before git starts and removed
 * once what it received is measured (kept, or refused and removed). A fetch moves the clone's refs
 * and keeps its pack as git exits; the measure comes after, in ship. A ship killed in between (or
 * while git ran: git lives on in its own process group and finishes) left the refs moved and the
 * pack kept, unmeasured, and the next run found the objects already there: it installed past the
 * limit with nothing received. The next fetch in the clone replays a record it finds: it ends the
 * git that may still run, puts the refs back as they were and removes every pack-directory file
 * that was not there before, so that fetch receives (and measures) it all again.
 */
import { readFile, readlink, realpath, rm } from "node:fs/promises";
import { dirname, join } from "node:path";
import { z } from "zod";
import { killGroup } from "../exec/run-command.js";
import { writeFileAtomic } from "../tree/fs-ops.js";
import type { RefsSnapshot } from "./git-refs-snapshot.js";

/** In the git directory (next to objects/), where git reads nothing of it and gc counts no garbage. */
const JOURNAL = "ship-fetch.json";

const Journal = z.object({
  /** The clone's non-symbolic refs before the fetch: ref name → object id. */
  refs: z.record(z.string(), z.string().regex(/^[0-9a-f]+$/)),
  /** The pack directory's entries before the fetch: only files not among them are the fetch's. */
  before: z.array(z.string()),
  /** The ship process that fetches (pid, start time): while it runs, the record is its own, not a killed run's. */
  run: z.object({ pid: z.number().int().positive(), started: z.string() }),
  /** git's process group, once started. */
  pid: z.number().int().positive().optional(),
});
type Journal = z.infer<typeof Journal>;

/** What replaying a record needs of the clone: its refs put back, its pack directory's new files removed. */
export interface FetchUndo {
  restoreRefs: (to: RefsSnapshot) => Promise<void>;
  removeNew: (before: ReadonlySet<string>) => Promise<void>;
}

/** The record's path for the clone whose packs are in `packDir` (`<git dir>/objects/pack`). */
export function journalPath(packDir: string): string {
  return join(dirname(dirname(packDir)), JOURNAL);
}

/**
 * Replays the record a killed run left at `path`, if any: afterwards the clone is as it was before
 * that fetch. Rejects (the record kept, so the next run tries again) when the refs cannot be put
 * back; a record that is not ship's (unreadable as one) is an error naming it, never acted on.
 */
export async function replayJournal(path: string, cloneDir: string, undo: FetchUndo): Promise<void> {
  const text = await readFile(path, "utf8").catch((err: unknown) => {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  });
  if (text === undefined) return;
  let parsed: Journal;
  try {
    parsed = Journal.parse(JSON.parse(text));
  } catch {
    throw new Error(`${path}: not a record of ship's fetch; remove it if nothing else wrote it`);
  }
  if (parsed.run.pid !== process.pid && (await startTime(parsed.run.pid)) === parsed.run.started)
    throw new Error(
      `another ship run (pid ${parsed.run.pid}) is fetching into ${cloneDir} (${path}): give each configuration a clone of its own`,
    );
  if (parsed.pid !== undefined) await endOrphan(parsed.pid, cloneDir);
  await undo.restoreRefs(new Map(Object.entries(parsed.refs)));
  await undo.removeNew(new Set(parsed.before));
  await rm(path, { force: true });
}

/** Writes the record of a fetch about to start; `started` adds git's process group once it runs. */
export async function writeJournal(
  path: string,
  refs: RefsSnapshot,
  before: ReadonlySet<string>,
): Promise<{ started: (pid: number | undefined) => void; remove: () => Promise<void> }> {
  const run = { pid: process.pid, started: (await startTime(process.pid)) ?? "" };
  const record: Journal = { refs: Object.fromEntries(refs), before: [...before], run };
  // Durable before git starts: git fsyncs the pack it keeps (core.fsync's default) but not the refs,
  // so after a power cut the objects may be there and an unsynced record lost (the next fetch found
  // them and installed past the limit) or empty (every run refused it until an operator removed it).
  await writeFileAtomic(path, JSON.stringify(record));
  return {
    started: (pid) => {
      if (pid === undefined) return;
      // At once, before ship goes on: a kill a moment later must find git's group recorded. Synced,
      // then renamed over the record, so a kill or a power cut mid-write leaves one record, whole.
      const { closeSync, fsyncSync, openSync, renameSync, writeFileSync } =
        process.getBuiltinModule("node:fs");
      try {
        const fd = openSync(`${path}.pid`, "w", 0o640);
        try {
          writeFileSync(fd, JSON.stringify({ ...record, pid }));
          fsyncSync(fd);
        } finally {
          closeSync(fd);
        }
        renameSync(`${path}.pid`, path);
      } catch {
        // Not recorded: a replay takes git for ended, as it is unless ship was killed mid-fetch.
      }
    },
    remove: () => rm(path, { force: true }),
  };
}

/**
 * When process `pid` started (clock ticks since boot, /proc/PID/stat's 22nd field): with the pid, it
 * names one process, never one that took a dead run's pid since. Undefined when it is not running.
 */
async function startTime(pid: number): Promise<string | undefined> {
  const stat = await readFile(`/proc/${pid}/stat`, "utf8").catch(() => undefined);
  // The command name (field 2, in parentheses) may hold spaces: fields are counted after it.
  return stat?.slice(stat.lastIndexOf(")") + 2).split(" ")[19];
}

/**
 * Ends the git process group a killed run left fetching into `cloneDir`, when it still runs: it
 * would move refs and keep a pack after the replay. Only a group whose leader is git with its
 * working directory in the clone is ended (the pid may have been reused since).
 */
async function endOrphan(pid: number, cloneDir: string): Promise<void> {
  const [cwd, clone, comm] = await Promise.all([
    readlink(`/proc/${pid}/cwd`).catch(() => undefined),
    realpath(cloneDir).catch(() => cloneDir),
    readFile(`/proc/${pid}/comm`, "utf8").catch(() => ""),
  ]);
  if (cwd === undefined || comm.trim() !== "git" || (cwd !== clone && !cwd.startsWith(`${clone}/`))) return;
  killGroup(pid, "SIGKILL");
  // Gone once the group no longer answers signal 0; a killed git exits within milliseconds.
  for (let tries = 0; tries < 100; tries++) {
    try {
      process.kill(-pid, 0);
    } catch {
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
