/**
 * Where a restore puts what it takes out of the app, so the operator does not wait for it to be freed.
 *
 * Unlinking a file's last name frees its blocks, and that is the slow part of a delete: on ext4
 * (more so with online discard, or while other processes fsync) one 25 KB file costs 0.1–0.5 ms,
 * where a rename or a hard link costs ~15 µs. A rollback of 200 files spent most of its time
 * freeing the release it undid. So a restore keeps a second name for every entry it replaces or
 * deletes (inside the backup directory, under `undone/`), the consumed backup is renamed into the
 * app's trash (`<backup_dir>/<app>/.trash/`), and the trash is deleted by a detached `rm -rf` after
 * the restore. A trash that outlives its process (killed, or a systemd oneshot unit ending and taking
 * its children along) is emptied by the next update of the app (pruneBackups), in-process.
 *
 * Nothing in the trash is ever read again: it has no meta.json, so it is never listed or restored.
 */
import { spawn } from "node:child_process";
import { renameSync } from "node:fs";
import { rm } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { errnoCode } from "../../shared/fs-errors.js";
import { linkReplacingSync, withParentSync } from "../tree/fs-ops.js";

/** Inside a backup directory: second names of the entries its restore took out of the app. */
export const UNDONE_DIR = "undone";

/** The app's trash directory, beside its backups. */
export function trashDir(backupPath: string): string {
  return join(dirname(backupPath), ".trash");
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
 * Removes a consumed backup directory without waiting for its blocks to be freed: renamed into the
 * trash, then deleted by a detached `rm -rf`. Falls back to deleting it here when the rename fails.
 */
export async function discardBackupDir(backupPath: string): Promise<void> {
  const trash = trashDir(backupPath);
  const target = join(trash, `${basename(backupPath)}-${process.pid}-${Date.now()}`);
  try {
    withParentSync(target, () => renameSync(backupPath, target));
  } catch (error) {
    if (errnoCode(error) === "ENOENT") return; // already gone (a re-run of a finished restore)
    await rm(backupPath, { recursive: true, force: true });
    return;
  }
  removeInBackground(target);
}

/** `rm -rf path` in a detached process this one does not wait for; a failure leaves it to the next sweep. */
function removeInBackground(path: string): void {
  try {
    const child = spawn("rm", ["-rf", "--", path], { detached: true, stdio: "ignore" });
    child.on("error", () => {
      // No rm to run: the next update of the app empties the trash (emptyTrash).
    });
    child.unref();
  } catch {
    // Same: left for emptyTrash.
  }
}

/** Deletes whatever a restore's background removal left in the app's trash (see the module comment). */
export async function emptyTrash(backupRoot: string, app: string): Promise<void> {
  await rm(join(backupRoot, app, ".trash"), { recursive: true, force: true });
}
