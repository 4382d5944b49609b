/**
 * A built CLI's bin and its bundle/ copied elsewhere without the code caches other runs wrote
 * beside it (shared/cli/code-cache.ts): a test of the caches then starts from none, and what it
 * writes or garbles is no other test's.
 */
import { cp } from "node:fs/promises";
import { basename, dirname, join } from "node:path";

/** Copies `bin` (dist/…/cli/main.*) and its bundle/ into `dir`; returns the copied bin's path. */
export async function copyCliWithoutCaches(bin: string, dir: string): Promise<string> {
  await cp(join(dirname(bin), "bundle"), join(dir, "bundle"), {
    recursive: true,
    filter: (src) => !src.endsWith(".v8cache"),
  });
  const copy = join(dir, basename(bin));
  await cp(bin, copy);
  return copy;
}
