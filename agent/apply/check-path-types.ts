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
import { type Dirent, readdirSync, statSync } from "node:fs";
import { BadInputError } from "../../shared/errors.js";
import { MANIFEST_FILENAME, type Manifest } from "../../shared/manifest/schema.js";
import { nameFits } from "../tree/fs-ops.js";
import { isDirectoryMode, isFileMode, isSymlinkMode, lstatLite } from "../tree/lstat-lite.js";
import { scanTree } from "../tree/scan-tree.js";
import { conflictSummary } from "./apply-update.js";
import { indexPath, readInstallIndex } from "./install-index.js";
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
  const release = releaseChildren(input);
  // Read here from the cache the apply reads it from again (install-index.ts): parsed once a run.
  const index = await readInstallIndex(input.stateDir);
  const written = statSync(indexPath(input.stateDir), { throwIfNoEntry: false })?.mtimeMs;
  if (!collides(input, release, index === undefined ? undefined : { files: index.files, written })) return;
  const conflicts = await plannedConflicts(input, index);
  if (conflicts.length === 0) return;
  const reason =
    `release ${input.manifest.version} cannot be installed: ${conflictSummary(conflicts, input.appDir)}; ` +
    "ship did not install what is in the way (or it holds files ship did not install): move it aside, " +
    "then run ship again; nothing was run or changed";
  throw new BadInputError([{ file: input.appDir, path: "", message: reason, severity: "error" }], reason);
}

/**
 * Whether some release path meets an app entry of another type (a candidate for a conflict). An
 * app directory not changed since ship wrote its install index (its ctime is older than the index file's mtime) still holds
 * the entries ship installed there, so only the release's other names in it are looked at (an lstat
 * each): the check costs what the release adds, not one read of every directory of the app.
 */
function collides(
  input: PathTypesCheck,
  release: (dir: string) => Map<string, Kind>,
  installed: { files: InstallIndex["files"]; written: number | undefined } | undefined,
): boolean {
  const keepCopies = anyKeepsCopy(input.manifest);
  const pending = [""];
  for (let dir = pending.pop(); dir !== undefined; dir = pending.pop()) {
    // The app directory itself may be a symlink (app_dir = /srv/app leading to a release tree).
    const stat =
      dir === ""
        ? statSync(input.appDir, { throwIfNoEntry: false })
        : lstatLite(`${input.appDir}/${dir}`, false);
    if (stat === undefined || !isDirectoryMode(stat.mode)) continue;
    // ctime, not mtime: `cp -a`, `rsync -a` or `tar -x` of a saved copy set a directory's mtime back
    // to before the index; nothing sets its ctime back, and any entry added or removed moves it.
    const settled = installed?.written !== undefined && stat.ctimeMs < installed.written;
    const app = settled ? undefined : entriesOf(input.appDir, dir);
    for (const [name, kind] of release(dir)) {
      const rel = dir === "" ? name : `${dir}/${name}`;
      // The `.bak` a replace keeps beside the file is written too: a directory there is refused
      // by the apply (after the hooks), whatever the index says of the file itself.
      if (keepCopies && kind !== "dir" && keepCopyInTheWay(input, rel)) return true;
      if (kind !== "dir" && settled && installed?.files[rel] !== undefined) continue;
      const appKind = app === undefined ? kindAt(`${input.appDir}/${rel}`) : app.get(name);
      if (appKind === undefined) continue;
      if (protectedDirectoryOf(input.manifest, rel) !== undefined) continue;
      if (kind === "dir") {
        if (appKind === "dir") pending.push(rel);
        else return true;
      } else if (
        (appKind === "dir" || appKind === "other") &&
        ruleFor(input.manifest, rel).rule.action !== "skip"
      )
        return true;
    }
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

/** The release's entries per directory: from the source's listing, or read from the staging directory. */
function releaseChildren(input: PathTypesCheck): (dir: string) => Map<string, Kind> {
  if (input.listing === undefined)
    return (dir) => {
      const out = entriesOf(input.releaseDir, dir);
      if (dir === "") out.delete(MANIFEST_FILENAME);
      for (const [name, kind] of out) if (kind === "other") out.delete(name); // never installed
      return out;
    };
  const tree = new Map<string, Map<string, Kind>>();
  const childrenOf = (dir: string): Map<string, Kind> => {
    let children = tree.get(dir);
    if (children === undefined) {
      children = new Map();
      tree.set(dir, children);
      // A directory met for the first time: it is its parent's entry (and so on up, once each).
      if (dir !== "") childrenOf(parentOf(dir)).set(dir.slice(dir.lastIndexOf("/") + 1), "dir");
    }
    return children;
  };
  for (const [rel, entry] of input.listing) {
    if (rel === MANIFEST_FILENAME) continue;
    childrenOf(parentOf(rel)).set(
      rel.slice(rel.lastIndexOf("/") + 1),
      entry.type === "symlink" ? "symlink" : "file",
    );
  }
  return (dir) => tree.get(dir) ?? new Map();
}

function parentOf(rel: string): string {
  const slash = rel.lastIndexOf("/");
  return slash < 0 ? "" : rel.slice(0, slash);
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
