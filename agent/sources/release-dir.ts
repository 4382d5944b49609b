/**
 * The content digest of a release tree, computed by reading everything: the reference the local
 * source's stat-index scan (release-scan.ts) must agree with, used by its tests. Local releases are
 * staged by stage-changed.ts.
 */
import { createHash } from "node:crypto";
import { lstat, readdir, readlink } from "node:fs/promises";
import { join } from "node:path";
import { sha256File } from "./checksum.js";

/**
 * A directory's line in the digest. Its mode is in it only when it is not the usual 755, so that
 * a release differing from the installed one only in a directory's mode (`chmod 750 conf`) is an
 * update, while the id of every release whose directories are all 755 stays what it was before
 * directory modes counted: upgrading ship does not make every host install its release again.
 * Owner rwx is always added (staging needs it; release-scan.ts reads modes the same way).
 */
export function dirLine(key: string, mode: number): string {
  const bits = mode & 0o777;
  return bits === 0o755 ? `d ${key}\n` : `d ${key} ${bits.toString(8)}\n`;
}

/**
 * A digest of a tree's names, file and directory modes (dirLine), contents and symlink targets, in sorted order; two trees with
 * the same digest install the same bytes. Content is hashed, not mtimes: `cp -p` keeps mtimes.
 * `knownHashes` (relative path → sha256) spares reading those files again.
 */
export async function treeDigest(root: string, knownHashes?: ReadonlyMap<string, string>): Promise<string> {
  const hash = createHash("sha256");
  const walk = async (rel: string[]): Promise<void> => {
    for (const name of (await readdir(join(root, ...rel))).sort()) {
      const parts = [...rel, name];
      const path = join(root, ...parts);
      const st = await lstat(path);
      const key = JSON.stringify(parts.join("/"));
      if (st.isDirectory()) {
        hash.update(dirLine(key, (st.mode & 0o777) | 0o700));
        await walk(parts);
      } else if (st.isSymbolicLink()) {
        hash.update(`l ${key} ${JSON.stringify(await readlink(path))}\n`);
      } else {
        const sha256 = knownHashes?.get(parts.join("/")) ?? (await sha256File(path));
        hash.update(`f ${key} ${(st.mode & 0o777).toString(8)} ${sha256}\n`);
      }
    }
  };
  await walk([]);
  return hash.digest("hex");
}
