/**
 * Backups a run was killed while making: between the backup's `mkdir` and its update's journal
 * there is nothing that names the directory, so no recovery removes it, no listing shows it
 * (`complete: false`, or no meta.json yet) and keep_backups never counts it. A timer that retries
 * after each kill left one per try until the disk filled. The app's next run removes them
 * (sweepPartialBackups), under the app's lock; `ship --list-backups` counts them meanwhile.
 */
import { rm } from "node:fs/promises";
import { join } from "node:path";
import { BadInputError, errorMessage } from "../../shared/errors.js";
import { lstatOrUndefined } from "../tree/fs-ops.js";
import { backupSubdirs } from "./backup-dirs.js";
import { backupStamp, readBackupMeta, restoresDir } from "./backup-store.js";
import { META_FILE } from "./record-names.js";

export interface PartialBackup {
  id: string;
  path: string;
  /** The UTC second in its id (newBackupId): when its run began making it. */
  stamp: string;
}

export interface PartialBackups {
  /** Made for this app directory: its meta.json says so, or no other app directory's backups are here. */
  ours: PartialBackup[];
  /**
   * Without meta.json, in a directory another app directory's backups share (two configs with one
   * backup_dir and one source name): the name alone cannot say whose, and the other config's run
   * may be making it now, under a lock this config cannot see. Left; counted by the listing.
   */
  unattributed: PartialBackup[];
}

/** What a run must leave to the recovery that still needs it. */
export interface StillNeeded {
  /** A journal or a rollback chain of the app is there: recovery first, which may need any backup. */
  recovering: boolean;
  /** Backups a pending update names (state.json's `pending_update.backup_path`). */
  paths: readonly string[];
  /** A pending update's start (ISO): a partial backup made since may be its own. */
  pendingSince?: string | undefined;
}

const STAMP = String.raw`\d{8}T\d{6}Z`;

function escaped(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, String.raw`\$&`);
}

/**
 * The incomplete backups in `backup_dir/<app>/`: only directories named as ship names them
 * (`<app>-<UTC second>[-n]`, newBackupId), so nothing an operator put there is touched.
 */
export async function partialBackups(
  backupRoot: string,
  app: string,
  appDir: string,
): Promise<PartialBackups> {
  const named = new RegExp(`^${escaped(app)}-(${STAMP})(?:-\\d+)?$`);
  const recorded: PartialBackup[] = [];
  const unrecorded: PartialBackup[] = [];
  let shared = false;
  for (const id of await backupSubdirs(backupRoot, app)) {
    const path = join(backupRoot, app, id);
    const stamp = named.exec(id)?.[1];
    if (lstatOrUndefined(join(path, META_FILE)) === undefined) {
      if (stamp !== undefined) unrecorded.push({ id, path, stamp });
      continue;
    }
    // A damaged meta.json is the listing's to name (`--list-backups`), never a reason to delete.
    const meta = await readBackupMeta(path).catch((error: unknown) => {
      if (error instanceof BadInputError) return undefined;
      throw error;
    });
    if (meta === undefined) continue;
    const mine = restoresDir(meta, appDir);
    if (!mine) shared = true;
    else if (!meta.complete && stamp !== undefined) recorded.push({ id, path, stamp });
  }
  return shared
    ? { ours: recorded, unattributed: unrecorded }
    : { ours: [...recorded, ...unrecorded], unattributed: [] };
}

/**
 * Removes the app's partial backups that nothing still needs; returns the ids removed and, in
 * `problems`, those it could not remove (tried again by the next run). Called with the app's lock
 * held and after recovery: a run of the app making a backup holds that lock, so none is in the making.
 */
export async function sweepPartialBackups(
  backupRoot: string,
  app: string,
  appDir: string,
  needed: StillNeeded,
  problems: string[] = [],
): Promise<string[]> {
  if (needed.recovering) return [];
  const since = needed.pendingSince === undefined ? undefined : backupStamp(new Date(needed.pendingSince));
  const { ours } = await partialBackups(backupRoot, app, appDir);
  const removed: string[] = [];
  for (const backup of ours) {
    if (needed.paths.includes(backup.path)) continue;
    // Same second counts: ids carry whole seconds, the pending record milliseconds.
    if (since !== undefined && backup.stamp >= since) continue;
    try {
      await rm(backup.path, { recursive: true, force: true });
      removed.push(backup.id);
    } catch (error) {
      problems.push(`could not remove the incomplete backup ${backup.path}: ${errorMessage(error)}`);
    }
  }
  return removed;
}
