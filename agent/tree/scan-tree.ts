/**
 * Walks a directory with lstat only: never reads file contents, never follows a symlink (a symlinked
 * directory is reported as a symlink entry, so nothing outside the root is ever visited).
 */
import type { Dirent } from "node:fs";
import { lstat, readdir } from "node:fs/promises";
import { join } from "node:path";
import type { TreeEntry, TreeScan } from "../apply/types.js";

export interface ScanOptions {
  /** Directories (relative) to report but never enter: protected directories are never read. */
  skipDir?: (rel: string) => boolean;
  /** Files (relative) to leave out of the result. */
  skipFile?: (rel: string) => boolean;
}

/** Scans `root`; a missing root is an empty tree (a first install into a new directory). */
export async function scanTree(root: string, options: ScanOptions = {}): Promise<TreeScan> {
  const scan: TreeScan = { files: new Map(), dirs: new Map() };
  let pending = [""];
  while (pending.length > 0) {
    const next: string[][] = await Promise.all(pending.map((rel) => scanDir(root, rel, scan, options)));
    pending = next.flat();
  }
  return scan;
}

async function scanDir(root: string, rel: string, scan: TreeScan, options: ScanOptions): Promise<string[]> {
  let entries: Dirent[];
  try {
    entries = await readdir(join(root, rel), { withFileTypes: true });
  } catch (error) {
    if (rel === "" && (error as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw error;
  }
  const subdirs: string[] = [];
  await Promise.all(
    entries.map(async (dirent) => {
      const childRel = rel === "" ? dirent.name : `${rel}/${dirent.name}`;
      const stat = await lstat(join(root, childRel));
      if (stat.isDirectory()) {
        scan.dirs.set(childRel, stat.mode & 0o7777);
        if (!options.skipDir?.(childRel)) subdirs.push(childRel);
        return;
      }
      if (!stat.isFile() && !stat.isSymbolicLink()) return; // sockets, fifos, devices: not app content
      if (options.skipFile?.(childRel)) return;
      const entry: TreeEntry = {
        type: stat.isSymbolicLink() ? "symlink" : "file",
        size: stat.size,
        mode: stat.mode & 0o7777,
        mtimeMs: stat.mtimeMs,
        ino: stat.ino,
      };
      scan.files.set(childRel, entry);
    }),
  );
  return subdirs;
}
