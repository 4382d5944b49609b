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
 * A digest of a tree's names, file modes, contents and symlink targets, in sorted order; two trees with
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
        // Directory modes are left out: staging forces owner rwx, and a digest must not change by copying.
        hash.update(`d ${key}\n`);
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
