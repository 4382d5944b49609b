/**
 * git's "racy" rule, the one definition every cache that trusts a timestamp instead of reading the
 * file uses (a release directory's stat index, the install index and its parsed copy, a local
 * archive's hash, an sftp mtime, an http Last-Modified or ETag): a timestamp is only as fine as the
 * clock that made it, so a file changed again in the tick of its last change may keep size, mtime
 * and ctime. What was learnt from a file counts later only if its last change was older, by that
 * tick, than the moment it was read; else it vouches for nothing and the file is read again (once:
 * by then it has settled).
 *
 * The tick is read from the timestamp itself: whole seconds (ext2/ext3 with 128-byte inodes, FAT's
 * 2 s, a server's sftp mtime or HTTP date) get RACY_MS; one with a fraction comes from a clock that
 * ticks in milliseconds at most (a kernel jiffy, exFAT's 10 ms), so FINE_RACY_MS covers it. A fine
 * timestamp that happens to fall on a whole second only costs a read. For a local file, pass its
 * ctime: tar and `cp -p` set whole-second mtimes on any file system; ctime is the kernel's.
 *
 * `seenAtMs` is the moment of the read on the clock that made the timestamp: ours, taken before the
 * read began, for a local file; the server's Date where it says it, else ours taken before the
 * question was sent. A clock behind the file's by more than the tick is the rule's blind spot, as
 * for git on a network filesystem.
 */
import type { Stats } from "node:fs";

/** Covers the coarsest common timestamp granularity (FAT: 2 s); everything finer is inside it. */
export const RACY_MS = 2000;

/** The racy window for timestamps finer than a second: well above a kernel jiffy (1-10 ms). */
export const FINE_RACY_MS = 100;

/** How long a timestamp like `sampleMs` may stay put across a change: its clock's tick, at most. */
export function racyWindowMs(sampleMs: number): number {
  return sampleMs % 1000 === 0 ? RACY_MS : FINE_RACY_MS;
}

/**
 * Whether a file last changed at `changedAtMs`, read at `seenAtMs`, had settled: any later change
 * moves its timestamps. `sampleMs` is a timestamp of the file showing its granularity (default:
 * `changedAtMs` itself).
 */
export function settledWhenSeen(
  changedAtMs: number,
  seenAtMs: number | undefined,
  sampleMs: number = changedAtMs,
): boolean {
  return (
    seenAtMs !== undefined && Number.isFinite(changedAtMs) && changedAtMs < seenAtMs - racyWindowMs(sampleMs)
  );
}

/**
 * settledWhenSeen, and still so at `nowMs`: not when the clock that took `seenAtMs` read later than
 * ours does now (the run that saw it had a clock ahead, or ours was stepped back since), which is
 * when "settled" was judged by a wrong clock.
 */
export function stillVouches(
  changedAtMs: number,
  seenAtMs: number | undefined,
  nowMs: number,
  sampleMs: number = changedAtMs,
): boolean {
  return settledWhenSeen(changedAtMs, seenAtMs, sampleMs) && (seenAtMs ?? Number.POSITIVE_INFINITY) <= nowMs;
}

/** Whether a local file with this stat, read at `readAtMs`, was changed too recently to trust later. */
export function isRacy(st: Pick<Stats, "mtimeMs" | "ctimeMs">, readAtMs: number): boolean {
  return !settledWhenSeen(Math.max(st.mtimeMs, st.ctimeMs), readAtMs, st.ctimeMs);
}
