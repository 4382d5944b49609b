/**
 * Setting a modification time to the nanosecond, as a bigint stat read it. Node's utimes takes
 * seconds as a double, and libuv truncates what it hands utimensat to whole microseconds (measured
 * on Node 20: 1733450000.123456789 is set as .123456000, and a Date as .122999000: its milliseconds
 * over 1000 fall just short). A time put back through either differs from the one read, and tools
 * that compare mtimes to the nanosecond (make, backup and cache checks, git's stat check) take the
 * entry for changed. A time in whole microseconds (a tar entry's, an older backup's record, a
 * directory's that ship's own update left: dir-times.ts) is set in-process; any other as touch(1)
 * sets it (utimensat with the nanoseconds), one `sh` running touch for all of them, since Node has
 * no call that takes nanoseconds.
 */
import { lstat, lutimes } from "node:fs/promises";

export interface ExactMtime {
  path: string;
  mtimeNs: bigint;
}

const NS_PER_S = 1_000_000_000n;
const NS_PER_US = 1_000n;

/**
 * Seconds as a double that libuv truncates to exactly `ns`'s microsecond (half a µs above it). Node
 * takes a negative number for "now": a time before 1970 goes as a Date (milliseconds).
 */
function secondsFor(ns: bigint): number | Date {
  if (ns < 0n) return new Date(Number(ns / 1_000_000n));
  const whole = ns / NS_PER_S;
  const micros = (ns % NS_PER_S) / NS_PER_US;
  return Number(whole) + (Number(micros) + 0.5) / 1e6;
}

/**
 * What to give utimes for a time read in ms (a scan's mtimeMs, a tar entry's Date): its nearest
 * microsecond, set exactly (the double holds it within some 250 ns). A Date, or `ms / 1000`, is a
 * double libuv truncates to the microsecond below: about half of the times in whole microseconds
 * came out one short (.100000000 as .099999000).
 */
export function utimeSecondsOfMs(ms: number): number | Date {
  return secondsFor(BigInt(Math.round(ms * 1e3)) * NS_PER_US);
}

/** What to give utimes for a time in ns: exact when it is whole microseconds, else the microsecond below. */
export function utimeSecondsOfNs(ns: bigint): number | Date {
  return secondsFor(ns);
}

/** touch's `@SECONDS.NANOSECONDS` (`@-1.500000000` before 1970). */
function touchDate(ns: bigint): string {
  const abs = ns < 0n ? -ns : ns;
  return `@${ns < 0n ? "-" : ""}${abs / NS_PER_S}.${(abs % NS_PER_S).toString().padStart(9, "0")}`;
}

/** Whether utimes can set `ns` exactly: whole microseconds, after 1970 (a negative time goes to touch). */
export function inMicroseconds(ns: bigint): boolean {
  return ns >= 0n && ns % NS_PER_US === 0n;
}

/**
 * Sets each path's mtime to `mtimeNs` exactly, never through a symlink (a symlink's own time is
 * set), leaving its atime (to the microsecond in-process). Throws naming the first path whose time
 * could not be set.
 */
export async function setMtimesExactly(items: readonly ExactMtime[]): Promise<void> {
  const rest: ExactMtime[] = [];
  for (const item of items) {
    if (!inMicroseconds(item.mtimeNs)) {
      rest.push(item);
      continue;
    }
    const found = await lstat(item.path, { bigint: true });
    await keepTimes(item.path, { atimeNs: found.atimeNs, mtimeNs: item.mtimeNs });
  }
  if (rest.length > 0) await touchAll(rest);
}

/**
 * Gives a copy its original's atime and mtime, in-process: exact when they are whole microseconds,
 * else to the microsecond below. A process per copied file would cost more than the copy (a restore
 * across filesystems copies thousands); a rename or hard link keeps them exactly.
 */
export async function keepTimes(copy: string, original: { atimeNs: bigint; mtimeNs: bigint }): Promise<void> {
  await lutimes(copy, secondsFor(original.atimeNs), secondsFor(original.mtimeNs));
}

/**
 * Pairs of arguments per `sh`: a path may be 4 KiB and the kernel takes some 2 MiB of arguments,
 * so a few hundred at a time stays far below it.
 */
const PAIRS_PER_RUN = 200;

/** `touch -c -m -h -d @S.N -- PATH` per item, one `sh` per batch; the paths it failed on are printed. */
const SCRIPT =
  'while [ $# -gt 1 ]; do touch -c -m -h -d "$1" -- "$2" 2>/dev/null || printf "%s\\n" "$2"; shift 2; done';

async function touchAll(items: readonly ExactMtime[]): Promise<void> {
  // Loaded here: a restore whose times are all whole microseconds (and --list-backups) start no
  // process, and the restore bundle stays without child_process until one is needed.
  const { spawnSync } = await import("node:child_process");
  for (let at = 0; at < items.length; at += PAIRS_PER_RUN) {
    const args = items.slice(at, at + PAIRS_PER_RUN).flatMap((i) => [touchDate(i.mtimeNs), i.path]);
    // spawnSync, not execFile: the asynchronous child's streams, handles and events cost the main
    // thread ~6 ms of CPU per rollback here against ~1.7 (the `sh` and `touch` the same), for a child
    // that runs a few ms. A batch of PAIRS_PER_RUN directories holds the event loop for as long as
    // its touch runs take (~1 ms each), within what the daemon's hub connection allows, as rmSync's.
    const run = spawnSync("sh", ["-c", SCRIPT, "sh", ...args], {
      stdio: ["ignore", "pipe", "ignore"],
      encoding: "utf8",
    });
    if (run.error !== undefined || run.status !== 0)
      throw new Error(
        `could not run touch to set modification times: ${run.error?.message ?? `sh ended with ${run.signal ?? `exit code ${run.status}`}`}`,
      );
    const first = run.stdout.split("\n").find((line) => line !== "");
    if (first !== undefined)
      throw new Error(`could not set the modification time of ${first} (touch failed)`);
  }
}
