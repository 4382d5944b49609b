/**
 * A git release staged by what changed between the installed commit and the target: `git diff-tree`
 * names the changed paths (and the `.gitattributes` files among them), `git ls-tree` lists the whole target tree (paths, modes, blob ids; not
 * sizes: `-l` makes git open every blob), and only the blobs that changed (or that the install index
 * cannot vouch for) are written, all through one `git cat-file --batch`, which also gives their
 * sizes. Modes follow `git archive` (664/775), so both paths give one listing.
 */
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { closeSync, fchmodSync, mkdirSync, openSync, symlinkSync, writeSync } from "node:fs";
import { dirname, join } from "node:path";
import { VerificationError } from "../../shared/errors.js";
import { MANIFEST_FILENAME } from "../../shared/manifest/schema.js";
import type { ReleaseEntry } from "../apply/types.js";
import { NOT_UTF8, NOT_UTF8_REASON, shownName, symlinkTargetParts } from "../archive/entry-path.js";
import { type ExtractLimits, overLimit } from "../archive/limits.js";
import { hashSymlinkTarget } from "../tree/hash-file.js";
import { isAttributesFile } from "./git-attributes.js";
import type { RunGit } from "./git-run.js";
import type { ReleaseListing } from "./types.js";

/** One blob of a tree: `git ls-tree -r` output. */
export interface TreeBlob {
  path: string;
  kind: "file" | "exec" | "symlink";
  blob: string;
  /** Bytes, once `writeBlobs` wrote it (ls-tree is not asked: that would read every blob). */
  size?: number;
}

/**
 * Every blob of `commit`. Submodules (gitlinks) have no blob: their paths are pushed onto
 * `submodules` (`git archive` writes each as an empty directory, which ship, installing no empty
 * directories, leaves out as well).
 */
export async function listTree(
  git: RunGit,
  commit: string,
  submodules: string[] = [],
): Promise<Map<string, TreeBlob>> {
  const out = new Map<string, TreeBlob>();
  for (const record of (await git(["ls-tree", "-r", "-z", "--full-tree", commit])).split("\0")) {
    if (record === "") continue;
    // "<mode> SP <type> SP <object> TAB <path>"
    const tab = record.indexOf("\t");
    const [mode, type, blob] = record.slice(0, tab).split(" ");
    const path = record.slice(tab + 1);
    if (type === "commit") submodules.push(path);
    if (type !== "blob" || blob === undefined) continue;
    const kind = mode === "120000" ? "symlink" : mode === "100755" ? "exec" : "file";
    checkPath(path);
    out.set(path, { path, kind, blob });
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
}

/** Rejects when git cannot diff them (the installed commit is not in the clone). */
export async function diffTree(git: RunGit, from: string, to: string): Promise<TreeDiff> {
  const raw = await git(["diff-tree", "-r", "-z", "--no-renames", "--raw", from, to]);
  const fields = raw.split("\0");
  const changed = new Set<string>();
  const attributeFiles: string[] = [];
  for (let i = 0; i + 1 < fields.length; i += 2) {
    const status = fields[i]?.split(" ").at(-1) ?? "";
    const path = fields[i + 1] ?? "";
    if (path === "") continue;
    if (isAttributesFile(path)) attributeFiles.push(path);
    if (status !== "D") changed.add(path);
  }
  return { changed, attributeFiles };
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

/**
 * Writes `blobs` under `dir` from one `git cat-file --batch`, hashing each file as it is written;
 * returns path → sha256 (for symlinks, the symlink identity hash) and sets each blob's size.
 */
export function writeBlobs(
  cwd: string,
  env: Record<string, string>,
  blobs: readonly TreeBlob[],
  dir: string,
  limits: Pick<ExtractLimits, "maxFileBytes" | "maxFileSetting"> = {},
): Promise<Map<string, string>> {
  const { maxFileBytes, maxFileSetting } = limits;
  return new Promise((resolve, reject) => {
    const hashes = new Map<string, string>();
    const child = spawn("git", ["cat-file", "--batch"], { cwd, env, stdio: ["pipe", "pipe", "pipe"] });
    let index = 0;
    let pending: Buffer = Buffer.alloc(0);
    let remaining = -1; // bytes of the current blob still to come; -1 while reading a header
    let fd: number | undefined;
    let hash = createHash("sha256");
    let linkTarget: Buffer[] = [];
    let failed: Error | undefined;
    let stderr = "";
    const fail = (err: Error) => {
      if (failed !== undefined) return;
      failed = err;
      child.kill();
    };
    const finishBlob = (blob: TreeBlob) => {
      const target = join(dir, blob.path);
      if (blob.kind === "symlink") {
        const text = Buffer.concat(linkTarget).toString("utf8");
        const lands = symlinkTargetParts(blob.path.split("/"), text);
        if (!lands.ok) throw new VerificationError(blob.path, `symlink ${lands.reason}`);
        mkdirSync(dirname(target), { recursive: true });
        symlinkSync(text, target);
        hashes.set(blob.path, hashSymlinkTarget(text));
      } else {
        if (fd !== undefined) closeSync(fd);
        fd = undefined;
        hashes.set(blob.path, hash.digest("hex"));
      }
    };
    const consume = () => {
      for (;;) {
        const blob = blobs[index];
        if (blob === undefined) return;
        if (remaining < 0) {
          const nl = pending.indexOf(10);
          if (nl < 0) return;
          const header = pending.subarray(0, nl).toString("utf8");
          pending = pending.subarray(nl + 1);
          const [, type, size] = header.split(" ");
          if (type !== "blob") throw new Error(`git cat-file: ${header} (expected blob ${blob.blob})`);
          remaining = Number(size);
          blob.size = remaining;
          if (maxFileBytes !== undefined && remaining > maxFileBytes) {
            throw new VerificationError(blob.path, overLimit(remaining, maxFileBytes, maxFileSetting));
          }
          hash = createHash("sha256");
          linkTarget = [];
          if (blob.kind !== "symlink") {
            const path = join(dir, blob.path);
            mkdirSync(dirname(path), { recursive: true });
            fd = openSync(path, "wx", 0o600);
            // Set explicitly: the process umask must not change the mode the listing promises.
            fchmodSync(fd, modeOf(blob.kind));
          }
        }
        const take = Math.min(remaining, pending.length);
        const chunk = pending.subarray(0, take);
        if (blob.kind === "symlink") linkTarget.push(Buffer.from(chunk));
        else if (fd !== undefined && take > 0) {
          hash.update(chunk);
          let off = 0;
          while (off < chunk.length) off += writeSync(fd, chunk, off);
        }
        pending = pending.subarray(take);
        remaining -= take;
        if (remaining > 0 || pending.length === 0) return;
        // The blob is complete; a newline follows it.
        pending = pending.subarray(1);
        remaining = -1;
        finishBlob(blob);
        index++;
      }
    };
    child.stdout.on("data", (data: Buffer) => {
      if (failed !== undefined) return;
      pending = pending.length === 0 ? data : Buffer.concat([pending, data]);
      try {
        consume();
      } catch (err) {
        fail(err instanceof Error ? err : new Error(String(err)));
      }
    });
    child.stderr.on("data", (d: Buffer) => {
      stderr += d.toString();
    });
    child.on("error", fail);
    child.on("close", (code) => {
      if (fd !== undefined) closeSync(fd);
      if (failed !== undefined) return reject(failed);
      if (index < blobs.length) {
        return reject(new Error(`git cat-file --batch stopped early (exit ${code}): ${stderr.trim()}`));
      }
      resolve(hashes);
    });
    child.stdin.end(blobs.map((b) => `${b.blob}\n`).join(""));
  });
}

/** Git refuses such paths itself; a crafted tree is refused here too. */
/** A leading "/", or an empty, "." or ".." segment anywhere (one regex: asked of every tree entry). */
const UNSAFE_PATH = /^\/|(^|\/)\.{0,2}(\/|$)/;

function checkPath(path: string): void {
  if (UNSAFE_PATH.test(path)) {
    throw new VerificationError(path, "is not a safe relative path");
  }
  if (path.includes(NOT_UTF8)) throw new VerificationError(shownName(path), NOT_UTF8_REASON);
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
