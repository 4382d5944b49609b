/**
 * Walks a directory with lstat only: never reads file contents, never follows a symlink (a symlinked
 * directory is reported as a symlink entry, so nothing outside the root is ever visited).
 *
 * Synchronous on purpose: tens of thousands of lstat calls through the libuv thread pool cost 3-4x
 * more than direct calls (measured on 20,000 files), and this scan is on every update's critical path.
 * It yields to the event loop every LOOP_SLICE_MS all the same (loop-slices.ts), so the agent's
 * signs of life to the hub go out while it walks.
 */
import { readdirSync } from "node:fs";
import type { TreeScan } from "../apply/types.js";
import { loopSlices } from "./loop-slices.js";
import {
  emptyStat,
  inlineInteger,
  isDirectoryMode,
  isFileMode,
  isSymlinkMode,
  lstatLite,
  specialKind,
} from "./lstat-lite.js";

export interface ScanOptions {
  /** Directories (relative) to report but never enter: protected directories are never read. */
  skipDir?: (rel: string) => boolean;
  /** Files (relative) to leave out of the result. */
  skipFile?: (rel: string) => boolean;
}

/** What `special` says of an entry whose name is not UTF-8, as "a socket" of a socket. */
const NOT_UTF8 = "an entry whose name is not UTF-8 (rename it: convmv -f latin1 -t utf8)";

/** The stat the walk reads each entry into: its fields are copied out, so no object per entry is left behind. */
const reused = emptyStat();

/** Scans `root`; a missing root is an empty tree (a first install into a new directory). */
export async function scanTree(root: string, options: ScanOptions = {}): Promise<TreeScan> {
  const { skipDir, skipFile } = options;
  const scan: TreeScan = { files: new Map(), dirs: new Map() };
  // Concatenated, not join()ed: normalising 20,000 paths is a measurable part of the scan.
  const base = root.endsWith("/") ? root : `${root}/`;
  const pending = [""];
  const slice = loopSlices();
  for (let rel = pending.pop(); rel !== undefined; rel = pending.pop()) {
    // Names only: every entry is lstat'ed anyway, so a Dirent per entry would be garbage.
    let names: string[];
    try {
      names = readdirSync(base + rel);
    } catch (error) {
      if (rel === "" && (error as NodeJS.ErrnoException).code === "ENOENT") return scan;
      throw error;
    }
    // One "dir/" per directory: joined per entry, each path held a string of its own for it.
    const prefix = rel === "" ? "" : `${rel}/`;
    for (const name of names) {
      const pause = slice();
      if (pause !== undefined) await pause;
      const childRel = prefix + name;
      const stat = lstatLite(base + childRel, false, reused);
      if (stat === undefined) {
        // A name that is not UTF-8 (Latin-1 `caf\xe9`) reads as U+FFFD and names no entry: it is
        // there all the same, and keeps its directory from counting as empty (a directory the
        // release turns into a file was "emptied", and the apply failed on it after the hooks).
        if (name.includes("\uFFFD")) {
          scan.special ??= new Map();
          scan.special.set(childRel, NOT_UTF8);
        }
        continue; // deleted while we walked
      }
      if (isDirectoryMode(stat.mode)) {
        scan.dirs.set(childRel, stat.mode & 0o7777);
        if (!skipDir?.(childRel)) pending.push(childRel);
        continue;
      }
      const symlink = isSymlinkMode(stat.mode);
      if (!symlink && !isFileMode(stat.mode)) {
        // Sockets, FIFOs, devices: not app content, but nothing may be written over them.
        const special = specialKind(stat.mode);
        if (special !== undefined) {
          scan.special ??= new Map();
          scan.special.set(childRel, special);
        }
        continue;
      }
      // Copied out before any callback runs: `stat` is the walk's one reused object.
      const entry = {
        type: symlink ? ("symlink" as const) : ("file" as const),
        // Unboxed where they fit: see inlineInteger.
        size: inlineInteger(stat.size),
        mode: stat.mode & 0o7777,
        mtimeMs: stat.mtimeMs,
        ino: inlineInteger(stat.ino),
        ctimeMs: stat.ctimeMs,
      };
      if (skipFile?.(childRel)) continue;
      scan.files.set(childRel, entry);
      if (!symlink && stat.nlink > 1) {
        scan.linked ??= new Map();
        scan.linked.set(childRel, { dev: stat.dev, ino: stat.ino, nlink: stat.nlink });
      }
    }
  }
  return scan;
}
