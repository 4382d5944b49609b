/**
 * The physical check behind symlinks: once the tree is complete, follow every symlink the archive
 * created, hop by hop on disk, and prove it lands inside the release. The lexical check at entry
 * time cannot see chains (`a -> .`, then `b -> a/x/../..`), this one does.
 */
import { lstat, readlink } from "node:fs/promises";
import { join } from "node:path";

const MAX_HOPS = 40;

/** Undefined when the symlink at `linkParts` resolves inside `root`; otherwise why not. */
export async function symlinkEscape(root: string, linkParts: string[]): Promise<string | undefined> {
  const stack = linkParts.slice(0, -1);
  let pending = (await readlink(join(root, ...linkParts))).split("/");
  let hops = 0;
  while (pending.length > 0) {
    const part = pending.shift() as string;
    if (part === "" || part === ".") continue;
    if (part === "..") {
      if (stack.length === 0) return "resolves outside the release";
      stack.pop();
      continue;
    }
    stack.push(part);
    const target = await linkTargetOf(join(root, ...stack));
    if (target === undefined) continue;
    if (++hops > MAX_HOPS) return "is a symlink loop";
    if (target.startsWith("/")) return `resolves through ${stack.join("/")} to the absolute path ${target}`;
    stack.pop();
    pending = [...target.split("/"), ...pending];
  }
  return undefined;
}

/** The target when `path` is a symlink; undefined for anything else, including a missing path. */
async function linkTargetOf(path: string): Promise<string | undefined> {
  try {
    const st = await lstat(path);
    return st.isSymbolicLink() ? await readlink(path) : undefined;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ENOTDIR") return undefined;
    throw err;
  }
}
