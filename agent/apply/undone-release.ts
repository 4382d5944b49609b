/**
 * The files of a release being undone, for its rollback commands: their working directory and
 * `$SHIP_RELEASE_DIR`. A script the release shipped (`scripts/rollback.sh`) must still run after the
 * restore took it out of the app, and nothing a command writes there may change the restored app.
 *
 * What this costs follows the undone update, not the app. Before the restore only the files that
 * update wrote (its backup's inventory) are hard-linked aside: the restore takes them out of the app,
 * so these links are the release's alone. Every other file of the release is still the restored
 * app's own file. Where ship may mount (root, overlayfs), the directory is an overlay of the kept
 * files over the app: a command reads the app's files through it, and what it writes goes to the
 * overlay's own layer, never to the app. Elsewhere those files are copied from the app (a cost of the
 * app's size; a hard link would be the app's file, which a command appending to it would change).
 */
import { lchown, rename, rm, stat } from "node:fs/promises";
import { dirname, join } from "node:path";
import { errnoErrorText } from "../../shared/fs-errors.js";
import { makeDirs } from "../../shared/make-dirs.js";
import { readBackupInstalled, readBackupInventory } from "../backup/backup-store.js";
import { chmodEntry, copyEntry, linkEntry, lstatOrUndefined, ownerOnlyDir } from "../tree/fs-ops.js";
import { removeTree } from "../tree/remove-tree.js";
import { ConfinedPaths } from "./confined-paths.js";
import { readInstallIndex, readInstallIndexHeader } from "./install-index.js";

export interface KeptRelease {
  /** `$SHIP_RELEASE_DIR`. */
  readonly dir: string;
  readonly appDir: string;
  /** The undone release's version (the install index's before the restore). */
  readonly version: string;
  /** True when a trial mount worked: the rest of the release is seen through the app. */
  readonly overlaid: boolean;
  /** Without the overlay: the release's files its update did not write (after the restore, the app's). */
  readonly unchanged: readonly string[];
  /** The files kept by a hard link (not copied): showUndoneRelease copies those the restore left in the app. */
  readonly linked: readonly string[];
}

/** The overlay's layers beside the directory: the kept files, its upper layer and its work directory. */
/**
 * Where the kept release's hard links to the app's files are, at their paths in the app: names the
 * rollback made, not the operator's (restore-links.ts leaves them out of the names it reports).
 */
export function ownLinksOf(kept: KeptRelease): string {
  return layersOf(kept.dir).kept;
}

function layersOf(dir: string): { kept: string; upper: string; work: string } {
  const layers = `${dir}.layers`;
  return { kept: join(layers, "kept"), upper: join(layers, "upper"), work: join(layers, "work") };
}

interface KeepInput {
  appDir: string;
  stateDir: string;
  backupPath: string;
  dir: string;
}

/**
 * Before the restore: links aside what the installed release's update wrote. Undefined when ship
 * installed nothing (no install index). A previous copy (a killed run's) is removed first.
 */
export async function keepUndoneRelease(input: KeepInput): Promise<KeptRelease | undefined> {
  await dropUndoneRelease(input.dir);
  try {
    return await keepLinks(input);
  } catch (error) {
    // Stopped part-way (a link refused, a full disk): its callers go on without it, and nothing
    // else would remove the links it made to the app's files until the next rollback with hooks.
    await dropUndoneRelease(input.dir).catch(() => undefined);
    throw error;
  }
}

async function keepLinks(input: KeepInput): Promise<KeptRelease | undefined> {
  const version = (await readInstallIndexHeader(input.stateDir))?.version;
  if (version === undefined) return undefined;
  const { kept } = layersOf(input.dir);
  // The layers hold hard links to the app's files (and, mounted, the overlay's own layer): ship's alone.
  await ownerOnlyDir(dirname(kept));
  await makeDirs(kept);
  // Without the overlay this directory becomes $SHIP_RELEASE_DIR, a copy of the app.
  await asClosedAsApp(kept, input.appDir);
  const { written, removed } = await changesOf(input.backupPath);
  const all = async () => [...((await readInstallIndex(input.stateDir))?.files.keys() ?? [])];
  const aside = new Set(written ?? (await all()));
  const paths = new ConfinedPaths(input.appDir);
  const linked: string[] = [];
  for (const rel of aside) {
    // Only entries inside the app: never a file behind a directory someone replaced with a symlink.
    if (!(await paths.reachable(rel))) continue;
    const from = join(input.appDir, rel);
    const stat = lstatOrUndefined(from);
    // Removed since the install, or made something a release does not ship (a directory of the
    // app's own in place of the file, a FIFO): nothing of the release's to keep. A directory there
    // failed the link and then the copy, and `ship --rollback` with rollback hooks stopped on it.
    if (stat === undefined || (!stat.isFile() && !stat.isSymbolicLink())) continue;
    // A file with another name (a hard link to a file outside the app, or to another of the app's)
    // would take a command's write there too: it gets a copy of its own.
    if (stat.isFile() && stat.nlink > 1) {
      await makeDirs(dirname(join(kept, rel)));
      await copyEntry(from, join(kept, rel));
    } else if ((await linkEntry(from, join(kept, rel))) === "linked") linked.push(rel);
  }
  // A trial mount now, before anything moved: after the restore there is no list of the release's
  // files left to copy from (the install index is the previous one then).
  const overlaid =
    written !== undefined &&
    mayMount(input.dir, input.appDir) &&
    (await hideRemoved(kept, removed)) &&
    (await mountOverlay(input.dir, input.appDir, { trial: true }));
  if (!overlaid) for (const rel of removed) if (isWhiteout(join(kept, rel))) await rm(join(kept, rel));
  const unchanged = overlaid ? [] : (await all()).filter((rel) => !aside.has(rel));
  return { dir: input.dir, appDir: input.appDir, version, overlaid, unchanged, linked };
}

/**
 * What the undone update changed: the paths it wrote that its release has (its backup's install
 * entries, or for a backup made before those were kept, its inventory), and the paths it removed,
 * which the restore brings back into the app (top-most directory first). `written` is undefined when
 * the backup's records cannot be read (the restore fails on them anyway): every file is linked then.
 */
async function changesOf(backupPath: string): Promise<{ written?: string[]; removed: string[] }> {
  const inventory = await readBackupInventory(backupPath).catch(() => undefined);
  if (inventory === undefined) return { removed: [] };
  const installed = await readBackupInstalled(backupPath).catch(() => undefined);
  if (installed === undefined) return { written: [...inventory.changed, ...inventory.added], removed: [] };
  const dirs = inventory.removedDirs.map((dir) => dir.rel).sort();
  const removed: string[] = [];
  for (const rel of [...dirs, ...inventory.changed.filter((rel) => !installed.has(rel))])
    if (!removed.some((dir) => rel.startsWith(`${dir}/`))) removed.push(rel);
  return { written: [...installed.keys()], removed };
}

/**
 * Whiteouts (0/0 character devices, what overlayfs reads as "deleted here") in the kept layer for
 * what the undone update removed: the restore puts those back in the app, and the release had none
 * of them. One shell for all; false when it fails (then the files are copied instead).
 */
async function hideRemoved(kept: string, removed: readonly string[]): Promise<boolean> {
  const hide: string[] = [];
  for (const rel of removed) {
    // Not where the release has a file of its own (a directory it turned into a file).
    if (lstatOrUndefined(join(kept, rel)) !== undefined || !underDirs(kept, rel)) continue;
    await makeDirs(dirname(join(kept, rel)));
    hide.push(join(kept, rel));
  }
  // In chunks: an argument list has a size limit.
  for (let at = 0; at < hide.length; at += 500)
    if (
      !(await run("/bin/sh", [
        "-c",
        'for p; do mknod -- "$p" c 0 0 || exit 1; done',
        "sh",
        ...hide.slice(at, at + 500),
      ]))
    )
      return false;
  return true;
}

/** True when no parent of `rel` in `root` is something other than a directory. */
function underDirs(root: string, rel: string): boolean {
  for (let parent = dirname(rel); parent !== "."; parent = dirname(parent)) {
    const stat = lstatOrUndefined(join(root, parent));
    if (stat !== undefined && !stat.isDirectory()) return false;
  }
  return true;
}

function isWhiteout(path: string): boolean {
  const stat = lstatOrUndefined(path);
  return stat?.isCharacterDevice() === true && stat.rdev === 0;
}

/**
 * After the restore: makes the kept files the whole release, at `kept.dir`. Says where the rollback
 * commands run (undefined: the app directory, when the overlay that worked before the restore does
 * not mount now), and the problems to warn about (a file that could not be copied is left out,
 * never left shared with the app).
 */
export async function showUndoneRelease(kept: KeptRelease): Promise<{ dir?: string; problems: string[] }> {
  if (kept.overlaid) {
    if (await mountOverlay(kept.dir, kept.appDir, { trial: false })) return { dir: kept.dir, problems: [] };
    return {
      problems: [
        `could not mount the undone release's files at ${kept.dir}: its rollback commands run in the app directory`,
      ],
    };
  }
  await rename(layersOf(kept.dir).kept, kept.dir);
  const problems: string[] = [];
  const paths = new ConfinedPaths(kept.appDir);
  await unshareLeftAlone(kept, paths, problems);
  for (const rel of kept.unchanged) {
    if (!(await paths.reachable(rel))) continue;
    const from = join(kept.appDir, rel);
    if (lstatOrUndefined(from) === undefined) continue; // removed from the app since: nothing to copy
    try {
      await makeDirs(dirname(join(kept.dir, rel)));
      await copyEntry(from, join(kept.dir, rel));
    } catch (error) {
      problems.push(`${errnoErrorText(error)}; left out of $SHIP_RELEASE_DIR`);
    }
  }
  return { dir: kept.dir, problems };
}

/**
 * A file linked aside is the release's alone once the restore took it out of the app. One the
 * restore left in place (changed on the host since the update, so not ship's to touch) is still the
 * app's own inode: a command appending to it in `$SHIP_RELEASE_DIR` wrote into the restored app.
 * Such a file gets a copy of its own; one that cannot be copied is left out, never shared.
 */
async function unshareLeftAlone(kept: KeptRelease, paths: ConfinedPaths, problems: string[]): Promise<void> {
  for (const rel of kept.linked) {
    const own = lstatOrUndefined(join(kept.dir, rel));
    if (own === undefined || !(await paths.reachable(rel))) continue;
    const app = lstatOrUndefined(join(kept.appDir, rel));
    if (app === undefined || app.ino !== own.ino || app.dev !== own.dev) continue;
    try {
      await copyEntry(join(kept.dir, rel), join(kept.dir, rel));
    } catch (error) {
      await rm(join(kept.dir, rel), { force: true });
      problems.push(`${errnoErrorText(error)}; left out of $SHIP_RELEASE_DIR`);
    }
  }
}

/**
 * Mounts the kept files over the app at `dir` (a trial is unmounted at once). False where ship may
 * not mount (not root, no overlayfs, a container without the right, a path mount cannot take).
 */
async function mountOverlay(dir: string, appDir: string, how: { trial: boolean }): Promise<boolean> {
  if (!mayMount(dir, appDir)) return false;
  const { kept, upper, work } = layersOf(dir);
  await makeDirs(dir);
  await makeDirs(upper);
  // The overlay's root takes its upper layer's mode and owner: the app's, not mkdir's 755.
  await asClosedAsApp(upper, appDir);
  await makeDirs(work);
  const options = `lowerdir=${kept}:${appDir},upperdir=${upper},workdir=${work}`;
  const ok = await run("mount", ["-t", "overlay", "ship-release-being-undone", "-o", options, dir]);
  if (ok && how.trial) await unmount(dir);
  if (!ok || how.trial) await removeTree(dir);
  return ok;
}

/** Only root mounts, and mount's option list cannot carry these characters unescaped. */
/**
 * `dir`, which shows the app's whole tree to its rollback commands, gets the app directory's owner,
 * group and mode: an app directory of 0750 (root:www-data) is what keeps its 644 config from other
 * users, and the copy or overlay made 755 in ship's state directory handed it to every local user.
 * A ship not run as root keeps its own owner (it may not give files away) and sets the mode.
 */
async function asClosedAsApp(dir: string, appDir: string): Promise<void> {
  const app = await stat(appDir);
  await lchown(dir, app.uid, app.gid).catch((error: NodeJS.ErrnoException) => {
    if (error.code !== "EPERM") throw error;
  });
  await chmodEntry(dir, app.mode & 0o7777);
}

function mayMount(dir: string, appDir: string): boolean {
  return process.geteuid?.() === 0 && ![appDir, `${dir}.layers`].some((path) => /[,:\\\n]/.test(path));
}

/**
 * Removes the copy and its layers, unmounting the overlay first: also a killed run's, so every
 * place that clears `$SHIP_RELEASE_DIR` (the next rollback, recovery) goes through here.
 */
export async function dropUndoneRelease(dir: string): Promise<void> {
  await unmount(dir);
  await removeTree(dir);
  await removeTree(`${dir}.layers`);
}

async function unmount(dir: string): Promise<void> {
  if (!mounted(dir)) return;
  // Lazily when busy (a process a command left running still has its cwd there).
  if (!(await run("umount", [dir]))) await run("umount", ["-l", dir]);
  if (mounted(dir)) throw new Error(`${dir} is still mounted (umount failed); unmount it by hand`);
}

function mounted(dir: string): boolean {
  const own = lstatOrUndefined(dir);
  const parent = lstatOrUndefined(dirname(dir));
  return own !== undefined && parent !== undefined && own.dev !== parent.dev;
}

/** Loaded when a rollback command runs, not on every start (child_process is off the start-up path). */
function run(file: string, args: string[]): Promise<boolean> {
  const { execFile } = process.getBuiltinModule("node:child_process");
  return new Promise((resolve) => {
    execFile(file, args, { timeout: 30_000 }, (error) => resolve(error === null));
  });
}
