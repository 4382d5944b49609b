/**
 * A release directory read in place: every entry lstat'ed (never followed), file contents hashed
 * only when the stat index cannot vouch for them, the same safety rules as archives (no devices,
 * FIFOs, setuid/setgid bits, or symlinks leaving the release), and the tree digest that identifies
 * the release (`treeDigest` in release-dir.ts computes the same value by reading everything).
 *
 * Synchronous walk on purpose (as scan-tree.ts): 20,000 lstat calls through the thread pool cost
 * several times more, and this runs on every check.
 */
import { createHash } from "node:crypto";
import { readdirSync, readlinkSync } from "node:fs";
import { join } from "node:path";
import { VerificationError } from "../../shared/errors.js";
import type { ReleaseEntry } from "../apply/types.js";
import { NOT_UTF8, NOT_UTF8_REASON, shownName, symlinkTargetParts } from "../archive/entry-path.js";
import { symlinkEscape } from "../archive/symlink-landing.js";
import {
  forEachInSlices,
  hashFile,
  hashRegularFileSync,
  hashSymlinkTarget,
  mapLimit,
  SYNC_READ_MAX_BYTES,
} from "../tree/hash-file.js";
import { isDirectoryMode, isFileMode, isSymlinkMode, lstatLite } from "../tree/lstat-lite.js";
import { dirLine } from "./release-dir.js";
import { nowMs, StatIndex } from "./stat-index.js";
import type { ReleaseListing } from "./types.js";

export interface ScannedRelease {
  listing: ReleaseListing;
  /** `tree:<sha256>` over names, file and directory modes, contents and symlink targets (dirLine). */
  id: string;
  /** Files whose content had to be read (the rest came from the stat index). */
  hashed: number;
  /** mtime (ms) of each regular file as scanned, for sources that keep the release's mtimes. */
  mtimes: Map<string, number>;
}

type Node =
  | { kind: "dir"; rel: string; mode: number }
  | { kind: "link"; rel: string; target: string; size: number; mode: number }
  | {
      kind: "file";
      rel: string;
      size: number;
      mode: number;
      mtimeMs: number;
      ctimeMs: number;
      dev: number;
      ino: number;
      sha: string;
    };
type FileNode = Extract<Node, { kind: "file" }>;

/**
 * Scans `root` with the stat index kept in `indexFile` (read, then rewritten when it changed, unless
 * `save` is false: `--check-only`). `clock` (wall time in ms) decides which files are too recent to
 * trust next time; tests move it.
 */
export async function scanReleaseDir(
  root: string,
  indexFile: string,
  clock: () => number = nowMs,
  save = true,
): Promise<ScannedRelease> {
  const index = await StatIndex.load(indexFile, root);
  const nodes: Node[] = [];
  const base = root.endsWith("/") ? root : `${root}/`;
  walk(base, "", nodes);
  const startedMs = clock();
  // Files the index vouches for cost nothing more; only the rest are read: small ones with
  // synchronous reads (cheaper than the async round trips), large ones 8 at a time.
  const small: FileNode[] = [];
  const large: FileNode[] = [];
  for (const node of nodes) {
    if (node.kind !== "file") continue;
    const known = index.lookup(node.rel, node);
    if (known !== undefined) node.sha = known;
    else (node.size <= SYNC_READ_MAX_BYTES ? small : large).push(node);
  }
  await forEachInSlices(
    small,
    (node) => node.size,
    (node) => {
      node.sha = hashRegularFileSync(base + node.rel);
      index.record(node.rel, node, node.sha, startedMs);
    },
  );
  await mapLimit(large, 8, async (node) => {
    node.sha = await hashFile(join(root, node.rel));
    index.record(node.rel, node, node.sha, startedMs);
  });
  for (const node of nodes) {
    if (node.kind !== "link") continue;
    const why = await symlinkEscape(root, node.rel.split("/"));
    if (why !== undefined) throw new VerificationError(join(root, node.rel), `symlink ${why}`);
  }
  if (save) await index.save().catch(() => undefined);
  return build(nodes, small.length + large.length);
}

function build(nodes: readonly Node[], hashed: number): ScannedRelease {
  const digest = createHash("sha256");
  const listing: ReleaseListing = { files: new Map(), dirs: new Map() };
  const mtimes = new Map<string, number>();
  // The digest's lines, fed in batches: one update per entry costs more than the hashing itself.
  let lines: string[] = [];
  for (const node of nodes) {
    const key = JSON.stringify(node.rel);
    if (node.kind === "dir") {
      lines.push(dirLine(key, node.mode));
      listing.dirs.set(node.rel, node.mode);
    } else if (node.kind === "link") {
      lines.push(`l ${key} ${JSON.stringify(node.target)}\n`);
      const sha256 = hashSymlinkTarget(node.target);
      listing.files.set(node.rel, { type: "symlink", sha256, size: node.size, mode: node.mode });
    } else {
      lines.push(`f ${key} ${node.mode.toString(8)} ${node.sha}\n`);
      const entry: ReleaseEntry = { type: "file", sha256: node.sha, size: node.size, mode: node.mode };
      listing.files.set(node.rel, entry);
      mtimes.set(node.rel, node.mtimeMs);
    }
    if (lines.length >= 1024) {
      digest.update(lines.join(""));
      lines = [];
    }
  }
  digest.update(lines.join(""));
  return { listing, id: `tree:${digest.digest("hex")}`, hashed, mtimes };
}

/** Depth first, names sorted in each directory: the order the tree digest is defined in. */
function walk(base: string, rel: string, out: Node[]): void {
  const names = readdirSync(base + rel).sort();
  for (const name of names) {
    const relPath = rel === "" ? name : `${rel}/${name}`;
    const path = base + relPath;
    // A name that is not UTF-8 comes back from readdir decoded with U+FFFD (and is then not found);
    // refused as every source refuses it (entry-path.ts says why).
    if (name.includes(NOT_UTF8)) throw new VerificationError(shownName(path), NOT_UTF8_REASON);
    const st = lstatLite(path, true);
    if ((st.mode & 0o6000) !== 0) throw new VerificationError(path, "has the setuid/setgid bit");
    if (isDirectoryMode(st.mode)) {
      out.push({ kind: "dir", rel: relPath, mode: (st.mode & 0o777) | 0o700 });
      walk(base, relPath, out);
    } else if (isFileMode(st.mode)) {
      out.push({
        kind: "file",
        rel: relPath,
        size: st.size,
        mode: st.mode & 0o777,
        mtimeMs: st.mtimeMs,
        ctimeMs: st.ctimeMs,
        dev: st.dev,
        ino: st.ino,
        sha: "",
      });
    } else if (isSymlinkMode(st.mode)) {
      const target = readlinkSync(path);
      const lands = symlinkTargetParts(relPath.split("/"), target);
      if (!lands.ok) throw new VerificationError(path, `symlink ${lands.reason}`);
      out.push({ kind: "link", rel: relPath, target, size: st.size, mode: st.mode & 0o7777 });
    } else {
      throw new VerificationError(
        path,
        "is not a regular file, directory or symlink (device, FIFO or socket)",
      );
    }
  }
}
