/** Real trees on disk for the apply tests: write a spec, snapshot every file's bytes, mode and type. */
import { createHash } from "node:crypto";
import {
  chmod,
  lstat,
  mkdir,
  mkdtemp,
  readdir,
  readFile,
  readlink,
  symlink,
  writeFile,
} from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import type { ReleaseTree } from "../../../agent/apply/types.js";
import { describeRelease } from "../../../agent/tree/release-tree.js";

export type FileSpec = string | { content: string; mode?: number } | { symlink: string };
export type TreeSpec = Record<string, FileSpec>;

export async function tempDir(prefix: string, base = tmpdir()): Promise<string> {
  return mkdtemp(join(base, `ship-${prefix}-`));
}

export async function writeTree(root: string, spec: TreeSpec): Promise<void> {
  await mkdir(root, { recursive: true });
  for (const [rel, file] of Object.entries(spec)) {
    const path = join(root, rel);
    await mkdir(dirname(path), { recursive: true });
    if (typeof file === "string") await writeFile(path, file);
    else if ("symlink" in file) await symlink(file.symlink, path);
    else {
      await writeFile(path, file.content);
      if (file.mode !== undefined) await chmod(path, file.mode);
    }
  }
}

/** Every entry under root: "dir 755", "file 644 <sha256>", "link <target>"; the byte-for-byte picture. */
export async function snapshot(root: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const walk = async (rel: string): Promise<void> => {
    for (const name of (await readdir(join(root, rel))).sort()) {
      const childRel = rel === "" ? name : `${rel}/${name}`;
      const path = join(root, childRel);
      const stat = await lstat(path);
      const mode = (stat.mode & 0o7777).toString(8);
      if (stat.isSymbolicLink()) out[childRel] = `link ${await readlink(path)}`;
      else if (stat.isDirectory()) {
        out[childRel] = `dir ${mode}`;
        await walk(childRel);
      } else
        out[childRel] = `file ${mode} ${createHash("sha256")
          .update(await readFile(path))
          .digest("hex")}`;
    }
  };
  await walk("");
  return out;
}

/**
 * Writes a release tree into a fresh staging dir (consumed by an apply) under `base` and hashes it;
 * `dirModes` sets the modes of some of its directories.
 */
export async function stage(
  base: string,
  spec: TreeSpec,
  version: string,
  dirModes: Record<string, number> = {},
): Promise<ReleaseTree> {
  const dir = await stageDir(base, spec, version, dirModes);
  return describeRelease(dir);
}

/** The staging dir of `stage` without describing it (a child process describes it). */
export async function stageDir(
  base: string,
  spec: TreeSpec,
  version: string,
  dirModes: Record<string, number> = {},
): Promise<string> {
  const dir = await mkdtemp(join(base, `release-${version}-`));
  await writeTree(dir, spec);
  for (const [rel, mode] of Object.entries(dirModes)) await chmod(join(dir, rel), mode);
  return dir;
}
