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
import { loopSlices } from "../tree/loop-slices.js";
import {
  emptyStat,
  inlineInteger,
  isDirectoryMode,
  isFileMode,
  isSymlinkMode,
  type LiteStat,
  lstatLite,
} from "../tree/lstat-lite.js";
import { dirLine } from "./release-dir.js";
import { nowMs, StatIndex } from "./stat-index.js";
import type { ReleaseListing } from "./types.js";

export interface ScannedRelease {
  listing: ReleaseListing;
  /** `tree:<sha256>` over names, file and directory modes, contents and symlink targets (dirLine). */
  id: string;
  /** Files whose content had to be read (the rest came from the stat index). */
  hashed: number;
  /**
   * mtime (ms) of each regular file and symlink as scanned, for sources that keep the release's mtimes. Built on
   * first use from the walk's compact list: a map of every file, made on every scan for the few
   * sources with keep_mtimes, was ~10 % of a cold scan's CPU (its entries outlive the walk, so each
   * young-generation collection copied them).
   */
  readonly mtimes: Map<string, number>;
}

/** What the walk found at one path: a directory's mode, a file's listing entry, or a symlink. */
type Walked = number | ReleaseEntry | { type: "link"; target: string; size: number; mode: number };

/** A file the stat index could not vouch for: hashed after the walk, its entry filled in then. */
interface Unknown {
  rel: string;
  st: LiteStat;
  entry: ReleaseEntry;
}

/**
 * The walk's findings, in the order the tree digest is defined in. One pass does the lstat, the
 * stat index lookup and the listing entry of each file (the entry the listing hands on), so a file
 * the index vouches for costs one object and no further loop over a node of its own.
 */
interface Walk {
  index: StatIndex;
  rels: string[];
  found: Walked[];
  /** Beside `rels`: a regular file's mtime (ms), NaN for the rest. Doubles only, so one backing store, no object per file. */
  mtimeList: number[];
  unknown: Unknown[];
  links: string[];
}

/**
 * Scans `root` with the stat index kept in `indexFile` (read, then rewritten when it changed, unless
 * `save` is false: `--check-only`; a function is given the rewrite to make later, or never).
 * `clock` (wall time in ms) decides which files are too recent to trust next time; tests move it.
 */
export async function scanReleaseDir(
  root: string,
  indexFile: string,
  clock: () => number = nowMs,
  save: boolean | ((write: () => Promise<void>) => void) = true,
): Promise<ScannedRelease> {
  const index = await StatIndex.load(indexFile, root, clock());
  const walked: Walk = { index, rels: [], found: [], mtimeList: [], unknown: [], links: [] };
  const base = root.endsWith("/") ? root : `${root}/`;
  // Sliced: a 20,000-file release held the agent's event loop (its "still working" to the hub) for
  // ~1 s on a loaded host in this walk alone.
  await walk(base, "", walked, loopSlices());
  const startedMs = clock();
  // Only what the index could not vouch for is read: small files with synchronous reads (cheaper
  // than the async round trips), large ones 8 at a time.
  const small: Unknown[] = [];
  const large: Unknown[] = [];
  for (const file of walked.unknown) (file.st.size <= SYNC_READ_MAX_BYTES ? small : large).push(file);
  await forEachInSlices(
    small,
    (file) => file.st.size,
    (file) => {
      file.entry.sha256 = hashRegularFileSync(base + file.rel);
      index.record(file.rel, file.st, file.entry.sha256, startedMs);
    },
  );
  await mapLimit(large, 8, async (file) => {
    file.entry.sha256 = await hashFile(join(root, file.rel));
    index.record(file.rel, file.st, file.entry.sha256, startedMs);
  });
  for (const rel of walked.links) {
    const why = await symlinkEscape(root, rel.split("/"));
    if (why !== undefined) throw new VerificationError(join(root, rel), `symlink ${why}`);
  }
  // The index only saves time: a failed write costs the next run a hash, never this run.
  const write = () => index.save(clock()).catch(() => undefined);
  if (typeof save === "function") save(write);
  else if (save) await write();
  return build(walked, small.length + large.length);
}

function build({ rels, found, mtimeList }: Walk, hashed: number): ScannedRelease {
  const digest = createHash("sha256");
  const listing: ReleaseListing = { files: new Map(), dirs: new Map() };
  // The digest's lines, fed in batches: one update per entry costs more than the hashing itself.
  let lines: string[] = [];
  for (let i = 0; i < rels.length; i++) {
    const rel = rels[i] as string;
    const entry = found[i] as Walked;
    const key = JSON.stringify(rel);
    if (typeof entry === "number") {
      lines.push(dirLine(key, entry));
      listing.dirs.set(rel, entry);
    } else if (entry.type === "link") {
      lines.push(`l ${key} ${JSON.stringify(entry.target)}\n`);
      const sha256 = hashSymlinkTarget(entry.target);
      listing.files.set(rel, { type: "symlink", sha256, size: entry.size, mode: entry.mode });
    } else {
      lines.push(`f ${key} ${entry.mode.toString(8)} ${entry.sha256}\n`);
      listing.files.set(rel, entry);
    }
    if (lines.length >= 1024) {
      digest.update(lines.join(""));
      lines = [];
    }
  }
  digest.update(lines.join(""));
  let mtimes: Map<string, number> | undefined;
  return {
    listing,
    id: `tree:${digest.digest("hex")}`,
    hashed,
    get mtimes() {
      mtimes ??= mtimesOf(rels, mtimeList);
      return mtimes;
    },
  };
}

function mtimesOf(rels: readonly string[], mtimeList: readonly number[]): Map<string, number> {
  const out = new Map<string, number>();
  for (let i = 0; i < rels.length; i++) {
    const mtimeMs = mtimeList[i] as number;
    if (!Number.isNaN(mtimeMs)) out.set(rels[i] as string, mtimeMs);
  }
  return out;
}

/** The stat the walk reads each entry into (lstatLite fills it: no object and no boxed numbers per entry). */
const reused = emptyStat();

/**
 * Depth first, names sorted in each directory: the order the tree digest is defined in. It yields
 * only before an entry's lstat: the shared stat object is never held across a yield.
 */
async function walk(
  base: string,
  rel: string,
  out: Walk,
  slice: () => Promise<void> | undefined,
): Promise<void> {
  const names = readdirSync(base + rel).sort();
  for (const name of names) {
    const pause = slice();
    if (pause !== undefined) await pause;
    const relPath = rel === "" ? name : `${rel}/${name}`;
    const path = base + relPath;
    // A name that is not UTF-8 comes back from readdir decoded with U+FFFD (and is then not found);
    // refused as every source refuses it (entry-path.ts says why).
    if (name.includes(NOT_UTF8)) throw new VerificationError(shownName(path), NOT_UTF8_REASON);
    // One stat object for the whole walk: only a file the index cannot vouch for keeps a copy.
    const st = lstatLite(path, true, reused);
    if ((st.mode & 0o6000) !== 0) throw new VerificationError(path, "has the setuid/setgid bit");
    if (isDirectoryMode(st.mode)) {
      out.rels.push(relPath);
      out.found.push((st.mode & 0o777) | 0o700);
      out.mtimeList.push(Number.NaN);
      await walk(base, relPath, out, slice);
    } else if (isFileMode(st.mode)) {
      // Looked up in walk order, the order the index was saved in (StatIndex reads it at a cursor).
      const known = out.index.lookup(relPath, st);
      const entry: ReleaseEntry = {
        type: "file",
        sha256: known ?? "",
        size: inlineInteger(st.size),
        mode: st.mode & 0o777,
      };
      if (known === undefined) out.unknown.push({ rel: relPath, st: { ...st }, entry });
      out.rels.push(relPath);
      out.found.push(entry);
      out.mtimeList.push(st.mtimeMs);
    } else if (isSymlinkMode(st.mode)) {
      const target = readlinkSync(path);
      const lands = symlinkTargetParts(relPath.split("/"), target);
      if (!lands.ok) throw new VerificationError(path, `symlink ${lands.reason}`);
      out.rels.push(relPath);
      out.found.push({ type: "link", target, size: inlineInteger(st.size), mode: st.mode & 0o7777 });
      // A link's own time: keep_mtimes gives it to the staged link as to a file.
      out.mtimeList.push(st.mtimeMs);
      out.links.push(relPath);
    } else {
      throw new VerificationError(
        path,
        "is not a regular file, directory or symlink (device, FIFO or socket)",
      );
    }
  }
}
