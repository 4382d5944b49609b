/**
 * Decides what goes into a release archive: the named paths, or every file git does not ignore
 * (every file when the directory is not a git work tree), with parent directories, sorted.
 */
import { execFile } from "node:child_process";
import type { Stats } from "node:fs";
import { lstat, readdir } from "node:fs/promises";
import { isAbsolute, join, posix, relative, sep } from "node:path";
import { promisify } from "node:util";
import { BadInputError } from "../../shared/errors.js";
import type { ArchiveEntry } from "./tar-writer.js";
import { nulSeparatedNames, type Utf8Refusal, utf8LinkTarget, utf8Name } from "./utf8-names.js";

const run = promisify(execFile);

const BUILD_REFUSAL: Utf8Refusal = {
  leaveOut: ".gitignore, --include only what ships",
  nothingDone: "nothing was built",
};

export interface CollectOptions {
  sourceDir: string;
  /** Paths relative to sourceDir (files or directories); default: the whole tree. */
  include?: readonly string[];
  /** Relative paths (posix) left out, together with everything under them (`isDirectory` says which). */
  exclude: (relPath: string, isDirectory: boolean) => boolean;
}

async function walk(root: string, rel: string, exclude: CollectOptions["exclude"]): Promise<string[]> {
  const names = (await readdir(join(root, rel), { encoding: "buffer" })).sort(Buffer.compare);
  const out: string[] = [];
  for (const raw of names) {
    const name = utf8Name(root, rel === "" ? "" : `${rel}/`, raw, BUILD_REFUSAL);
    const child = rel === "" ? name : `${rel}/${name}`;
    if (name === ".git") continue;
    const isDirectory = (await lstat(join(root, child))).isDirectory();
    if (exclude(child, isDirectory)) continue;
    out.push(child);
    if (isDirectory) out.push(...(await walk(root, child, exclude)));
  }
  return out;
}

/** The NUL-separated paths `git ARGS` prints in `dir`, or undefined when git fails there (no work tree). */
async function gitListing(dir: string, args: string[]): Promise<string[] | undefined> {
  let stdout: Buffer;
  try {
    ({ stdout } = await run("git", args, { cwd: dir, maxBuffer: 256 << 20, encoding: "buffer" }));
  } catch {
    return undefined;
  }
  return nulSeparatedNames(dir, stdout, BUILD_REFUSAL);
}

/**
 * Files git would commit (tracked or untracked, not ignored), or undefined outside a work tree,
 * relative to `root`. git lists a submodule as one path (a gitlink) and an untracked nested
 * repository as `dir/`: packed as such they were an empty directory and a `dir//` entry, and the
 * release went out without their files. Their own git lists them instead, by their own ignores.
 */
async function gitFiles(root: string, rel = ""): Promise<string[] | undefined> {
  const dir = rel === "" ? root : join(root, rel);
  const listed = await gitListing(dir, ["ls-files", "-z", "--cached", "--others", "--exclude-standard"]);
  if (listed === undefined) return undefined;
  const staged = (await gitListing(dir, ["ls-files", "-z", "--stage"])) ?? [];
  const gitlinks = new Set(
    staged.filter((l) => l.startsWith("160000 ")).map((l) => l.slice(l.indexOf("\t") + 1)),
  );
  const out: string[] = [];
  for (const entry of listed) {
    const path = entry.replace(/\/+$/, "");
    const full = rel === "" ? path : `${rel}/${path}`;
    if (path === entry && !gitlinks.has(path)) {
      out.push(full);
      continue;
    }
    const hasGit = await lstat(join(root, full, ".git")).then(
      () => true,
      () => false,
    );
    const inner = hasGit ? await gitFiles(root, full) : undefined;
    if (inner === undefined)
      throw BadInputError.single(
        join(root, full),
        "",
        "is a git submodule that is not checked out, so its files would be missing from the release: run git submodule update --init --recursive (in CI: actions/checkout with submodules: recursive) and build again; nothing was built",
      );
    out.push(...(inner.length === 0 ? [full] : inner));
  }
  return out;
}

function checkRelative(path: string): string {
  const rel = posix.normalize(path.split(sep).join("/")).replace(/\/+$/, "");
  if (isAbsolute(path) || rel === ".." || rel.startsWith("../") || rel === "." || rel === "") {
    throw BadInputError.single(path, "--include", "must be a path inside the release directory");
  }
  return rel;
}

async function listPaths(options: CollectOptions): Promise<string[]> {
  const { sourceDir, include, exclude } = options;
  if (include === undefined || include.length === 0) {
    const tracked = await gitFiles(sourceDir);
    if (tracked === undefined) return walk(sourceDir, "", exclude);
    // git lists files only: every shorter prefix is a directory.
    return tracked.filter(
      (p) =>
        !p.split("/").some((_, i, parts) => exclude(parts.slice(0, i + 1).join("/"), i < parts.length - 1)),
    );
  }
  const out: string[] = [];
  for (const path of include) {
    const rel = checkRelative(path);
    await refuseLinkedParents(sourceDir, rel);
    const stat = await lstat(join(sourceDir, rel)).catch(() => undefined);
    if (stat === undefined) throw BadInputError.single(join(sourceDir, rel), "--include", "does not exist");
    if (exclude(rel, stat.isDirectory())) continue;
    out.push(rel);
    if (stat.isDirectory()) out.push(...(await walk(sourceDir, rel, exclude)));
  }
  return out;
}

/**
 * An --include path must not pass through a symlinked directory: lstat follows the parents, so
 * `linkdir/file` with `linkdir -> /etc` would archive a file from outside the release.
 */
async function refuseLinkedParents(sourceDir: string, rel: string): Promise<void> {
  const parts = rel.split("/");
  for (let i = 1; i < parts.length; i++) {
    const parent = parts.slice(0, i).join("/");
    const stat = await lstat(join(sourceDir, parent)).catch(() => undefined);
    if (stat?.isSymbolicLink()) {
      throw BadInputError.single(
        join(sourceDir, rel),
        "--include",
        `goes through the symlink ${parent}; name a path inside the release`,
      );
    }
  }
}

function symlinkStaysInside(rel: string, target: string): boolean {
  if (posix.isAbsolute(target)) return false;
  const resolved = posix.normalize(posix.join(posix.dirname(rel), target));
  return resolved !== ".." && !resolved.startsWith("../");
}

async function entryFor(sourceDir: string, rel: string): Promise<ArchiveEntry | undefined> {
  const abs = join(sourceDir, rel);
  const stat = await lstat(abs).catch(() => undefined);
  if (stat === undefined) return undefined; // deleted but still in git's index: not part of the release
  if (stat.isDirectory()) return { type: "Directory", path: rel };
  if (stat.isFile()) {
    return {
      type: "File",
      path: rel,
      source: abs,
      size: stat.size,
      executable: (stat.mode & 0o111) !== 0,
      listed: { ino: stat.ino, ctimeMs: stat.ctimeMs },
    };
  }
  if (stat.isSymbolicLink()) {
    const target = await utf8LinkTarget(abs, BUILD_REFUSAL);
    if (!symlinkStaysInside(rel, target)) {
      throw BadInputError.single(
        abs,
        "",
        `symlink to ${target} points outside the release; agents refuse it`,
      );
    }
    return { type: "SymbolicLink", path: rel, target };
  }
  // Said as "<path> only files, …": no word of what the entry is, nor what to do about it.
  throw BadInputError.single(
    abs,
    "",
    `is ${specialKind(stat)}: only files, directories and symlinks can be released; leave it out (.gitignore, or --include only what ships)`,
  );
}

function specialKind(stat: Stats): string {
  if (stat.isFIFO()) return "a named pipe (fifo)";
  if (stat.isSocket()) return "a socket";
  if (stat.isBlockDevice() || stat.isCharacterDevice()) return "a device";
  return "not a regular file";
}

function parentDirs(path: string): string[] {
  const parts = path.split("/");
  return parts.slice(0, -1).map((_, i) => parts.slice(0, i + 1).join("/"));
}

/** Byte order, so the archive does not depend on the locale or the filesystem's listing order. */
function byPath(a: ArchiveEntry, b: ArchiveEntry): number {
  return Buffer.compare(Buffer.from(a.path), Buffer.from(b.path));
}

/**
 * The release's entries under `topDir/`, sorted, with `extra` (e.g. the generated manifest) added.
 * Directories appear once each, before their contents.
 */
export async function collectEntries(
  options: CollectOptions,
  topDir: string,
  extra: ArchiveEntry[],
): Promise<ArchiveEntry[]> {
  const excluded: string[] = [];
  const exclude = (rel: string, isDirectory: boolean): boolean => {
    if (!options.exclude(rel, isDirectory)) return false;
    excluded.push(rel);
    return true;
  };
  const byRel = new Map<string, ArchiveEntry>();
  for (const rel of await listPaths({ ...options, exclude })) {
    const entry = await entryFor(options.sourceDir, rel);
    if (entry !== undefined) byRel.set(rel, entry);
  }
  dropEmptiedDirectories(byRel, excluded);
  for (const entry of extra) byRel.set(entry.path, entry);
  for (const rel of [...byRel.keys()]) {
    for (const dir of parentDirs(rel)) if (!byRel.has(dir)) byRel.set(dir, { type: "Directory", path: dir });
  }
  const entries = [...byRel.values()].map((e) => ({ ...e, path: `${topDir}/${e.path}` }));
  return [{ type: "Directory" as const, path: topDir }, ...entries].sort(byPath);
}

/**
 * A directory whose every entry was left out (`secrets/` under `secrets/**: skip`) goes too: an
 * empty folder in the archive would still be created on every server. A directory that was empty
 * in the source stays: it is part of the release.
 */
function dropEmptiedDirectories(byRel: Map<string, ArchiveEntry>, excluded: readonly string[]): void {
  if (excluded.length === 0) return;
  const lostContent = new Set(excluded.flatMap(parentDirs));
  const hasSurvivor = new Set<string>();
  for (const [rel, entry] of byRel)
    if (entry.type !== "Directory") for (const d of parentDirs(rel)) hasSurvivor.add(d);
  const dirs = [...byRel.keys()].filter((rel) => byRel.get(rel)?.type === "Directory");
  // Deepest first, so a parent sees whether its emptied children survived.
  dirs.sort((a, b) => b.split("/").length - a.split("/").length);
  for (const dir of dirs) {
    if (lostContent.has(dir) && !hasSurvivor.has(dir)) byRel.delete(dir);
    else for (const d of parentDirs(dir)) hasSurvivor.add(d);
  }
}

export function relativeInside(parent: string, child: string): string | undefined {
  const rel = relative(parent, child);
  return rel === "" || rel.startsWith("..") || isAbsolute(rel) ? undefined : rel.split(sep).join("/");
}
