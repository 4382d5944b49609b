/** Builds the ReleaseTree of a staged directory when the source did not hash while extracting. */
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
  return { dir, files, dirs: scan.dirs };
}
