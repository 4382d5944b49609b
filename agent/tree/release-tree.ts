/** Builds the ReleaseTree of a staged directory when the source did not hash while extracting. */
import { chmod } from "node:fs/promises";
import { join } from "node:path";
import { MANIFEST_FILENAME } from "../../shared/manifest/schema.js";
import type { ReleaseEntry, ReleaseTree } from "../apply/types.js";
import { hashEntry, mapLimit } from "./hash-file.js";
import { scanTree } from "./scan-tree.js";

export interface DescribeReleaseOptions {
  /** Hashes the source already computed (relative path → sha256); only the others are hashed. */
  knownHashes?: ReadonlyMap<string, string>;
  /**
   * Release-root files that are metadata, not app content. Default: the manifest, which the
   * pipeline keeps in the app's state dir rather than in the app.
   */
  exclude?: readonly string[];
  /**
   * Mode bits cleared before install (the manifest's permissions.umask). A staged file whose mode
   * loses bits is chmodded here, since staged files are renamed into the app as they are.
   */
  umask?: number;
}

export async function describeRelease(
  dir: string,
  options: DescribeReleaseOptions = {},
): Promise<ReleaseTree> {
  const exclude = new Set(options.exclude ?? [MANIFEST_FILENAME]);
  const scan = await scanTree(dir, { skipFile: (rel) => exclude.has(rel) });
  const rels = [...scan.files.keys()].sort();
  // Known hashes only ever stand for regular files: a symlink is hashed by its target, cheaply.
  const known = (rel: string) =>
    scan.files.get(rel)?.type === "file" ? options.knownHashes?.get(rel) : undefined;
  const hashes = await mapLimit(rels, 8, async (rel) => known(rel) ?? hashEntry(join(dir, rel)));
  const files = new Map<string, ReleaseEntry>();
  rels.forEach((rel, i) => {
    const stat = scan.files.get(rel);
    const sha256 = hashes[i];
    if (stat === undefined || sha256 === undefined) return;
    files.set(rel, { type: stat.type, sha256, size: stat.size, mode: stat.mode });
  });
  return narrowModes({ dir, files, dirs: scan.dirs }, options.umask ?? 0, () => true);
}

/**
 * The ReleaseTree of a partly staged release from the source's listing of the whole release
 * (the manifest left out, as describeRelease does); only the staged files are on disk.
 */
export async function listedRelease(
  dir: string,
  listing: { files: ReadonlyMap<string, ReleaseEntry>; dirs: ReadonlyMap<string, number> },
  options: Pick<DescribeReleaseOptions, "umask"> = {},
): Promise<ReleaseTree> {
  const files = new Map(listing.files);
  files.delete(MANIFEST_FILENAME);
  // What is staged is usually a small part of the listing: one walk of the staging directory, not a
  // stat per listed file whose mode the umask narrows (a git listing's 664: every file, ~60 ms).
  const present = modeChangesAny(files, options.umask ?? 0) ? (await scanTree(dir)).files : new Map();
  const staged = (rel: string) => present.get(rel)?.type === "file";
  return narrowModes({ dir, files, dirs: new Map(listing.dirs) }, options.umask ?? 0, staged);
}

function modeChangesAny(files: ReadonlyMap<string, ReleaseEntry>, umask: number): boolean {
  for (const entry of files.values())
    if (entry.type === "file" && installedFileMode(entry.mode, umask) !== entry.mode) return true;
  return false;
}

/**
 * A released file's mode as installed: the umask's bits cleared, its owner's read bit set. An
 * archive entry of mode 000 (or a write-only 0200) installed as such could never be read again
 * by a ship not run as root, so every later update failed hashing it, until a chmod by hand.
 */
function installedFileMode(mode: number, umask: number): number {
  return (mode & ~umask) | 0o400;
}

/** What lstat gives every symlink on Linux. */
const SYMLINK_MODE = 0o777;

/**
 * Applies the manifest's umask (and the owner's read bit) to every mode; staged regular files
 * whose mode so changes are chmodded, since they are renamed into the app as they are.
 */
async function narrowModes(
  tree: ReleaseTree,
  umask: number,
  staged: (rel: string) => boolean,
): Promise<ReleaseTree> {
  const narrowed: [string, number][] = [];
  for (const [rel, entry] of tree.files) {
    // A symlink has no mode of its own on Linux (lstat says 0777, chmod follows the link): one
    // narrowed to 0755 never matched the app's, so every update replaced every symlink.
    const mode = entry.type === "symlink" ? SYMLINK_MODE : installedFileMode(entry.mode, umask);
    if (mode === entry.mode) continue;
    if (entry.type === "file" && staged(rel)) narrowed.push([rel, mode]);
    tree.files.set(rel, { ...entry, mode });
  }
  await mapLimit(narrowed, 8, ([rel, mode]) => chmod(join(tree.dir, rel), mode));
  const dirs = new Map([...(tree.dirs ?? [])].map(([rel, mode]) => [rel, mode & ~umask] as const));
  return { ...tree, dirs };
}
