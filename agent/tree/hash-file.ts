/** Content hashes: streamed for files (bounded memory), the target text for symlinks. */
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { lstat, readlink } from "node:fs/promises";

export async function hashFile(path: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) hash.update(chunk as Buffer);
  return hash.digest("hex");
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
  const worker = async (): Promise<void> => {
    while (failure === undefined && next < items.length) {
      const i = next++;
      try {
        results[i] = await work(items[i] as T);
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (failure !== undefined) throw failure.error;
  return results;
}
