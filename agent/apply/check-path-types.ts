/**
 * Refuses, before the pre_update hooks run, a release whose paths the app holds as another type of
 * entry ship may not replace: a release file where the app has a directory of its own (the
 * operator's `conf/app.toml/`), a release directory where the app has a file or a symlink (a `conf`
 * linked to /etc/myapp). The apply's planner refuses the same, but only after the hooks ran (a
 * service stopped for nothing, exit 1 "update failed at apply"); the state of the app is knowable
 * here, so it is bad input (exit 2) that names the path, with nothing run and nothing changed.
 *
 * Cheap on the common path: one readdir per release directory the app also has, no lstat per file.
 * Only when such a collision shows up is the app scanned and the real plan made, which decides
 * whether ship may replace the entry (a directory ship created and the release empties, a file ship
 * installed and the release drops) or not: this check is never stricter than the apply.
 */
import { type Dirent, existsSync, readdirSync, statSync } from "node:fs";
import { BadInputError } from "../../shared/errors.js";
import { MANIFEST_FILENAME, type Manifest } from "../../shared/manifest/schema.js";
import { nameFits } from "../tree/fs-ops.js";
import { isDirectoryMode, isFileMode, isSymlinkMode, lstatLite } from "../tree/lstat-lite.js";
import { scanTree } from "../tree/scan-tree.js";
import { conflictSummary } from "./apply-update.js";
import { indexPath, readInstallIndex } from "./install-index.js";
import { anyUnder, mountPointInTheWay } from "./mount-points.js";
import { anyKeepsCopy, keepCopyName, keepsCopy, NOT_SAFE, planUpdate } from "./plan.js";
import { protectedDirectoryOf, ruleFor } from "./rules.js";
import type { InstallIndex, PlanConflict, ReleaseEntry } from "./types.js";

export interface PathTypesCheck {
  manifest: Manifest;
  releaseDir: string;
  appDir: string;
  stateDir: string;
  /** The whole release when `releaseDir` holds only part of it. */
  listing?: ReadonlyMap<string, { type: string; sha256: string }>;
}

/** "other": a socket, FIFO or device, over which nothing may be written. */
type Kind = "dir" | "file" | "symlink" | "other";

export async function checkPathTypes(input: PathTypesCheck): Promise<void> {
  // Read here from the cache the apply reads it from again (install-index.ts): parsed once a run.
  const index = await readInstallIndex(input.stateDir);
  refuseMountPoints(input, index);
  const written = statSync(indexPath(input.stateDir), { throwIfNoEntry: false })?.mtimeMs;
  const installed = index === undefined ? undefined : { files: index.files, written };
  const found =
    input.listing === undefined
      ? collides(input, releaseChildren(input), installed)
      : listingCollides(input, input.listing, installed);
  if (!found) return;
  const conflicts = await plannedConflicts(input, index);
  if (conflicts.length === 0) return;
  const reason =
    `release ${input.manifest.version} cannot be installed: ${conflictSummary(conflicts, input.appDir)}; ` +
    "ship did not install what is in the way (or it holds files ship did not install): move it aside, " +
    "then run ship again; nothing was run or changed";
  throw new BadInputError([{ file: input.appDir, path: "", message: reason, severity: "error" }], reason);
}

/** A mount point in the app where the release writes or drops files: exit 2 before anything runs. */
function refuseMountPoints(input: PathTypesCheck, index: InstallIndex | undefined): void {
  const { listing } = input;
  const why = mountPointInTheWay({
    manifest: input.manifest,
    appDir: input.appDir,
    index,
    writes: (rel) =>
      listing === undefined ? existsSync(`${input.releaseDir}/${rel}`) : anyUnder(listing.keys(), rel),
  });
  if (why === undefined) return;
  const reason = `release ${input.manifest.version} cannot be installed: ${why}; nothing was run or changed`;
  throw new BadInputError([{ file: input.appDir, path: "", message: reason, severity: "error" }], reason);
}

interface Installed {
  files: InstallIndex["files"];
  written: number | undefined;
}

/**
 * An app directory the release also has: `settled` when it was not changed since ship wrote its
 * install index (its ctime is older than the index file's mtime), so it still holds the entries
 * ship installed there and only the release's other names in it are looked at (an lstat each);
 * otherwise its entries, read once. The check then costs what the release adds, not one read of
 * every directory of the app.
 */
interface AppDir {
  settled: boolean;
  entries: Map<string, Kind> | undefined;
}

/** The app directory `dir` as seen from the check; undefined when it is missing or not a directory. */
function appDirAt(input: PathTypesCheck, dir: string, installed: Installed | undefined): AppDir | undefined {
  // The app directory itself may be a symlink (app_dir = /srv/app leading to a release tree).
  const stat =
    dir === ""
      ? statSync(input.appDir, { throwIfNoEntry: false })
      : lstatLite(`${input.appDir}/${dir}`, false);
  if (stat === undefined || !isDirectoryMode(stat.mode)) return undefined;
  // ctime, not mtime: `cp -a`, `rsync -a` or `tar -x` of a saved copy set a directory's mtime back
  // to before the index; nothing sets its ctime back, and any entry added or removed moves it.
  const settled = installed?.written !== undefined && stat.ctimeMs < installed.written;
  return { settled, entries: settled ? undefined : entriesOf(input.appDir, dir) };
}

/**
 * What the app holds at release path `rel` (its name in app directory `at` from `nameAt` on) that the release
 * would put a `kind` over: "collides" (a candidate for a conflict), "enter" (a directory of both,
 * to look into), or "clear".
 */
function childVerdict(
  input: PathTypesCheck,
  at: AppDir,
  rel: string,
  nameAt: number,
  kind: Kind,
  installed: Installed | undefined,
  keepCopies: boolean,
): "collides" | "enter" | "clear" {
  // The `.bak` a replace keeps beside the file is written too: a directory there is refused
  // by the apply (after the hooks), whatever the index says of the file itself.
  if (keepCopies && kind !== "dir" && keepCopyInTheWay(input, rel)) return "collides";
  if (kind !== "dir" && at.settled && installed?.files.has(rel) === true) return "clear";
  const appKind =
    at.entries === undefined ? kindAt(`${input.appDir}/${rel}`) : at.entries.get(rel.slice(nameAt));
  if (appKind === undefined) return "clear";
  if (protectedDirectoryOf(input.manifest, rel) !== undefined) return "clear";
  if (kind === "dir") return appKind === "dir" ? "enter" : "collides";
  return (appKind === "dir" || appKind === "other") && ruleFor(input.manifest, rel).rule.action !== "skip"
    ? "collides"
    : "clear";
}

/** Whether some release path meets an app entry of another type, the release read directory by directory. */
function collides(
  input: PathTypesCheck,
  release: (dir: string) => Map<string, Kind>,
  installed: Installed | undefined,
): boolean {
  const keepCopies = anyKeepsCopy(input.manifest);
  const pending = [""];
  for (let dir = pending.pop(); dir !== undefined; dir = pending.pop()) {
    const at = appDirAt(input, dir, installed);
    if (at === undefined) continue;
    for (const [name, kind] of release(dir)) {
      const rel = dir === "" ? name : `${dir}/${name}`;
      const verdict = childVerdict(input, at, rel, rel.length - name.length, kind, installed, keepCopies);
      if (verdict === "collides") return true;
      if (verdict === "enter") pending.push(rel);
    }
  }
  return false;
}

/**
 * collides for a source's listing, read in its own order with its own path strings: no tree of
 * the release built first, and no path string made again per file (a new string's first lookup
 * in the install index costs ~8x a known one's; round 39). The listing's directories are those
 * its files lead through, as the tree made from it held; each is judged once, from its parent's
 * verdict on it.
 */
function listingCollides(
  input: PathTypesCheck,
  listing: NonNullable<PathTypesCheck["listing"]>,
  installed: Installed | undefined,
): boolean {
  const keepCopies = anyKeepsCopy(input.manifest);
  /** Release directory → the app's directory there, or null when nothing under it can collide. */
  const dirs = new Map<string, AppDir | null>();
  let collided = false;
  const dirAt = (dir: string): AppDir | null => {
    const known = dirs.get(dir);
    if (known !== undefined) return known;
    let at: AppDir | null = null;
    if (dir === "") at = appDirAt(input, "", installed) ?? null;
    else {
      const slash = dir.lastIndexOf("/");
      const parent = dirAt(slash < 0 ? "" : dir.slice(0, slash));
      const verdict =
        parent === null ? "clear" : childVerdict(input, parent, dir, slash + 1, "dir", installed, keepCopies);
      if (verdict === "collides") collided = true;
      if (verdict === "enter") at = appDirAt(input, dir, installed) ?? null;
    }
    dirs.set(dir, at);
    return at;
  };
  // The directory of the file before: a listing in walk order names each one's files together.
  let lastDir = "";
  let lastAt: AppDir | null | undefined;
  for (const [rel, entry] of listing) {
    if (rel === MANIFEST_FILENAME) continue;
    const slash = rel.lastIndexOf("/");
    const inLast =
      lastAt !== undefined &&
      (slash < 0 ? lastDir === "" : slash === lastDir.length && rel.startsWith(lastDir));
    if (!inLast) {
      lastDir = slash < 0 ? "" : rel.slice(0, slash);
      lastAt = dirAt(lastDir);
      if (collided) return true;
    }
    const at = lastAt as AppDir | null;
    if (at === null) continue;
    const kind = entry.type === "symlink" ? "symlink" : "file";
    if (childVerdict(input, at, rel, slash + 1, kind, installed, keepCopies) === "collides") return true;
  }
  return false;
}

function keepCopyInTheWay(input: PathTypesCheck, rel: string): boolean {
  if (!keepsCopy(ruleFor(input.manifest, rel).rule)) return false;
  return (
    protectedDirectoryOf(input.manifest, rel) === undefined &&
    kindAt(`${input.appDir}/${keepCopyName(rel)}`) === "dir"
  );
}

function kindAt(path: string): Kind | undefined {
  // A name longer than NAME_MAX (a keep-copy's `.bak` added to a long name) holds nothing.
  if (!nameFits(path)) return undefined;
  const stat = lstatLite(path, false);
  if (stat === undefined) return undefined;
  if (isDirectoryMode(stat.mode)) return "dir";
  if (isSymlinkMode(stat.mode)) return "symlink";
  return isFileMode(stat.mode) ? "file" : "other";
}

/** The plan's own verdict on the whole app and release (an unsafe path is the source's to refuse). */
async function plannedConflicts(
  input: PathTypesCheck,
  index: InstallIndex | undefined,
): Promise<PlanConflict[]> {
  const app = await scanTree(input.appDir, {
    skipDir: (rel) => protectedDirectoryOf(input.manifest, rel) !== undefined,
  });
  const files = new Map<string, ReleaseEntry>();
  const dirs = new Map<string, number>();
  if (input.listing === undefined) {
    const scan = await scanTree(input.releaseDir, { skipFile: (rel) => rel === MANIFEST_FILENAME });
    for (const [rel, entry] of scan.files) files.set(rel, { ...entry, sha256: "" });
    for (const [rel, mode] of scan.dirs) dirs.set(rel, mode);
  } else {
    for (const [rel, entry] of input.listing) {
      if (rel === MANIFEST_FILENAME) continue;
      files.set(rel, {
        type: entry.type === "symlink" ? "symlink" : "file",
        sha256: "",
        size: -1,
        mode: 0o644,
      });
      for (let at = rel.lastIndexOf("/"); at > 0; at = rel.lastIndexOf("/", at - 1))
        dirs.set(rel.slice(0, at), 0o755);
    }
  }
  const plan = planUpdate({
    manifest: input.manifest,
    release: files,
    releaseDirs: dirs,
    app,
    index,
  });
  return plan.conflicts.filter((c) => c.problem !== NOT_SAFE);
}

/** The release's entries per directory, read from the staging directory (a source without a listing). */
function releaseChildren(input: PathTypesCheck): (dir: string) => Map<string, Kind> {
  return (dir) => {
    const out = entriesOf(input.releaseDir, dir);
    if (dir === "") out.delete(MANIFEST_FILENAME);
    for (const [name, kind] of out) if (kind === "other") out.delete(name); // never installed
    return out;
  };
}

/** The entries of `root/dir` by kind; none when it is missing or not a directory. */
function entriesOf(root: string, dir: string): Map<string, Kind> {
  let dirents: Dirent[];
  try {
    dirents = readdirSync(dir === "" ? root : `${root}/${dir}`, { withFileTypes: true });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ENOTDIR") return new Map();
    throw error;
  }
  const out = new Map<string, Kind>();
  for (const d of dirents) {
    if (d.isDirectory()) out.set(d.name, "dir");
    else if (d.isSymbolicLink()) out.set(d.name, "symlink");
    else if (d.isFile()) out.set(d.name, "file");
    else out.set(d.name, "other");
  }
  return out;
}
