/**
 * Git LFS keeps large files out of git: the commit holds a pointer (a few lines of text naming the
 * object's sha256 and size) and git-lfs's smudge filter puts the real bytes in its place — on
 * checkout, and on `git archive` too, but only where git-lfs is installed for the user git runs as
 * and can fetch the object. Anywhere else the export holds the pointer, and the app's image, model
 * or font would be replaced by ~130 bytes of text, the run saying "installed". A pointer left in the
 * staged release is therefore refused, before anything is installed.
 *
 * Only a tree that routes files through LFS (`filter=lfs` in a `.gitattributes`, which is what
 * `git lfs track` writes) is searched, so other repositories pay one `git grep` of their attribute
 * files. Such a tree always takes the whole-tree export (git-attributes.ts), never the staged path.
 */
import { lstat, open, readdir, readFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { VerificationError } from "../../shared/errors.js";

type RunGit = (args: string[]) => Promise<string>;

/** The first line of every LFS pointer (git-lfs's spec, v1). */
const POINTER_START = "version https://git-lfs.github.com/spec/v1\n";
/** git-lfs never reads a file larger than this as a pointer. */
const MAX_POINTER_BYTES = 1024;

/**
 * The paths of `commit` whose blob is (or holds the text of) an LFS pointer; none unless a
 * `.gitattributes` routes files through LFS. Asked once per export, before git archive runs.
 */
export async function lfsPointerPaths(git: RunGit, commit: string): Promise<string[]> {
  if (
    (await grepPaths(git, commit, "filter=lfs", [".gitattributes", ":(glob)**/.gitattributes"])).length === 0
  )
    return [];
  return grepPaths(git, commit, POINTER_START.trimEnd(), []);
}

/** The staged paths among `paths` (lfsPointerPaths) that hold an LFS pointer instead of the file it stands for. */
export async function lfsPointersStaged(paths: readonly string[], stagingDir: string): Promise<string[]> {
  const pointers: string[] = [];
  for (const path of paths) {
    // A single top directory holding the manifest is the release root: staged without it.
    const staged = [path, path.slice(path.indexOf("/") + 1)];
    for (const rel of path.includes("/") ? staged : [path]) {
      const found = await pointerAt(join(stagingDir, rel));
      if (found === "absent") continue;
      if (found === "pointer") pointers.push(rel);
      break;
    }
  }
  return pointers;
}

/** What git-lfs's smudge would download for an export: the LFS files not in the clone's LFS store yet. */
export interface LfsDownload {
  bytes: number;
  paths: string[];
}

/** An oid or size line of a pointer (git-lfs's spec, v1): what git-lfs fetches, and how many bytes. */
const POINTER_FIELD = "^(oid sha256:[0-9a-f]{64}|size [0-9]+)$";

/**
 * The LFS files `git archive` of `commit` would have git-lfs download: a pointer's declared size is
 * exactly what git-lfs fetches (it refuses an object of another size), so the total is known before
 * anything is fetched. Objects already in the clone's LFS store are not fetched again, so not
 * counted; nor is anything when no LFS smudge filter is configured (nothing is downloaded then,
 * and the export's pointers are refused as such).
 */
export async function lfsDownload(
  git: RunGit,
  clone: string,
  commit: string,
  pointerPaths: readonly string[],
): Promise<LfsDownload> {
  const none = { bytes: 0, paths: [] };
  if (pointerPaths.length === 0) return none;
  const filter = await git(["config", "--get-regexp", "^filter\\.lfs\\.(smudge|process)$"]);
  if (filter.trim() === "") return none;
  // Relative to the clone, as git says it (--path-format=absolute is git 2.31+).
  const store = resolve(clone, (await git(["rev-parse", "--git-path", "lfs/objects"])).trim());
  const wanted = new Set(pointerPaths);
  const fields = new Map<string, { oid?: string; size?: number }>();
  // -z ends each name with NUL, so a name holding a newline is read whole: `commit:path\0line\n`.
  const listed = await git(["grep", "-z", "--no-color", "-I", "-E", "-e", POINTER_FIELD, commit]);
  const prefix = `${commit}:`;
  for (let at = 0; at < listed.length; ) {
    const nul = listed.indexOf("\0", at);
    const eol = listed.indexOf("\n", nul + 1);
    if (nul < 0 || eol < 0) break;
    const name = listed.slice(at, nul);
    const path = name.startsWith(prefix) ? name.slice(prefix.length) : name;
    const line = listed.slice(nul + 1, eol);
    at = eol + 1;
    if (!wanted.has(path)) continue;
    const entry = fields.get(path) ?? {};
    if (line.startsWith("oid sha256:")) entry.oid = line.slice("oid sha256:".length);
    else entry.size = Number(line.slice("size ".length));
    fields.set(path, entry);
  }
  const download: LfsDownload = { bytes: 0, paths: [] };
  for (const [path, { oid, size }] of [...fields].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    if (oid === undefined || size === undefined) continue;
    if (await exists(join(store, oid.slice(0, 2), oid.slice(2, 4), oid))) continue;
    download.bytes += size;
    download.paths.push(path);
  }
  return download;
}

async function exists(path: string): Promise<boolean> {
  return lstat(path).then(
    () => true,
    () => false,
  );
}

/** Paths of `commit`'s text blobs (under `pathspecs`, all when empty) that contain `text`. */
async function grepPaths(git: RunGit, commit: string, text: string, pathspecs: string[]): Promise<string[]> {
  // Exit 1 (no match) resolves with no output; -z keeps odd file names whole.
  const out = await git(["grep", "-l", "-z", "-I", "-F", "-e", text, commit, "--", ...pathspecs]);
  const prefix = `${commit}:`;
  return out
    .split("\0")
    .filter((p) => p !== "")
    .map((p) => (p.startsWith(prefix) ? p.slice(prefix.length) : p));
}

export async function pointerAt(file: string): Promise<"pointer" | "file" | "absent"> {
  let handle: Awaited<ReturnType<typeof open>> | undefined;
  try {
    handle = await open(file, "r");
  } catch {
    // Not staged here (left out by the release's rules, or under a stripped top directory).
    return "absent";
  }
  try {
    const stat = await handle.stat();
    if (!stat.isFile() || stat.size > MAX_POINTER_BYTES) return "file";
    const head = Buffer.alloc(POINTER_START.length);
    const { bytesRead } = await handle.read(head, 0, head.length, 0);
    return head.subarray(0, bytesRead).toString("latin1") === POINTER_START ? "pointer" : "file";
  } finally {
    await handle.close();
  }
}

const GIT_EXPORT_CAUSE =
  "git archive exports LFS files as their pointers unless git-lfs is installed for the user ship runs as (apt install git-lfs; git lfs install, as that user)";

/** The refusal of a release whose export holds pointers: what they are, and what makes them files. */
export function lfsPointerError(
  release: string,
  pointers: readonly string[],
  cause = GIT_EXPORT_CAUSE,
): VerificationError {
  const shown = pointers.slice(0, 5).join(", ");
  const more = pointers.length > 5 ? ` and ${pointers.length - 5} more` : "";
  const what = pointers.length === 1 ? "is a Git LFS pointer" : "are Git LFS pointers";
  return new VerificationError(
    release,
    `${shown}${more} ${what}, not the file${pointers.length === 1 ? "" : "s"}: ${cause}, so nothing was installed`,
  );
}

/**
 * The same for a release that arrives packed (http, sftp, local, a hub artifact): one tarred from
 * a checkout made without git-lfs (the seed's `tar czf` in CI, whose checkout leaves LFS out by
 * default) held pointers, and the app's images were replaced by them, the run saying "installed".
 * Only a release whose root `.gitattributes` routes files through LFS is searched; files the
 * source left out of staging (the app holds them already) are not.
 */
export async function lfsPointersInRelease(
  dir: string,
  appDir: string,
  listing: { files: ReadonlyMap<string, { type: string; size: number }> } | undefined,
): Promise<string[]> {
  const attributes =
    (await readFile(join(dir, ".gitattributes"), "utf8").catch(() => undefined)) ??
    (listing?.files.has(".gitattributes") === true
      ? await readFile(join(appDir, ".gitattributes"), "utf8").catch(() => "")
      : "");
  if (!/\bfilter=lfs\b/.test(attributes)) return [];
  const candidates =
    listing === undefined
      ? await smallFiles(dir, "")
      : [...listing.files]
          .filter(([, e]) => e.type === "file" && e.size <= MAX_POINTER_BYTES)
          .map(([rel]) => rel);
  const pointers: string[] = [];
  for (const rel of candidates.sort())
    if ((await pointerAt(join(dir, rel))) === "pointer") pointers.push(rel);
  return pointers;
}

async function smallFiles(root: string, rel: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(join(root, rel), { withFileTypes: true })) {
    const child = rel === "" ? entry.name : `${rel}/${entry.name}`;
    if (entry.isDirectory()) out.push(...(await smallFiles(root, child)));
    else if (entry.isFile() && (await lstat(join(root, child))).size <= MAX_POINTER_BYTES) out.push(child);
  }
  return out;
}

/** Why a packed release holds pointers, and what makes it hold the files. */
export const PACKED_CAUSE =
  "the release was packed from a checkout made without git-lfs; pack it again after git lfs pull (ship release http and sftp refuse to pack pointers)";
