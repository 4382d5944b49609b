/**
 * Release directories given as a path (local sources): copied into staging with the same rules as
 * archives (no devices, no setuid, no symlink leaving the release), and fingerprinted by content.
 */
import { createHash } from "node:crypto";
import { chmod, lstat, mkdir, readdir, readlink, rm, symlink, utimes } from "node:fs/promises";
import { join } from "node:path";
import { VerificationError } from "../../shared/errors.js";
import { symlinkTargetParts } from "../archive/entry-path.js";
import { symlinkEscape } from "../archive/symlink-landing.js";
import { sha256File } from "./checksum.js";
import { copyFileHashed } from "./hashed-copy.js";

export interface CopiedRelease {
  files: number;
  bytes: number;
  /** sha256 of every regular file copied, by relative path, from the bytes written. */
  hashes: Map<string, string>;
}

/**
 * Copy `src` into the empty `dest`; on refusal `dest` is left empty. Copies get the time of copying
 * as mtime unless `keepMtimes` (a source's keep_mtimes).
 */
export async function copyReleaseDir(
  src: string,
  dest: string,
  options: { keepMtimes?: boolean } = {},
): Promise<CopiedRelease> {
  const counts: CopiedRelease = { files: 0, bytes: 0, hashes: new Map() };
  const links: string[][] = [];
  try {
    await copyInto(src, dest, [], counts, links, options.keepMtimes === true);
    for (const parts of links) {
      const why = await symlinkEscape(dest, parts);
      if (why !== undefined) throw new VerificationError(join(src, ...parts), `symlink ${why}`);
    }
    return counts;
  } catch (err) {
    for (const name of await readdir(dest)) await rm(join(dest, name), { recursive: true, force: true });
    throw err;
  }
}

async function copyInto(
  srcRoot: string,
  destRoot: string,
  rel: string[],
  counts: CopiedRelease,
  links: string[][],
  keepMtimes: boolean,
): Promise<void> {
  const entries = (await readdir(join(srcRoot, ...rel))).sort();
  for (const name of entries) {
    const parts = [...rel, name];
    const from = join(srcRoot, ...parts);
    const to = join(destRoot, ...parts);
    const st = await lstat(from);
    if ((st.mode & 0o6000) !== 0) throw new VerificationError(from, "has the setuid/setgid bit");
    if (st.isDirectory()) {
      await mkdir(to);
      await copyInto(srcRoot, destRoot, parts, counts, links, keepMtimes);
      await chmod(to, (st.mode & 0o777) | 0o700);
    } else if (st.isFile()) {
      const copied = await copyFileHashed(from, to, st.mode & 0o777);
      if (keepMtimes) await utimes(to, st.atime, st.mtime);
      counts.hashes.set(parts.join("/"), copied.sha256);
      counts.files++;
      counts.bytes += copied.bytes;
    } else if (st.isSymbolicLink()) {
      const target = await readlink(from);
      const lands = symlinkTargetParts(parts, target);
      if (!lands.ok) throw new VerificationError(from, `symlink ${lands.reason}`);
      await symlink(target, to);
      links.push(parts);
    } else {
      throw new VerificationError(
        from,
        "is not a regular file, directory or symlink (device, FIFO or socket)",
      );
    }
  }
}

/**
 * A digest of a tree's names, file modes, contents and symlink targets, in sorted order; two trees with
 * the same digest install the same bytes. Content is hashed, not mtimes: `cp -p` keeps mtimes.
 * `knownHashes` (relative path → sha256, e.g. from copyReleaseDir) spares reading those files again.
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
