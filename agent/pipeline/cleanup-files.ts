/**
 * The manifest's `cleanup` file removal and `directories.*.cleanup_old` pruning. Protected
 * directories (`preserve: true`) are never walked by the globs; only their own keep_days pruning,
 * which the manifest asks for by name, deletes inside them. Nothing is deleted through a symlink
 * (confined-paths.ts, the rule restores follow): a directory the operator replaced with a link to
 * a shared place (app/logs → /srv/shared/logs) is not ship's to prune, and is left with a warning.
 */
import type { Dirent } from "node:fs";
import { lstat, readdir, rm, unlink } from "node:fs/promises";
import { join, relative, resolve, sep } from "node:path";
import { escapedName, utf8NameOrUndefined } from "../../shared/byte-names.js";
import { errnoCode } from "../../shared/fs-errors.js";
import type { Logger } from "../../shared/log.js";
import { compileGlob } from "../../shared/manifest/glob-matcher.js";
import type { Manifest } from "../../shared/manifest/schema.js";
import { ConfinedPaths } from "../apply/confined-paths.js";
import { IndexFiles } from "../apply/index-files.js";
import { readInstallIndex } from "../apply/install-index.js";
import { protectedDirectoryOf } from "../apply/rules.js";
import { lstatOrUndefined } from "../tree/fs-ops.js";
import { removeTree, TreeRemovalError } from "../tree/remove-tree.js";
import { setAsideIntoBackup } from "./cleanup-backup.js";

const DAY_MS = 24 * 60 * 60 * 1000;

/**
 * `*.pyc` matches at any depth (the seed's intent); a pattern with a slash matches from the root.
 * With `backupPath` (the update's backup) what goes is set aside into it (cleanup-backup.ts), so a
 * rollback brings it back; without, it is deleted.
 */
export async function removeCleanupFiles(
  appDir: string,
  manifest: Manifest,
  log: Logger,
  stateDir: string,
  backupPath?: string,
): Promise<number> {
  const { remove_files: files, remove_directories: dirs } = manifest.cleanup;
  if (files.length === 0 && dirs.length === 0) return 0;
  const kept = await keptPaths(manifest, stateDir);
  const confined = new ConfinedPaths(resolve(appDir));
  /** Removes the entries at `matched`, and those at `unnamedMatched` (not UTF-8: no string names them). */
  const remove = async (matched: string[], unnamedMatched: readonly UnnamedEntry[] = []): Promise<number> => {
    const spared = await sparingKept(appDir, matched, kept, log);
    const rels = spared.rels;
    const unnamedEntries = [...unnamedMatched, ...spared.unnamed];
    if (backupPath === undefined) {
      for (const rel of rels) await removeTree(join(appDir, rel));
      for (const entry of unnamedEntries) await removeByBytes(entry);
      return rels.length + unnamedEntries.length;
    }
    const unnamed = new Set(unnamedEntries.map((entry) => entry.shown));
    if (rels.length > 0)
      for (const rel of await setAsideIntoBackup(appDir, backupPath, rels)) unnamed.add(rel);
    if (unnamed.size > 0)
      log.warn(
        "cleanup: left entries whose names are not UTF-8 (and the directories holding them): the backup could not name them, so a rollback could not bring them back; rename them (convmv -f latin1 -t utf8)",
        { entries: [...unnamed].sort() },
      );
    return rels.length;
  };
  const dirRels: string[] = [];
  for (const dir of dirs) {
    const target = insideApp(appDir, dir);
    if (target === null || isProtected(manifest, appRel(appDir, target))) {
      log.warn("cleanup: not removing a directory outside the app or protected", { directory: dir });
      continue;
    }
    // A link itself is removed (it is in the app); a path through a linked directory is not.
    if (!(await confined.reachable(appRel(appDir, target)))) {
      log.warn("cleanup: not removing a directory behind a symlink: ship never deletes through a link", {
        directory: dir,
      });
      continue;
    }
    if (lstatOrUndefined(target) !== undefined) dirRels.push(appRel(appDir, target));
  }
  let removed = await remove(dirRels);
  if (files.length === 0) return removed;
  // Compiled once, not once per file of the app's listing.
  const globs = files.map((pattern) =>
    compileGlob(pattern, { dot: true, matchBase: !pattern.includes("/") }),
  );
  const matches = (rel: string): boolean => globs.some((glob) => glob.match(rel));
  const listed = await listTree(appDir, manifest);
  const fileRels = listed.named.filter(matches);
  // Matched by the name as it reads (each byte that is not UTF-8 one U+FFFD): `*.pyc` is meant for
  // `caf\xe9.pyc` too. Read as strings, such names were matched, named no file, were left without a
  // word and counted as removed, and nothing under a directory so named was seen at all.
  const unnamedMatched = listed.unnamed.filter((entry) => matches(entry.rel));
  removed += await remove(fileRels, unnamedMatched);
  log.info("cleanup removed files", { removed });
  return removed;
}

/**
 * Deletes files older than keep_days in directories marked cleanup_old, except those the installed
 * release put there (the install index in `stateDir` lists them): a `logs/README` or `.gitkeep`
 * shipped with the release is the release's, not rotation's. It was deleted once its install was
 * keep_days old, so ship's record listed a file the app no longer had.
 */
export async function pruneOldFiles(
  appDir: string,
  manifest: Pick<Manifest, "directories">,
  now: Date,
  log: Logger,
  stateDir: string,
): Promise<number> {
  let pruned = 0;
  let installed: IndexFiles | undefined;
  const confined = new ConfinedPaths(resolve(appDir));
  for (const [dir, rule] of Object.entries(manifest.directories)) {
    if (!rule.cleanup_old || rule.keep_days === undefined) continue;
    const root = insideApp(appDir, dir);
    if (root === null) continue;
    if (!(await confined.isRealDir(appRel(appDir, root)))) {
      if (lstatOrUndefined(root) !== undefined)
        log.warn(
          "cleanup_old: not pruning a directory that is a symlink or sits behind one: ship never deletes through a link",
          {
            directory: dir,
          },
        );
      continue;
    }
    const cutoff = now.getTime() - rule.keep_days * DAY_MS;
    for (const full of await filesUnder(Buffer.from(root))) {
      // Gone since the walk (the app rotating its own logs): nothing left to prune.
      const info = await lstat(full).catch((error: unknown) => {
        if (errnoCode(error) === "ENOENT") return undefined;
        throw error;
      });
      if (info === undefined || info.mtimeMs >= cutoff) continue;
      // A name that is not UTF-8 is no release's (release names are UTF-8): pruned like the others.
      const text = utf8NameOrUndefined(full);
      if (text !== undefined) {
        installed ??= (await readInstallIndex(stateDir))?.files ?? new IndexFiles();
        if (installed.has(appRel(appDir, text))) continue;
      }
      await unlink(full).catch((error: unknown) => {
        if (errnoCode(error) !== "ENOENT") throw new TreeRemovalError(escapedName(full), error);
      });
      pruned += 1;
    }
  }
  if (pruned > 0) log.info("pruned old files", { pruned });
  return pruned;
}

/**
 * What cleanup never removes: the protected directories, and what the release just installed (the
 * install index in `stateDir`). `remove_files: ["*.pyc"]` and `remove_directories: ["legacy_modules"]`
 * are for what earlier versions left behind; they used to delete the release's own `.pyc` files or
 * its `legacy_modules/` after its post_update_tests had passed, and the run said "updated".
 */
interface KeptPaths {
  /** Entries kept whole. */
  exact: Set<string>;
  /** The release's directories and those holding its files: entered, never removed whole. */
  releaseHolding: Set<string>;
  /** Directories holding a protected one: entered, never removed whole. */
  protectedHolding: Set<string>;
  protectedDirs: Set<string>;
}

async function keptPaths(manifest: Manifest, stateDir: string): Promise<KeptPaths> {
  const protectedDirs = new Set(
    Object.entries(manifest.directories)
      .filter(([, rule]) => rule.preserve)
      .map(([dir]) => dir.replace(/^\.?\/+|\/+$/g, "")),
  );
  const index = await readInstallIndex(stateDir);
  const releaseFiles = index === undefined ? [] : [...index.files.keys()];
  return {
    exact: new Set([...protectedDirs, ...releaseFiles]),
    releaseHolding: withParents(new Set(index?.dirs ?? []), releaseFiles),
    protectedHolding: withParents(new Set(), protectedDirs),
    protectedDirs,
  };
}

/** `into` with the directories on the way to each of `rels` added. */
function withParents(into: Set<string>, rels: Iterable<string>): Set<string> {
  for (const rel of rels)
    for (let at = rel.lastIndexOf("/"); at > 0; at = rel.lastIndexOf("/", at - 1)) {
      const dir = rel.slice(0, at);
      if (into.has(dir)) break;
      into.add(dir);
    }
  return into;
}

/**
 * What removing `rels` takes out, kept entries excepted: `var` holding the preserved `var/data`
 * gives way to its other entries, and `var/data` (with the directories on the way to it) stays
 * (removing `var` whole took the operator's database with it); so do the release's own files.
 */
async function sparingKept(
  appDir: string,
  rels: readonly string[],
  kept: KeptPaths,
  log: Logger,
): Promise<{ rels: string[]; unnamed: UnnamedEntry[] }> {
  const out: string[] = [];
  const unnamed: UnnamedEntry[] = [];
  const release = new Set<string>();
  const expand = async (rel: string, named: boolean): Promise<void> => {
    if (kept.exact.has(rel)) {
      if (!named) release.add(rel);
      return;
    }
    const holdsRelease = kept.releaseHolding.has(rel);
    if (
      (!holdsRelease && !kept.protectedHolding.has(rel)) ||
      lstatOrUndefined(join(appDir, rel))?.isDirectory() !== true
    ) {
      out.push(rel);
      return;
    }
    // Named once, at the directory the manifest asked for; the levels below only narrow it down.
    const inside = [...kept.protectedDirs].filter((dir) => dir.startsWith(`${rel}/`));
    if (!named && inside.length > 0)
      log.warn("cleanup: keeping the protected directories inside a directory it removes", {
        directory: rel,
        kept: inside,
      });
    if (!named && holdsRelease) release.add(`${rel}/`);
    for (const bytes of await readdir(join(appDir, rel), { encoding: "buffer" })) {
      const name = utf8NameOrUndefined(bytes);
      if (name === undefined) {
        unnamed.push(unnamedEntry(namedDir(appDir, rel), bytes));
        continue;
      }
      await expand(`${rel}/${name}`, true);
    }
  };
  for (const rel of rels) await expand(rel, false);
  if (release.size > 0)
    log.warn(
      "cleanup: not removing what this release installed: cleanup is for what earlier versions left; drop the release's files from the release, or the entries from cleanup",
      { kept: shortList([...release].sort()) },
    );
  return { rels: out, unnamed };
}

/** At most 20 entries, then how many more: a `*.pyc` over a release of compiled modules names thousands. */
function shortList(rels: readonly string[]): string[] {
  return rels.length <= 20 ? [...rels] : [...rels.slice(0, 20), `… and ${rels.length - 20} more`];
}

/**
 * The manifest's rule, as the apply follows it: the most specific `directories` entry decides, so
 * `data/cache` (preserve: false) inside a preserved `data` is not protected. Any preserved ancestor
 * used to protect it here, so cleanup refused or skipped what the apply itself clears.
 */
function isProtected(manifest: Manifest, rel: string): boolean {
  return protectedDirectoryOf(manifest, rel) !== undefined;
}

/** Whether an entry below protected `rel` is not protected (the walk must enter `rel` to reach it). */
function unprotectedBelow(manifest: Manifest, rel: string): boolean {
  return Object.keys(manifest.directories).some((key) => {
    const dir = key.replace(/^(\.\/)+/, "").replace(/\/+$/, "");
    return dir.startsWith(`${rel}/`) && !isProtected(manifest, dir);
  });
}

/** `target` (inside the app) relative to it, with `/` separators as ConfinedPaths takes them. */
function appRel(appDir: string, target: string): string {
  return relative(resolve(appDir), target).split(sep).join("/");
}

function insideApp(appDir: string, rel: string): string | null {
  const target = resolve(appDir, rel);
  return target.startsWith(`${resolve(appDir)}${sep}`) ? target : null;
}

/**
 * The regular files under `dir` (never through a symlink), as byte paths: read as strings, a name
 * that is not UTF-8 (`caf\xe9.log`, Latin-1) named no file, its lstat failed with ENOENT, and the
 * cleanup step failed, so every update of the app was rolled back and every run without one failed.
 */
async function filesUnder(dir: Buffer): Promise<Buffer[]> {
  let entries: Dirent<Buffer>[];
  try {
    entries = await readdir(dir, { withFileTypes: true, encoding: "buffer" });
  } catch (error) {
    if (errnoCode(error) === "ENOENT") return [];
    throw error;
  }
  const out: Buffer[] = [];
  for (const entry of entries) {
    const path = Buffer.concat([dir, SLASH, entry.name]);
    if (entry.isDirectory()) out.push(...(await filesUnder(path)));
    else if (entry.isFile()) out.push(path);
  }
  return out;
}

const SLASH = Buffer.from("/");

/** An app entry whose name, or that of a directory on its way, is not UTF-8. */
interface UnnamedEntry {
  /** As a glob reads it: each byte that is not UTF-8 is U+FFFD. */
  rel: string;
  /** As a message shows it: `caf\xe9.pyc`. */
  shown: string;
  /** The entry's path as the kernel names it. */
  path: Buffer;
}

const lossyUtf8 = new TextDecoder("utf-8");

/** A named directory of the app as the parent of unnamed entries. */
function namedDir(root: string, rel: string): UnnamedEntry {
  return { rel, shown: rel, path: Buffer.from(join(root, rel)) };
}

function unnamedEntry(parent: UnnamedEntry, name: Buffer): UnnamedEntry {
  const under = (text: string) => (parent.rel === "" ? text : `${parent.rel}/${text}`);
  return {
    rel: under(lossyUtf8.decode(name)),
    shown: parent.shown === "" ? escapedName(name) : `${parent.shown}/${escapedName(name)}`,
    path: Buffer.concat([parent.path, SLASH, name]),
  };
}

async function removeByBytes(entry: UnnamedEntry): Promise<void> {
  try {
    await rm(entry.path, { recursive: true, force: true });
  } catch (error) {
    throw new TreeRemovalError(escapedName(entry.path), error);
  }
}

interface ListedTree {
  named: string[];
  unnamed: UnnamedEntry[];
}

/**
 * Files and directories, relative paths, protected ones left out (and not entered, unless an
 * unprotected directory lies below). Names are read as bytes: one that is not UTF-8 (and all below
 * it) goes to `unnamed`.
 */
async function listTree(root: string, manifest: Manifest): Promise<ListedTree> {
  const out: ListedTree = { named: [], unnamed: [] };
  await listInto(root, "", manifest, out);
  return out;
}

async function entriesOf(path: string | Buffer): Promise<Dirent<Buffer>[]> {
  try {
    return await readdir(path, { withFileTypes: true, encoding: "buffer" });
  } catch (error) {
    if (errnoCode(error) === "ENOENT") return [];
    throw error;
  }
}

async function listInto(root: string, rel: string, manifest: Manifest, out: ListedTree): Promise<void> {
  for (const entry of await entriesOf(join(root, rel))) {
    const name = utf8NameOrUndefined(entry.name);
    if (name === undefined) {
      const unnamed = unnamedEntry(namedDir(root, rel), entry.name);
      out.unnamed.push(unnamed);
      if (entry.isDirectory()) await listUnnamedInto(unnamed, out);
      continue;
    }
    const child = rel === "" ? name : `${rel}/${name}`;
    if (isProtected(manifest, child)) {
      if (entry.isDirectory() && unprotectedBelow(manifest, child))
        await listInto(root, child, manifest, out);
      continue;
    }
    out.named.push(child);
    if (entry.isDirectory()) await listInto(root, child, manifest, out);
  }
}

/** Below a directory whose name is not UTF-8, every entry is unnamed (none is protected: no manifest names it). */
async function listUnnamedInto(dir: UnnamedEntry, out: ListedTree): Promise<void> {
  for (const entry of await entriesOf(dir.path)) {
    const child = unnamedEntry(dir, entry.name);
    out.unnamed.push(child);
    if (entry.isDirectory()) await listUnnamedInto(child, out);
  }
}
