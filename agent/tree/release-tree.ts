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
  const umask = options.umask ?? 0;
  const files = new Map<string, ReleaseEntry>();
  const narrowed: [string, number][] = [];
  rels.forEach((rel, i) => {
    const stat = scan.files.get(rel);
    const sha256 = hashes[i];
    if (stat === undefined || sha256 === undefined) return;
    const mode = stat.mode & ~umask;
    if (mode !== stat.mode && stat.type === "file") narrowed.push([rel, mode]);
    files.set(rel, { type: stat.type, sha256, size: stat.size, mode });
  });
  await mapLimit(narrowed, 8, ([rel, mode]) => chmod(join(dir, rel), mode));
  const dirs = new Map([...scan.dirs].map(([rel, mode]) => [rel, mode & ~umask] as const));
  return { dir, files, dirs };
}
