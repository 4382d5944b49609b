/**
 * Where a restore puts what it takes out of the app, so the operator does not wait for it to be freed.
 *
 * Unlinking a file's last name frees its blocks, and that is the slow part of a delete: on ext4
 * (more so with online discard, or while other processes fsync) one 25 KB file costs 0.1–0.5 ms,
 * where a rename or a hard link costs ~15 µs. A rollback of 200 files spent most of its time
 * freeing the release it undid. So a restore keeps a second name for every entry it replaces or
 * deletes (inside the backup directory, under `undone/`), and the consumed backup is renamed into
 * the app's trash (`<backup_dir>/<app>/.trash/`).
 *
 * Who frees it: a small trash (up to FREED_BY_NEXT_RUN entries taken out) is left to the app's next
 * run — any run that takes the app's lock, an update check with nothing to do included, empties it
 * in-process (run-source.ts), as the next update always did (pruneBackups). Starting a detached
 * `rm -rf` instead costs a fork and loading `child_process`: ~35 ms of a 200-file rollback's wall
 * time here, more than the whole restore. A bigger trash (undoing a first install, say) holds too
 * much disk to wait for a timer, so a detached `rm -rf` deletes it after the restore; what that
 * could not finish (killed, or a systemd oneshot unit ending and taking its children along) is
 * emptied by the next run too.
 *
 * Nothing in the trash is ever read again: it has no meta.json, so it is never listed or restored.
 */
import { lstatSync, renameSync } from "node:fs";
import { readdir, rm } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { errorMessage } from "../../shared/errors.js";
import { errnoCode } from "../../shared/fs-errors.js";
import { linkReplacingSync, withParentSync } from "../tree/fs-ops.js";
import { removeTree } from "../tree/remove-tree.js";

/** Inside a backup directory: second names of the entries its restore took out of the app. */
export const UNDONE_DIR = "undone";

/** The app's trash directory, beside its backups. */
export function trashDir(backupPath: string): string {
  return join(dirname(backupPath), ".trash");
}

/** The trash of the source named `app` in ship.toml, which its runs empty (emptyTrash). */
export function appTrashDir(backupRoot: string, app: string): string {
  return join(backupRoot, app, ".trash");
}

/**
 * Gives the entry at `path` a second name at `keep` (replacing what is there), so that renaming
 * another file over `path` frees nothing. False when no link can be made (another filesystem, a
 * filesystem without hard links): the entry is then freed when replaced, as it always was.
 */
export function keepSecondName(path: string, keep: string): boolean {
  try {
    // A re-run after a crash finds the name there from the first attempt (maybe another inode).
    linkReplacingSync(path, keep);
    return true;
  } catch {
    return false;
  }
}

/**
 * Moves the entry at `path` to `keep` instead of deleting it. False when it cannot be moved there
 * (another filesystem): the caller deletes it.
 */
export function moveAside(path: string, keep: string): boolean {
  try {
    withParentSync(keep, () => renameSync(path, keep));
    return true;
  } catch {
    return false;
  }
}

/**
 * Entries a restore may take out of the app (deleted, or replaced and kept under `undone/`) and
 * still leave in the trash for the app's next run: at the measured 0.1–0.5 ms per file, at most
 * ~0.1–0.5 s of that unattended run, and a few MB of disk for the hours until it.
 */
export const FREED_BY_NEXT_RUN = 1000;

/**
 * Removes a consumed backup directory without waiting for its blocks to be freed: renamed into the
 * trash, where the app's next run deletes it, or, when the restore took out more than
 * FREED_BY_NEXT_RUN entries, a detached `rm -rf` now. Falls back to deleting it here when the rename
 * fails. `takenOut`: the entries the restore deleted or replaced in the app. `background` false: the
 * caller empties the trash itself right after (the daemon), so no `rm` is started to race it.
 */
export async function discardBackupDir(
  backupPath: string,
  takenOut: number,
  background = true,
  trash = trashDir(backupPath),
): Promise<void> {
  let target: string;
  try {
    target = intoTrash(backupPath, trash, RESTORED);
  } catch (error) {
    if (errnoCode(error) === "ENOENT") return; // already gone (a re-run of a finished restore)
    await rm(backupPath, { recursive: true, force: true });
    return;
  }
  if (background && takenOut > FREED_BY_NEXT_RUN) removeInBackground(target);
}

/** The mark in a trash entry's name of a backup a restore consumed (not pruned). */
const RESTORED = ".restored";

/**
 * Renames `backupPath` into `trash` under a name no other run takes, which says whether a restore
 * consumed it (`why`); returns that path. Throws as rename does.
 */
function intoTrash(backupPath: string, trash: string, why = ""): string {
  const target = join(trash, `${basename(backupPath)}${why}-${process.pid}-${Date.now()}`);
  withParentSync(target, () => renameSync(backupPath, target));
  return target;
}

/**
 * Takes an old backup (keep_backups) out of the list for good: renamed into the app's trash, which
 * the caller then empties. Deleted in place, a removal that stopped part-way (an immutable file, a
 * kill) left a backup directory whose meta.json went first (in readdir order): never listed, so
 * never pruned again, holding its disk for good; or whose meta.json stayed: listed, and refused as
 * damaged by a rollback. From the trash, every run of the app tries again. Deleted here only when
 * it cannot be renamed there (another filesystem).
 */
export async function trashOldBackup(backupPath: string, trash: string): Promise<void> {
  try {
    intoTrash(backupPath, trash);
  } catch (error) {
    if (errnoCode(error) !== "ENOENT") await removeTree(backupPath);
  }
}

/**
 * Whether a restore consumed backup `id` and its trash (any app's in `backupRoot`) still holds it: a
 * second `--rollback ID` was told only "holds no backup with id", as if the id were mistyped.
 */
export async function restoredBackupInTrash(backupRoot: string, id: string): Promise<boolean> {
  const apps = await readdir(backupRoot).catch(() => []);
  for (const app of apps) {
    const names = await readdir(join(backupRoot, app, ".trash")).catch(() => []);
    if (
      names.some(
        (n) =>
          n.startsWith(`${id}${RESTORED}-`) && /^\d+-\d+$/.test(n.slice(id.length + RESTORED.length + 1)),
      )
    )
      return true;
  }
  return false;
}

/** `rm -rf path` in a detached process this one does not wait for; a failure leaves it to the next run. */
function removeInBackground(path: string): void {
  spawnRm(path, true)?.unref();
}

/**
 * `rm -rf -- path` in a child process, or undefined when none could be started; a child that cannot
 * run (no rm on PATH) ends with an 'error' event, which is handled here: what it left is the caller's.
 */
function spawnRm(path: string, detached: boolean): import("node:child_process").ChildProcess | undefined {
  try {
    // Loaded here: most runs never fork, and child_process costs ~10 ms.
    const { spawn } = process.getBuiltinModule("node:child_process");
    const child = spawn("rm", ["-rf", "--", path], { detached, stdio: "ignore" });
    child.on("error", () => {
      // No rm to run: what it left is emptied in-process (emptyTrash).
    });
    return child;
  } catch {
    return undefined;
  }
}

/**
 * Deletes what restores left in the app's trash (see the module comment): called by every run of the
 * app that holds its lock, and after each update. A trash that is not there costs one lstat.
 */
export async function emptyTrash(backupRoot: string, app: string): Promise<void> {
  await removeTree(appTrashDir(backupRoot, app));
}

/**
 * emptyTrash begun now and finished when the returned function is awaited: an update's check walks
 * the release directory synchronously on the main thread, and the trash's unlinks (the kernel
 * freeing what a rollback undid, ~6 % of a 20,000-file update's CPU after a rollback) are done
 * meanwhile by an `rm -rf` child on the other core, instead of before the walk on this one. The
 * function waits for that child, then runs emptyTrash for whatever it left (no rm, an immutable
 * entry, a directory ship's user must open first): its error names the entry, as before. Nothing
 * else may write into the trash before the function is awaited. A trash that is not there costs
 * one lstat and starts nothing.
 */
export function startEmptyingTrash(backupRoot: string, app: string): () => Promise<void> {
  const trash = appTrashDir(backupRoot, app);
  let exists = true;
  try {
    exists = lstatSync(trash, { throwIfNoEntry: false }) !== undefined;
  } catch {
    // Cannot tell (a directory on the way ship may not search): emptyTrash says why.
  }
  const child = exists ? spawnRm(trash, false) : undefined;
  const exited =
    child === undefined
      ? Promise.resolve()
      : new Promise<void>((resolve) => {
          child.once("close", () => resolve());
          child.once("error", () => resolve());
        });
  let finished: Promise<void> | undefined;
  return () => {
    finished ??= exists ? exited.then(() => emptyTrash(backupRoot, app)) : Promise.resolve();
    return finished;
  };
}

/**
 * The one-line warning for a trash emptyTrash could not empty: the entry that stayed, why, what the
 * operator can do (TreeRemovalError), and that ship tries again.
 */
export function trashWarning(error: unknown): string {
  const why = errorMessage(error);
  return `could not empty the app's trash of restored backups: ${why}; ship tries again on the app's next run`;
}
