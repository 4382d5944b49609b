/**
 * Paths ship.toml keys name that a run creates when missing but cannot use as the wrong kind: a
 * state_file, lock_file or logging.file that is a directory, a backup_dir, work_dir or app_dir that is
 * a file, or any of them under a file (a typo'd parent, `app_dir = "/srv/app.tar.gz/app"`).
 * Bad input naming the key (exit 2), before anything is read or written, instead of "internal
 * error: EISDIR" or an update that fails at its apply with a bare ENOTDIR (exit 1). Its own module:
 * every CLI mode that loads ship.toml runs it, the restore bundle included.
 */
import { readdirSync, Stats, statSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import type { AgentConfig } from "../../shared/config/schema.js";
import { BadInputError, formatIssue, type Issue } from "../../shared/errors.js";
import { errnoCode } from "../../shared/fs-errors.js";
import { dirNames, isWithin } from "../tree/dir-names.js";
import { lstatOrUndefined } from "../tree/fs-ops.js";
import { danglingLink, pathOnDisk } from "../tree/path-on-disk.js";

export interface NamedPath {
  key: string;
  path: string;
  /** What the path must be when it exists (a missing one is created by the run). */
  kind: "directory" | "file";
}

/**
 * A stat, or the error it met. Synchronous, as every look-up of these checks: a handful per
 * configured path on every command's start, where each awaited call was a round trip through
 * libuv's thread pool (~3x the call's own CPU).
 */
function statOrError(path: string): unknown {
  try {
    return statSync(path);
  } catch (error) {
    return error;
  }
}

/** The names in `dir`; none when it cannot be listed. */
function namesIn(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

/** What of `paths` exists as the wrong kind (symlinks followed, as the run follows them). */
export async function kindProblems(paths: NamedPath[], configFile: string): Promise<Issue[]> {
  const issues: Issue[] = [];
  for (const { key, path, kind } of paths) {
    const looked = statOrError(path);
    const found = looked instanceof Stats ? looked : undefined;
    // A file where the path needs a directory: the run's mkdir failed with "already exists (EEXIST)"
    // or a bare ENOTDIR, exit 1, after the hooks ran.
    const blocker = errnoCode(looked) === "ENOTDIR" ? await fileInTheWay(path) : undefined;
    if (blocker !== undefined) {
      issues.push({
        file: configFile,
        path: key,
        message: `${path} cannot be created: ${blocker} is a file, not a directory`,
        severity: "error",
      });
      continue;
    }
    // A file's own name may be a dangling link (opening it creates the target); its directory may not.
    const dangling =
      found === undefined ? await danglingLink(kind === "directory" ? path : dirname(path)) : undefined;
    if (dangling !== undefined) {
      const through =
        dangling.link === resolve(path) ? `${dangling.link} is` : `${path} lies behind ${dangling.link},`;
      issues.push({
        file: configFile,
        path: key,
        message: `${through} ${dangling.leadsTo}`,
        severity: "error",
      });
      continue;
    }
    const unreachable = found === undefined && kind === "file" ? await fileLinkProblem(path) : undefined;
    if (unreachable !== undefined) {
      issues.push({ file: configFile, path: key, message: unreachable, severity: "error" });
      continue;
    }
    if (found === undefined || (kind === "directory" ? found.isDirectory() : found.isFile())) continue;
    const is = found.isDirectory()
      ? "a directory"
      : found.isFile()
        ? "a file"
        : "not a regular file or directory";
    issues.push({
      file: configFile,
      path: key,
      message: `${path} is ${is}; it must be a ${kind}`,
      severity: "error",
    });
  }
  return issues;
}

/** The nearest existing ancestor of `path` when it is not a directory (the component a lookup stopped at). */
async function fileInTheWay(path: string): Promise<string | undefined> {
  for (let at = dirname(resolve(path)); at !== dirname(at); at = dirname(at)) {
    const found = statOrError(at);
    if (!(found instanceof Stats)) continue;
    return found.isDirectory() ? undefined : at;
  }
  return undefined;
}

/**
 * A file's own name that is a symlink leading into a directory that does not exist (a log file on a
 * volume not mounted): opening it cannot create the target, and the run failed with exit 1 ("cannot
 * write log file … ENOENT") instead of naming the key. A link whose target's directory exists is
 * left alone: opening it creates the target.
 */
async function fileLinkProblem(path: string): Promise<string | undefined> {
  const entry = lstatOrUndefined(path);
  if (entry === undefined || !entry.isSymbolicLink()) return undefined;
  // A link that leads back to itself: before, exit 1 with a bare "ELOOP: too many symbolic links".
  if (errnoCode(statOrError(path)) === "ELOOP") return `${path} is a loop of symlinks: point it at a file`;
  const target = await pathOnDisk(path);
  const targetDir = statOrError(dirname(target));
  if (targetDir instanceof Stats && targetDir.isDirectory()) return undefined;
  return `${path} is a symlink to ${target}, whose directory ${dirname(target)} does not exist: create that directory (or point the link at an existing one)`;
}

/** [general]: the state file, backup and work directories and the lock file. */
export async function checkGeneralPaths(config: AgentConfig, configFile: string): Promise<void> {
  const { general } = config;
  const paths: NamedPath[] = [
    { key: "general.state_file", path: general.state_file, kind: "file" },
    { key: "general.backup_dir", path: general.backup_dir, kind: "directory" },
  ];
  if (general.work_dir !== undefined)
    paths.push({ key: "general.work_dir", path: general.work_dir, kind: "directory" });
  if (general.lock_file !== undefined)
    paths.push({ key: "general.lock_file", path: general.lock_file, kind: "file" });
  if (general.logging.file !== undefined)
    paths.push({ key: "general.logging.file", path: general.logging.file, kind: "file" });
  const issues = await kindProblems(paths, configFile);
  if (issues.length > 0) throw new BadInputError(issues, issues.map(formatIssue).join("; "));
}

/** A path from ship.toml as written and where it leads on disk. */
interface PlacedPath {
  written: string;
  /** As written with `.`, `..`, `//` and a trailing `/` resolved. */
  resolved: string;
  onDisk: string;
  /** The directory's names on this host (dirNames of onDisk), itself first. */
  names: string[];
}

/**
 * Names taken once per path: each pair of apps is compared (whether they nest), and asking the
 * mount table for both paths' names at every comparison made a config of 200 sources take 1.5 s
 * of CPU at every command's start.
 */
async function placed(path: string): Promise<PlacedPath> {
  const onDisk = await pathOnDisk(path);
  return { written: path, resolved: resolve(path), onDisk, names: dirNames(onDisk) };
}

/**
 * Inside, as written or on disk under any of the directories' names: a symlink moves a directory
 * where its spelling does not say, and a bind mount shows it at a second path.
 */
function placedWithin(child: PlacedPath, parent: PlacedPath): boolean {
  return (
    isWithin(child.resolved, parent.resolved) ||
    child.names.some((name) => parent.names.some((around) => isWithin(name, around)))
  );
}

function samePlace(a: PlacedPath, b: PlacedPath): boolean {
  return a.resolved === b.resolved || a.names.some((name) => b.names.includes(name));
}

/**
 * ` (→ /real/path)` when symlinks take `path` elsewhere, and ` (bound at …)` for the directory's other
 * names by bind mounts, so a refusal the spelling cannot explain is readable.
 */
function leadsTo(path: PlacedPath): string {
  const link = path.onDisk === path.resolved ? "" : ` (→ ${path.onDisk})`;
  const others = path.names.slice(1);
  return others.length === 0 ? link : `${link} (also ${others.join(", ")} by a bind mount)`;
}

/**
 * Where app directories may be, checked before anything is read or written (bad input, exit 2,
 * one line naming the keys):
 * - an app_dir that is `/`: every file of the host would be the app's to replace, back up and scan;
 * - ship's own directories (backup_dir, work_dir, the state file's directory) at or inside an
 *   app_dir: a release holding a path of that name would overwrite ship's backups or state, and
 *   every update would scan them as the app's files; an app_dir inside backup_dir or work_dir,
 *   which ship prunes and empties;
 * - a local source whose `path` is an app_dir (its own or another source's), inside it or around
 *   it: the release would hold the app, or be part of what it (or the other app) replaces;
 * - two sources whose app_dirs nest (`/srv/app` and `/srv/app/plug`): see nestedApps.
 * With `running` (the sources a run or the daemon updates): two of them filling one app_dir. Each
 * would replace the other's files (an install removes what the previous release installed and its
 * own lacks) and each would then report its own version as installed. The seed's example config
 * names three sources for one app_dir, one per source type: a run picks one with `--sources`.
 * Every comparison is made on the paths as written and on where their symlinks lead: an app_dir
 * linked into backup_dir is pruned with it all the same.
 */
export async function checkAppDirs(
  config: AgentConfig,
  configFile: string,
  running?: readonly string[],
): Promise<void> {
  const issues: Issue[] = [];
  const issue = (key: string, message: string) =>
    issues.push({ file: configFile, path: key, message, severity: "error" });
  const backupDir = await placed(config.general.backup_dir);
  const own: { key: string; dir: PlacedPath; what?: string }[] = [
    { key: "general.backup_dir", dir: backupDir },
    {
      key: "general.state_file",
      dir: await placed(dirname(config.general.state_file)),
      what: "its directory ",
    },
  ];
  if (config.general.work_dir !== undefined)
    own.push({ key: "general.work_dir", dir: await placed(config.general.work_dir) });
  const pruned = own.filter((o) => o.key !== "general.state_file");
  const perAppBackups = await perAppBackupDirs(config);
  const apps = new Map<string, PlacedPath>();
  const releases = new Map<string, PlacedPath>();
  for (const [name, source] of Object.entries(config.sources)) {
    const key = `sources.${name}.app_dir`;
    const app = await placed(source.app_dir);
    apps.set(name, app);
    if (isRoot(app)) {
      issue(
        key,
        `must not be /${leadsTo(app)} (every file of the host would be the app's): name the app's own directory`,
      );
      continue;
    }
    for (const { key: ownKey, dir, what = "" } of own) {
      if (placedWithin(dir, app))
        issue(
          ownKey,
          `${what}${dir.written}${leadsTo(dir)} is ${samePlace(dir, app) ? "" : "inside "}${key} (${app.written}${leadsTo(app)}): a release could overwrite ship's own files; keep it outside the app`,
        );
    }
    // Backups go to backup_dir/<source>/: a symlink (or a bind mount) there into the app escaped the
    // check above and every update wrote its backups inside the app it replaces.
    for (const perApp of perAppBackups) {
      const moved = perApp.onDisk !== perApp.resolved || perApp.names.length > 1;
      if (moved && !placedWithin(backupDir, app) && placedWithin(perApp, app))
        issue(
          "general.backup_dir",
          `${perApp.written}${leadsTo(perApp)} is inside ${key} (${app.written}${leadsTo(app)}): ship writes that app's backups there, and a release could overwrite them; make it a directory outside the app`,
        );
    }
    for (const { key: ownKey, dir } of pruned) {
      if (placedWithin(app, dir) && !placedWithin(dir, app))
        issue(
          key,
          `${app.written}${leadsTo(app)} is inside ${ownKey} (${dir.written}${leadsTo(dir)}), which ship prunes; keep the app outside it`,
        );
    }
    if (source.type === "local") releases.set(name, await placed(source.path));
  }
  // Against every app, not only its own: a release read from inside another app's directory is
  // changed or deleted by that app's updates and restores, and one around another app holds that
  // app's live files.
  for (const [name, from] of releases)
    for (const [other, app] of apps) {
      if (isRoot(app)) continue;
      if (!placedWithin(from, app) && !placedWithin(app, from)) continue;
      const keys = other === name ? `sources.${name}.path` : `sources.${name}.path, sources.${other}.app_dir`;
      issue(
        keys,
        `${from.written}${leadsTo(from)} and app_dir ${app.written}${leadsTo(app)} overlap: the release must be read from outside ${other === name ? "the" : "every"} app directory`,
      );
    }
  for (const { outer, inner } of nestedApps(apps))
    issue(
      `sources.${outer.name}.app_dir, sources.${inner.name}.app_dir`,
      `${inner.dir.written}${leadsTo(inner.dir)} is inside ${outer.dir.written}${leadsTo(outer.dir)}: ${outer.name}'s releases, cleanup, backups and restores would replace or delete ${inner.name}'s files; give each app a directory of its own, neither inside the other`,
    );
  for (const names of oneDirByTwoPaths(apps))
    issue(
      names.map((n) => `sources.${n}.app_dir`).join(", "),
      `${names.map((n) => apps.get(n)?.onDisk).join(" and ")} are one directory (a bind mount): ship keeps its record of what it installed, and the backups, per path, so each would take the other's files for files ship did not install; name it by one path in every source`,
    );
  if (running !== undefined) {
    const byDir = new Map<string, string[]>();
    for (const name of running) {
      const app = apps.get(name);
      if (app === undefined) continue;
      byDir.set(app.onDisk, [...(byDir.get(app.onDisk) ?? []), name]);
    }
    for (const [dir, names] of byDir) {
      if (names.length < 2) continue;
      issue(
        names.map((n) => `sources.${n}.app_dir`).join(", "),
        `all name ${dir}: one app directory takes its releases from one source (each would replace the other's files); run one with --sources ${names[0]}`,
      );
    }
  }
  if (issues.length > 0) throw new BadInputError(issues, issues.map(formatIssue).join("; "));
}

/** An app_dir of `/`, refused on its own: every other path would be named inside it again. */
function isRoot(dir: PlacedPath): boolean {
  return dir.resolved === "/" || dir.onDisk === "/";
}

interface NamedApp {
  name: string;
  dir: PlacedPath;
}

/**
 * Pairs of sources whose app_dirs nest (`/srv/app` and `/srv/app/plug`), as written,
 * through symlinks or under a bind mount's other name. Refused for every configured source, not
 * only those a run updates: the outer app's release replaced the inner app's files (exit 0, with a
 * warning), its `preserve: false` and cleanup rules reach into the inner app, and its backups hold
 * the inner app's files at the time they were taken — whichever of the two is run. One directory
 * named twice is not nesting: the seed's alternative sources share one app_dir (checked above).
 */
function nestedApps(apps: ReadonlyMap<string, PlacedPath>): { outer: NamedApp; inner: NamedApp }[] {
  const pairs: { outer: NamedApp; inner: NamedApp }[] = [];
  const entries = [...apps].filter(([, dir]) => !isRoot(dir)).map(([name, dir]) => ({ name, dir }));
  for (const inner of entries)
    for (const outer of entries)
      if (outer !== inner && placedWithin(inner.dir, outer.dir) && !samePlace(inner.dir, outer.dir))
        pairs.push({ outer, inner });
  return pairs;
}

/**
 * Sources whose app_dirs lead to one directory by two paths no symlink joins (a bind mount, as
 * /srv/app bound at /var/www/app): same device and inode, another real path. ship's install
 * index and backups are kept per path, so each source took the other's files for files it had not
 * installed — beta replaced alpha's, said "the install index is gone", and no refusal stopped a run
 * of both. Each group is the sources' names.
 */
function oneDirByTwoPaths(apps: ReadonlyMap<string, PlacedPath>): string[][] {
  const byInode = new Map<string, { names: string[]; paths: Set<string> }>();
  for (const [name, app] of apps) {
    // A path that cannot be followed (a symlink loop: ELOOP) is another check's issue to name.
    const stat = statOrUndefined(app.onDisk);
    if (stat === undefined || !stat.isDirectory()) continue;
    const key = `${stat.dev}:${stat.ino}`;
    const group = byInode.get(key) ?? { names: [], paths: new Set<string>() };
    group.names.push(name);
    group.paths.add(app.onDisk);
    byInode.set(key, group);
  }
  return [...byInode.values()].filter((g) => g.paths.size > 1).map((g) => g.names);
}

function statOrUndefined(path: string): Stats | undefined {
  try {
    return statSync(path, { throwIfNoEntry: false });
  } catch {
    return undefined;
  }
}

/** backup_dir/<name> of every source, and of every name already there (a renamed source's). */
async function perAppBackupDirs(config: AgentConfig): Promise<PlacedPath[]> {
  const root = config.general.backup_dir;
  const there = namesIn(root);
  const names = new Set([...Object.keys(config.sources), ...there]);
  return Promise.all([...names].map((name) => placed(join(root, name))));
}
