/**
 * App files with more than one name (hard links). An update never writes into the app's file: it
 * renames a new one over the name (never a half-written file, and the backup keeps the old inode).
 * The other names go on naming the old inode, so they keep the old content, where the seed's `cp`
 * over the app wrote through the link to every name. ship keeps the rename and says which names
 * were split off, as rsync without -H or dpkg replacing a conffile would leave them.
 */
import type { FileOp } from "./file-ops.js";
import type { TreeScan } from "./types.js";

/** A replaced app file whose other names keep its old content. */
export interface SplitLink {
  /** The app's name that got the new file. */
  file: string;
  /** How many names the file had before the update. */
  names: number;
  /** Other names in the app that this update left as they were (they keep the old content). */
  inApp: string[];
  /** Names outside the app's scan (elsewhere on the filesystem, or in a protected directory). */
  elsewhere: number;
}

/**
 * The app files the operations replace by rename whose other names keep the old content. Names the
 * update replaces or removes too are not "kept": each of them gets its own new file or is gone. Nor
 * is a name the release ships with the bytes it holds (`current`): its old content is the release's
 * (an archive's hard-linked pair of which the new release changes one).
 */
export function splitLinks(
  ops: readonly FileOp[],
  scan: TreeScan,
  current: ReadonlySet<string>,
): SplitLink[] {
  const linked = scan.linked;
  if (linked === undefined) return [];
  const touched = new Set<string>(current);
  for (const op of ops) if (op.op === "replace" || op.op === "remove") touched.add(op.rel);
  const byInode = new Map<string, string[]>();
  for (const [rel, file] of linked) {
    const key = `${file.dev}:${file.ino}`;
    const names = byInode.get(key);
    if (names === undefined) byInode.set(key, [rel]);
    else names.push(rel);
  }
  const split: SplitLink[] = [];
  for (const op of ops) {
    if (op.op !== "replace") continue;
    const file = linked.get(op.rel);
    if (file === undefined) continue;
    const inAppNames = byInode.get(`${file.dev}:${file.ino}`) ?? [op.rel];
    const inApp = inAppNames.filter((rel) => !touched.has(rel));
    const elsewhere = Math.max(0, file.nlink - inAppNames.length);
    if (inApp.length + elsewhere > 0) split.push({ file: op.rel, names: file.nlink, inApp, elsewhere });
  }
  return split;
}

/** One file's names in words: "x.conf had 2 names (1 elsewhere)". */
export function splitLinkText(link: SplitLink, shown: (rel: string) => string = (rel) => rel): string {
  const others: string[] = [];
  if (link.inApp.length > 0) others.push(link.inApp.map(shown).join(", "));
  if (link.elsewhere > 0) others.push(`${link.elsewhere} elsewhere`);
  return `${shown(link.file)} had ${link.names} names (${others.join("; ")})`;
}
