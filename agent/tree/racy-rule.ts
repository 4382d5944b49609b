/**
 * git's "racy" rule for what a source learns from a server's clock (an sftp mtime, an http
 * Last-Modified, an ETag made of them): a timestamp is only as fine as its clock (SFTP and HTTP
 * dates: whole seconds; the server's filesystem: up to 2 s, FAT's), so a file rewritten in the tick
 * the timestamp was read in keeps it, and its size may not move either. Such a timestamp vouches for
 * nothing next time: the release is read again (once; by then it has settled). Only a timestamp
 * older by more than RACY_MS than the moment it was seen may say "unchanged" later.
 *
 * `observedAtMs` is the moment the server answered: its own clock (http's Date) where it says it,
 * else ours taken before the question was sent (the answer cannot be older than that). A server
 * whose clock is behind ours by more than RACY_MS is the rule's blind spot, as for git on a
 * network filesystem.
 */
import { RACY_MS } from "./file-stamp.js";

export { RACY_MS };

/** Whether a file last changed at `changedAtMs`, as seen at `observedAtMs`, has settled. */
export function settledWhenSeen(changedAtMs: number, observedAtMs: number | undefined): boolean {
  return observedAtMs !== undefined && Number.isFinite(changedAtMs) && changedAtMs < observedAtMs - RACY_MS;
}

/**
 * Whether a timestamp our clock saw at `observedAtMs` (settled then) still vouches at `nowMs`: not
 * when that clock read later than ours does now (the run that saw it had a clock ahead, or ours was
 * stepped back since), which is when "settled" was judged by a wrong clock.
 */
export function stillVouches(changedAtMs: number, observedAtMs: number | undefined, nowMs: number): boolean {
  return settledWhenSeen(changedAtMs, observedAtMs) && (observedAtMs ?? Number.POSITIVE_INFINITY) <= nowMs;
}
