/**
 * A git release staged by what changed between the installed commit and the target: `git diff-tree`
 * names the changed paths (and the `.gitattributes` files among them), `git ls-tree` lists the whole target tree (paths, modes, blob ids; not
 * sizes: `-l` makes git open every blob), and only the blobs that changed (or that the install index
 * cannot vouch for) are written through `git cat-file --batch` (git-batch.ts), which also gives
 * their sizes. Modes follow `git archive` (664/775), so both paths give one listing.
 */
import { VerificationError } from "../../shared/errors.js";
import { MANIFEST_FILENAME } from "../../shared/manifest/schema.js";
import type { ReleaseEntry } from "../apply/types.js";
import { NOT_UTF8, NOT_UTF8_REASON, shownName } from "../archive/entry-path.js";
import { isAttributesFile } from "./git-attributes.js";
import type { RunGit } from "./git-run.js";
import type { ReleaseListing } from "./types.js";

/** git's mode of a symlink's tree entry. */
const SYMLINK_MODE = "120000";

/** One blob of a tree: `git ls-tree -r` output. */
export interface TreeBlob {
  path: string;
  kind: "file" | "exec" | "symlink";
  blob: string;
  /** Bytes, once `writeBlobs` (git-batch.ts) wrote it (ls-tree is not asked: that would read every blob). */
  size?: number;
}

/** A release of a git source: the commit, and the ref or tag it was chosen by. */
export interface GitTarget {
  commit: string;
  label: string;
}

/** How a refusal names a git release (`origin/main (1c412830434b)`), whichever path staged it. */
export function releaseName({ label, commit }: GitTarget): string {
  return `${label} (${commit.slice(0, 12)})`;
}

/**
 * How a refusal names one path of that release, as the archive reader names an entry of an export
 * (`origin/main (1c412830434b): entry "big.bin"`): the path alone did not say which commit holds it.
 */
export function entryOf(release: string | undefined, path: string): string {
  return release === undefined ? path : `${release}: entry ${JSON.stringify(path)}`;
}

/**
 * Every blob of `commit`. Submodules (gitlinks) have no blob: their paths are pushed onto
 * `submodules` (`git archive` writes each as an empty directory, which ship, installing no empty
 * directories, leaves out as well). `release` names the commit in a refused path.
 */
export async function listTree(
  git: RunGit,
  commit: string,
  submodules: string[] = [],
  release?: string,
): Promise<Map<string, TreeBlob>> {
  const out = new Map<string, TreeBlob>();
  const text = await git(["ls-tree", "-r", "-z", "--full-tree", commit]);
  // "<mode> SP <type> SP <object> TAB <path> NUL", read by offsets: split() made an array per
  // record and one per header, twice the parse's CPU on a 20,000-entry tree.
  for (let at = 0; at < text.length; ) {
    let end = text.indexOf("\0", at);
    if (end < 0) end = text.length;
    if (end === at) {
      at++;
      continue;
    }
    const typeAt = text.indexOf(" ", at) + 1;
    const blobAt = text.indexOf(" ", typeAt) + 1;
    const tab = text.indexOf("\t", blobAt);
    if (typeAt === 0 || blobAt === 0 || tab < 0 || tab > end)
      throw new Error(`git ls-tree: unexpected output ${JSON.stringify(text.slice(at, end))}`);
    const mode = text.slice(at, typeAt - 1);
    const type = text.slice(typeAt, blobAt - 1);
    const path = text.slice(tab + 1, end);
    at = end + 1;
    if (type === "commit") submodules.push(path);
    if (type !== "blob") continue;
    const kind = mode === SYMLINK_MODE ? "symlink" : mode === "100755" ? "exec" : "file";
    checkPath(path, release);
    out.set(path, { path, kind, blob: text.slice(blobAt, tab) });
  }
  return out;
}

/** What changed between two commits, from one `git diff-tree`. */
export interface TreeDiff {
  /** Paths whose blob or mode differs (added, modified, type-changed). */
  changed: Set<string>;
  /**
   * `.gitattributes` files that differ, deletions included (a deleted one changes what the
   * unchanged files export as, too).
   */
  attributeFiles: string[];
  /**
   * Paths that are a symlink in either commit (added, changed, deleted, or replaced by a file or
   * directory): where a symlink lands depends on every other symlink on its way, so once one of
   * them differs an unchanged symlink may land elsewhere (`b -> p/../a/..` leaves the release once
   * the symlink `p -> x/y` becomes a directory and `a -> .` stays).
   */
  symlinks: string[];
}

/** Rejects when git cannot diff them (the installed commit is not in the clone). */
export async function diffTree(git: RunGit, from: string, to: string): Promise<TreeDiff> {
  const raw = await git(["diff-tree", "-r", "-z", "--no-renames", "--raw", from, to]);
  const fields = raw.split("\0");
  const changed = new Set<string>();
  const attributeFiles: string[] = [];
  const symlinks: string[] = [];
  for (let i = 0; i + 1 < fields.length; i += 2) {
    // ":<old mode> <new mode> <old blob> <new blob> <status>"
    const header = (fields[i] ?? "").split(" ");
    const status = header.at(-1) ?? "";
    const path = fields[i + 1] ?? "";
    if (path === "") continue;
    if (isAttributesFile(path)) attributeFiles.push(path);
    if (header[0] === `:${SYMLINK_MODE}` || header[1] === SYMLINK_MODE) symlinks.push(path);
    if (status !== "D") changed.add(path);
  }
  return { changed, attributeFiles, symlinks };
}

/** The ReleaseEntry mode `git archive` + extraction would give this blob. */
export function modeOf(kind: TreeBlob["kind"]): number {
  return kind === "symlink" ? 0o777 : kind === "exec" ? 0o775 : 0o664;
}

/** Directories of the tree (as `git archive` writes them, 775), for the planner's new directories. */
export function treeDirs(blobs: Iterable<string>): Map<string, number> {
  const dirs = new Map<string, number>();
  for (const path of blobs) {
    // Up from the file's directory; a directory already listed has its ancestors listed too.
    for (let slash = path.lastIndexOf("/"); slash > 0; ) {
      const dir = path.slice(0, slash);
      if (dirs.has(dir)) break;
      dirs.set(dir, 0o775);
      slash = dir.lastIndexOf("/");
    }
  }
  return dirs;
}

/** The listing of `tree`; `known` gives sha256 and size of each blob `writeBlobs` did not write. */
export function listingOf(
  tree: ReadonlyMap<string, TreeBlob>,
  written: ReadonlyMap<string, string>,
  known: (rel: string) => { sha256: string; size: number } | undefined,
): ReleaseListing {
  const files = new Map<string, ReleaseEntry>();
  for (const [path, blob] of tree) {
    const sha256 = written.get(path);
    const facts = sha256 !== undefined && blob.size !== undefined ? { sha256, size: blob.size } : known(path);
    if (facts === undefined) throw new Error(`${path}: neither written nor known from the install index`);
    files.set(path, {
      type: blob.kind === "symlink" ? "symlink" : "file",
      sha256: facts.sha256,
      size: facts.size,
      mode: modeOf(blob.kind),
    });
  }
  return { files, dirs: treeDirs(tree.keys()) };
}

/** Git refuses such paths itself; a crafted tree is refused here too. */
/** A leading "/", or an empty, "." or ".." segment anywhere (one regex: asked of every tree entry). */
const UNSAFE_PATH = /^\/|(^|\/)\.{0,2}(\/|$)/;

function checkPath(path: string, release: string | undefined): void {
  if (UNSAFE_PATH.test(path)) {
    throw new VerificationError(entryOf(release, path), "is not a safe relative path");
  }
  if (path.includes(NOT_UTF8))
    throw new VerificationError(entryOf(release, shownName(path)), NOT_UTF8_REASON);
}

/**
 * The directory a whole export strips (strip-top-dir.ts): the tree's root holds that one directory
 * and nothing else (a submodule counts: the export holds it as a directory), with the manifest in
 * it. Undefined when the tree's paths are the release's paths.
 */
export function strippedTopDir(
  tree: ReadonlyMap<string, TreeBlob>,
  submodules: readonly string[],
): string | undefined {
  let top: string | undefined;
  for (const path of [...tree.keys(), ...submodules]) {
    const slash = path.indexOf("/");
    // A file at the root (a submodule there is a directory of the export, and counts as one).
    if (slash < 0 && tree.has(path)) return undefined;
    const name = slash < 0 ? path : path.slice(0, slash);
    if (top !== undefined && name !== top) return undefined;
    top = name;
  }
  const manifest = top === undefined ? undefined : tree.get(`${top}/${MANIFEST_FILENAME}`);
  return manifest !== undefined && manifest.kind !== "symlink" ? top : undefined;
}

/** The manifest is always staged: the pipeline reads it from the staging directory. */
export function mustStage(path: string): boolean {
  return path === MANIFEST_FILENAME;
}
