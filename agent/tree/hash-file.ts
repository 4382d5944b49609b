/** Content hashes: streamed for files (bounded memory), the target text for symlinks. */
import type * as Crypto from "node:crypto";
import { closeSync, constants, createReadStream, fstatSync, openSync, readSync } from "node:fs";
import { lstat, readlink } from "node:fs/promises";
import { createRequire } from "node:module";
import { VerificationError } from "../../shared/errors.js";
import { errnoCode } from "../../shared/fs-errors.js";
import { loopSlices } from "./loop-slices.js";

let crypto: typeof Crypto | undefined;

/**
 * node:crypto's sha256, the module loaded on the first hash: importing it loads 36 built-ins (~4–8 ms
 * of CPU), which `ship --rollback` paid as it started though it hashes a file only when a saved copy
 * changed since (saved-sizes.ts) or a keep-copy is met (issue 11). A built-in resolves from any path.
 */
function createHash(algorithm: "sha256"): Crypto.Hash {
  crypto ??= createRequire("/")("node:crypto") as typeof Crypto;
  return crypto.createHash(algorithm);
}

export async function hashFile(path: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) hash.update(chunk as Buffer);
  return hash.digest("hex");
}

/**
 * Files up to this size are read with synchronous calls: for a small file the promise, stream and
 * thread-pool round trips cost several times the read itself (200 files of 25 KB: ~10 ms CPU
 * instead of ~60 ms). Larger files keep the asynchronous path, so a long read never holds the
 * event loop (the daemon answers its hub meanwhile).
 */
export const SYNC_READ_MAX_BYTES = 1 << 20;

/** How much synchronous reading runs before yielding to the event loop once. */
export const SYNC_SLICE_BYTES = 16 << 20;

/** One buffer for every synchronous read: nothing else runs while one is in progress. */
let syncBuffer: Buffer | undefined;

/** The shared synchronous read buffer (1 MiB), allocated on first use. */
export function syncReadBuffer(): Buffer {
  syncBuffer ??= Buffer.allocUnsafe(SYNC_READ_MAX_BYTES);
  return syncBuffer;
}

/**
 * Opens `path` for reading without following a symlink and without blocking on a FIFO (either may
 * have been swapped in since the caller's lstat); anything but a regular file is refused.
 */
export function openRegularFileSync(path: string): number {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (error) {
    // O_NOFOLLOW's answer to a symlink: say what happened, not the errno.
    if ((error as NodeJS.ErrnoException).code === "ELOOP") {
      throw new VerificationError(path, "stopped being a regular file while it was read (now a symlink)");
    }
    throw error;
  }
  try {
    if (!fstatSync(fd).isFile()) {
      throw new VerificationError(path, "stopped being a regular file while it was read");
    }
  } catch (error) {
    closeSync(fd);
    throw error;
  }
  return fd;
}

/** sha256 of a regular file read synchronously to its end (meant for files up to SYNC_READ_MAX_BYTES). */
export function hashRegularFileSync(path: string): string {
  const fd = openRegularFileSync(path);
  try {
    const buffer = syncReadBuffer();
    const hash = createHash("sha256");
    for (;;) {
      const n = readSync(fd, buffer, 0, buffer.length, null);
      if (n === 0) break;
      hash.update(buffer.subarray(0, n));
    }
    return hash.digest("hex");
  } finally {
    closeSync(fd);
  }
}

/**
 * Runs `work` on each item in order, synchronously, yielding to the event loop after every
 * SYNC_SLICE_BYTES (`bytes` tells what each item costs) or LOOP_SLICE_MS, whichever comes first:
 * thousands of small files never hold the loop for long in one stretch.
 */
export async function forEachInSlices<T>(
  items: readonly T[],
  bytes: (item: T) => number,
  work: (item: T) => void,
): Promise<void> {
  let sinceYield = 0;
  // Bytes alone let a loaded host read 16 MB for seconds; the time slice bounds the stretch too.
  const slice = loopSlices();
  for (const item of items) {
    work(item);
    sinceYield += bytes(item) + 4096;
    const pause = slice();
    if (sinceYield >= SYNC_SLICE_BYTES || pause !== undefined) {
      sinceYield = 0;
      await (pause ?? new Promise<void>((resolve) => setImmediate(resolve)));
    }
  }
}

/** sha256 of text as written to a file (UTF-8). */
export function hashText(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}

/** A symlink's identity is its target, never what it points to. */
export function hashSymlinkTarget(target: string): string {
  return createHash("sha256").update(`symlink:${target}`).digest("hex");
}

/** sha256 of a file or symlink without following the link. */
export async function hashEntry(path: string): Promise<string> {
  const stat = await lstat(path);
  return stat.isSymbolicLink() ? hashSymlinkTarget(await readlink(path)) : hashFile(path);
}

/**
 * sha256 of each `root/rel` (file or symlink, never followed), in order. Regular files the caller's
 * scan saw as small are read synchronously in slices (as the release scan does: 200 files of 25 KB
 * through streams and the thread pool cost ~80 ms of waiting); symlinks, large files and any entry
 * that stopped being a regular file since the scan go through hashEntry, 8 at a time.
 */
export async function hashEntries(
  root: string,
  items: readonly { rel: string; type: "file" | "symlink"; size: number }[],
): Promise<string[]> {
  const base = root.endsWith("/") ? root : `${root}/`;
  const hashes: string[] = new Array(items.length);
  const rest: number[] = [];
  const small: number[] = [];
  items.forEach((item, i) => {
    (item.type === "file" && item.size <= SYNC_READ_MAX_BYTES ? small : rest).push(i);
  });
  await forEachInSlices(
    small,
    (i) => items[i]?.size ?? 0,
    (i) => {
      try {
        hashes[i] = hashRegularFileSync(base + (items[i] as { rel: string }).rel);
      } catch (error) {
        if (!(error instanceof VerificationError)) throw error;
        rest.push(i); // swapped for a symlink or something else since the scan
      }
    },
  );
  await mapLimit(rest, 8, async (i) => {
    hashes[i] = await hashEntry(base + (items[i] as { rel: string }).rel);
  });
  return hashes;
}

/**
 * hashEntries where an entry ship's user may not open (an app file at mode 000, another user's)
 * hashes as "", content unknown: an update moves such a file by rename and never needs its bytes,
 * so it is no reason to fail. Only when one is met are the items hashed one by one.
 */
export async function hashEntriesOrUnknown(
  root: string,
  items: readonly { rel: string; type: "file" | "symlink"; size: number }[],
): Promise<string[]> {
  try {
    return await hashEntries(root, items);
  } catch (error) {
    if (!deniedOpen(error)) throw error;
  }
  return mapLimit(items, 8, async (item) => {
    try {
      return (await hashEntries(root, [item]))[0] ?? "";
    } catch (error) {
      if (deniedOpen(error)) return "";
      throw error;
    }
  });
}

/** Whether `error` is an open refused for permission (EACCES, or EPERM from an immutable file). */
export function deniedOpen(error: unknown): boolean {
  const code = errnoCode(error);
  return code === "EACCES" || code === "EPERM";
}

/**
 * Runs `work` over `items` with at most `limit` in flight (hashing many files without exhausting
 * fds). After a failure no new item starts, and the first error is thrown once the items already
 * in flight have settled: nothing keeps writing after the caller has moved on (to clean up, say).
 */
export async function mapLimit<T, R>(
  items: readonly T[],
  limit: number,
  work: (item: T) => Promise<R>,
): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  let failure: { error: unknown } | undefined;
  // A `work` that does its job in synchronous calls (an lstat, a rename) never lets the loop run:
  // the workers take turns on microtasks alone, so the pool yields every LOOP_SLICE_MS.
  const slice = loopSlices();
  const worker = async (): Promise<void> => {
    while (failure === undefined && next < items.length) {
      const i = next++;
      try {
        results[i] = await work(items[i] as T);
      } catch (error) {
        failure ??= { error };
      }
      const pause = slice();
      if (pause !== undefined) await pause;
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (failure !== undefined) throw failure.error;
  return results;
}
