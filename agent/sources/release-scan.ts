/**
 * A release directory read in place: every entry lstat'ed (never followed), file contents hashed
 * only when the stat index cannot vouch for them, the same safety rules as archives (no devices,
 * FIFOs, setuid/setgid bits, or symlinks leaving the release), and the tree digest that identifies
 * the release (`treeDigest` in release-dir.ts computes the same value by reading everything).
 */
import { createHash } from "node:crypto";
import { type BigIntStats, type Dirent, lstatSync, readdirSync, readlinkSync } from "node:fs";
import { join } from "node:path";
import { VerificationError } from "../../shared/errors.js";
import type { ReleaseEntry } from "../apply/types.js";
import { symlinkTargetParts } from "../archive/entry-path.js";
import { symlinkEscape } from "../archive/symlink-landing.js";
import { hashFile, hashSymlinkTarget, mapLimit } from "../tree/hash-file.js";
import { type FileStamp, nowNs, StatIndex, stampOf } from "./stat-index.js";
import type { ReleaseListing } from "./types.js";

export interface ScannedRelease {
  listing: ReleaseListing;
  /** `tree:<sha256>` over names, file modes, contents and symlink targets. */
  id: string;
  /** Files whose content had to be read (the rest came from the stat index). */
  hashed: number;
  /** Stamps of the regular files, to notice a file that changes between scan and copy. */
  stamps: Map<string, FileStamp>;
}

type Node =
  | { kind: "dir"; rel: string; mode: number }
  | { kind: "link"; rel: string; target: string; st: BigIntStats }
  | { kind: "file"; rel: string; st: BigIntStats; stamp: FileStamp };

/**
 * Scans `root` with the stat index kept in `indexFile` (read, then rewritten). `clock` (wall time
 * in ns) decides which files are too recent to trust next time; tests move it.
 */
export async function scanReleaseDir(
  root: string,
  indexFile: string,
  clock: () => bigint = nowNs,
): Promise<ScannedRelease> {
  const index = await StatIndex.load(indexFile, root);
  const nodes: Node[] = [];
  walk(root, [], nodes);
  const startedNs = clock();
  const files = nodes.filter((n): n is Extract<Node, { kind: "file" }> => n.kind === "file");
  let hashed = 0;
  const shas = await mapLimit(files, 8, async (node) => {
    const known = index.lookup(node.rel, node.stamp);
    if (known !== undefined) {
      index.record(node.rel, node.stamp, known, startedNs);
      return known;
    }
    hashed++;
    const sha = await hashFile(join(root, node.rel));
    index.record(node.rel, node.stamp, sha, startedNs);
    return sha;
  });
  for (const node of nodes) {
    if (node.kind !== "link") continue;
    const why = await symlinkEscape(root, node.rel.split("/"));
    if (why !== undefined) throw new VerificationError(join(root, node.rel), `symlink ${why}`);
  }
  await index.save().catch(() => undefined);
  return build(nodes, new Map(files.map((f, i) => [f.rel, shas[i] ?? ""])), hashed);
}

function build(nodes: readonly Node[], shas: ReadonlyMap<string, string>, hashed: number): ScannedRelease {
  const digest = createHash("sha256");
  const listing: ReleaseListing = { files: new Map(), dirs: new Map() };
  const stamps = new Map<string, FileStamp>();
  for (const node of nodes) {
    const key = JSON.stringify(node.rel);
    if (node.kind === "dir") {
      // Directory modes are left out of the digest: staging forces owner rwx.
      digest.update(`d ${key}\n`);
      listing.dirs.set(node.rel, node.mode);
    } else if (node.kind === "link") {
      digest.update(`l ${key} ${JSON.stringify(node.target)}\n`);
      listing.files.set(node.rel, entry("symlink", hashSymlinkTarget(node.target), node.st));
    } else {
      const sha = shas.get(node.rel) ?? "";
      const mode = Number(node.st.mode) & 0o777;
      digest.update(`f ${key} ${mode.toString(8)} ${sha}\n`);
      listing.files.set(node.rel, entry("file", sha, node.st));
      stamps.set(node.rel, node.stamp);
    }
  }
  return { listing, id: `tree:${digest.digest("hex")}`, hashed, stamps };
}

function entry(type: ReleaseEntry["type"], sha256: string, st: BigIntStats): ReleaseEntry {
  const bits = type === "file" ? 0o777 : 0o7777;
  return { type, sha256, size: Number(st.size), mode: Number(st.mode) & bits };
}

/** Depth first, names sorted in each directory: the order the tree digest is defined in. */
function walk(root: string, rel: string[], out: Node[]): void {
  const names = readdirSync(join(root, ...rel), { withFileTypes: true })
    .map((d: Dirent) => d.name)
    .sort();
  for (const name of names) {
    const parts = [...rel, name];
    const path = join(root, ...parts);
    const st = lstatSync(path, { bigint: true });
    const relPath = parts.join("/");
    if ((st.mode & 0o6000n) !== 0n) throw new VerificationError(path, "has the setuid/setgid bit");
    if (st.isDirectory()) {
      out.push({ kind: "dir", rel: relPath, mode: (Number(st.mode) & 0o777) | 0o700 });
      walk(root, parts, out);
    } else if (st.isFile()) {
      out.push({ kind: "file", rel: relPath, st, stamp: stampOf(st) });
    } else if (st.isSymbolicLink()) {
      const target = readlinkSync(path);
      const lands = symlinkTargetParts(parts, target);
      if (!lands.ok) throw new VerificationError(path, `symlink ${lands.reason}`);
      out.push({ kind: "link", rel: relPath, target, st });
    } else {
      throw new VerificationError(
        path,
        "is not a regular file, directory or symlink (device, FIFO or socket)",
      );
    }
  }
}
