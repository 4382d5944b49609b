/**
 * Backups are changesets: <backupRoot>/<app>/<id>/ holds the old versions of the files an update
 * changed or removed (files/), the previous install index (index.json) and meta.json, whose
 * `complete: true` is written last, so a backup a crash cut short is never taken for a whole one. A backup exists exactly while its update is in
 * effect: restoring consumes it.
 */

import { lstat, rm } from "node:fs/promises";
import { basename, dirname, join, resolve } from "node:path";
import * as z from "zod";
import { BadInputError, errorMessage } from "../../shared/errors.js";
import { errnoCode } from "../../shared/fs-errors.js";
import { IndexFiles } from "../apply/index-files.js";
import { checkIndexedFiles, readTextIfPresent } from "../apply/install-index.js";
import type { IndexedFile } from "../apply/types.js";
import { damagedRecord, parseRecord, readRecordText } from "../state/record-file.js";
import { sameNamedDir } from "../tree/dir-names.js";
import { writeFileAtomic } from "../tree/fs-ops.js";
import { dirIdentity, realDir } from "../tree/path-on-disk.js";
import { BackupDirUnlistableError, backupSourceDirs, backupSubdirs } from "./backup-dirs.js";
import {
  BACKUP_WHAT,
  INSTALLED_FILE,
  INVENTORY_FILE,
  META_FILE,
  MISSING,
  UNDONE_MANIFEST_FILE,
  UNDONE_MANIFEST_WHAT,
} from "./record-names.js";
import { type RecordSum, RecordSumSchema, sumOfWritten } from "./record-sums.js";
import { restoredAt } from "./restored-record.js";
import { checkSavedRecords } from "./saved-records.js";
import { appTrashDir, emptyTrash, restoredBackupInTrash, trashOldBackup } from "./trash.js";
import { shownPath, UNRESTORED_SUFFIX } from "./unrestored.js";

/** meta.json: small, read for every listing; `complete: true` is written last. */
const BackupMetaSchema = z.object({
  id: z.string(),
  app: z.string(),
  fromVersion: z.string().nullable(),
  toVersion: z.string(),
  created: z.string(),
  appDir: z.string(),
  /**
   * Where app_dir led when the backup was made (absent in older backups). A symlinked app_dir
   * re-pointed since (blue/green: /srv/app from blue to green) took blue's backups as green's: a
   * `--rollback` wrote blue's old files into green, a tree ship had never installed into.
   */
  appRealDir: z.string().optional(),
  /**
   * The app directory's device and inode when the backup was made (absent in older backups): the
   * same directory moved on its filesystem and reached through a symlink since
   * (`mv /srv/app /srv/app-1; ln -s app-1 /srv/app`) is still the one the backup restores.
   */
  appDirId: z.string().optional(),
  stateDir: z.string(),
  /**
   * The release id the update installed (the install index's `releaseId`; absent in older backups
   * and for releases without one). Two builds of one version are told apart by it: a backup copied
   * from another host whose 2.0.0 was another build passed for the backup of this host's 2.0.0, and
   * its restore left a tree of both hosts' files recorded as 1.0.0 (rollback-chain.ts).
   */
  toReleaseId: z.string().optional(),
  /**
   * Set when the update found no install index although ship had installed the app (the state file
   * recorded a version): its fromVersion null is then "unrecorded", not the tree before ship. Without
   * it, an update that only added files, once the older backups were pruned, listed as "(pre-ship)".
   */
  unrecorded: z.boolean().optional(),
  /**
   * The size of the install index it saved (index.json; absent in older backups and when there was
   * none): a restore links that file into place unread, so one truncated since would become the
   * live index after every file had moved back. One lstat checks it before anything moves.
   */
  indexBytes: z.number().optional(),
  /**
   * The sizes of manifest.json and installed.json as written (absent in older backups): each is
   * written once, before `complete`, so another size since is damage that a stat finds, and
   * `--list-backups` can tell it without reading either file (saved-records.ts).
   */
  manifestBytes: z.number().optional(),
  installedBytes: z.number().optional(),
  /**
   * The sizes inventory.json may have (absent in older backups): one, or two while cleanup rewrites
   * it (cleanup-backup.ts records the new size beside the old before it writes, so a kill between
   * the two writes leaves either size whole). A truncated inventory was listed as restorable and
   * refused only by the rollback's parse.
   */
  inventorySizes: z.array(z.number()).optional(),
  /**
   * The sha256 of inventory.json, manifest.json and installed.json as written, by file name, with
   * each one's time then (absent in older backups): a record garbled at its own size (record-sums.ts).
   */
  recordSums: z.record(z.string(), RecordSumSchema).optional(),
  /**
   * The sha256 of index.json's (and index-base.json's) bytes before the first newline, by file name
   * (saved-index-sum.ts): the part of the saved install index no CRC-32 covers. Absent in older
   * backups and in one that saved no index.
   */
  indexLineSums: z.record(z.string(), z.string()).optional(),
  /** Bytes of old file versions held, and how many files. */
  bytes: z.number(),
  files: z.number(),
  /** Merge bases (sha256) the previous index refers to; kept while this backup exists. */
  bases: z.array(z.string()),
  /** The completion marker: a backup without it is partial and is never listed or restored. */
  complete: z.boolean(),
});
export type BackupMeta = z.infer<typeof BackupMetaSchema>;

/** inventory.json: what restoring must do; as long as the update (a first install lists every file). */
const BackupInventorySchema = z.object({
  /** Files whose old version is in files/ (replaced or removed by the update). */
  changed: z.array(z.string()),
  /** Files the update created; restoring deletes them. */
  added: z.array(z.string()),
  createdDirs: z.array(z.string()),
  /** `uid`/`gid`: the owner it had (absent in older backups: a restore then sets the mode only). */
  removedDirs: z.array(
    z.object({ rel: z.string(), mode: z.number(), uid: z.number().optional(), gid: z.number().optional() }),
  ),
  /** Directories whose mode the update changed (`mode` the old one); absent in older backups. */
  modeChangedDirs: z.array(z.object({ rel: z.string(), mode: z.number(), set: z.number() })).default([]),
  /** Directories whose entries the update changed, with their mtime before it (dir-times.ts); absent in older backups. */
  dirTimes: z
    .array(
      z.object({
        rel: z.string(),
        mtimeMs: z.number(),
        mtimeNs: z
          .string()
          .regex(/^-?\d+$/)
          .optional(),
      }),
    )
    .default([]),
});
export type BackupInventory = z.infer<typeof BackupInventorySchema>;

/** One line of `ship --list-backups`. */
export interface BackupInfo {
  id: string;
  app: string;
  /** The version this backup brings back. */
  version: string | null;
  /** The version that replaced it. */
  replacedBy: string;
  /** The release id of that version's build (meta.json's `toReleaseId`), when recorded. */
  replacedByRelease?: string;
  created: string;
  /** Bytes of old file versions held (what the update changed, not the app's size). */
  size: number;
  files: number;
  path: string;
  /** The app directory this backup restores (two configs may share one backup_dir). */
  appDir: string;
  /** Its update found the install index lost (meta.json's `unrecorded`). */
  unrecorded?: boolean;
}

export function backupFilesDir(backupPath: string): string {
  return join(backupPath, "files");
}

export async function readBackupMeta(backupPath: string): Promise<BackupMeta> {
  const path = join(backupPath, META_FILE);
  // Anything but a file in its place (a directory, a FIFO, a link that leads nowhere) is damage by
  // readRecordText's rule: `--list-backups` left the backup out without a word (exit 0), or hung on
  // the FIFO, and `--rollback` called it "no readable meta.json".
  const text = await readRecordText(path, BACKUP_WHAT);
  return parseRecord(text, path, BackupMetaSchema, BACKUP_WHAT);
}

/**
 * A backup's record beside meta.json, undefined when absent. A directory in its place was
 * `ship: internal error: EISDIR: illegal operation on a directory, read`, exit 1, and a FIFO hung
 * `--rollback` for ever: anything but a file is damage by readRecordText's rule, named as the
 * listing's rule names it (saved-records.ts).
 */
export async function readSavedRecord(path: string, what: string): Promise<string | undefined> {
  return readTextIfPresent(path, what);
}

export async function readBackupInventory(backupPath: string): Promise<BackupInventory> {
  const path = join(backupPath, INVENTORY_FILE);
  const text = await readSavedRecord(path, BACKUP_WHAT);
  // Every backup has one (written before meta.json says complete): gone, it was deleted by hand, and
  // `--rollback` said "cannot open …/inventory.json: no such file or directory (ENOENT)", exit 1.
  if (text === undefined) throw damagedRecord(path, BACKUP_WHAT, MISSING);
  return parseRecord(text, path, BackupInventorySchema, BACKUP_WHAT);
}

/** What a record's writer tells meta.json: its size and its sum (record-sums.ts). */
export interface WrittenRecord {
  bytes: number;
  sum: RecordSum;
}

async function writeRecord(path: string, text: string, mode?: number): Promise<WrittenRecord> {
  await writeFileAtomic(path, text, false, mode);
  return { bytes: Buffer.byteLength(text), sum: sumOfWritten(path, text) };
}

/**
 * Returns its size in bytes, for meta.json's `inventorySizes`, and its sum.
 * Not fsynced itself: it is written before meta.json says complete, and that durable write commits
 * the filesystem journal, which (ext4 data=ordered, the default) flushes this file's data first.
 */
export async function writeBackupInventory(
  backupPath: string,
  inventory: BackupInventory,
): Promise<WrittenRecord> {
  return writeRecord(join(backupPath, INVENTORY_FILE), JSON.stringify(inventory));
}

/** The text inventory.json would have: cleanup records its size and sum before it writes (cleanup-backup.ts). */
export function inventoryText(inventory: BackupInventory): string {
  return JSON.stringify(inventory);
}

/** Not fsynced: like the inventory, it is made durable by the complete meta.json written after it. */
/** Returns its size in bytes, for meta.json's `manifestBytes`, and its sum. */
export async function writeUndoneManifest(backupPath: string, manifest: unknown): Promise<WrittenRecord> {
  // Mode 600: notifications carry webhook URLs and headers, which are secrets.
  return writeRecord(join(backupPath, UNDONE_MANIFEST_FILE), JSON.stringify(manifest), 0o600);
}

/**
 * Not fsynced: like the inventory, it is made durable by the complete meta.json written after it.
 * Returns its size in bytes, for meta.json's `installedBytes`, and its sum.
 */
export async function writeBackupInstalled(
  backupPath: string,
  files: Readonly<Record<string, IndexedFile>>,
): Promise<WrittenRecord> {
  return writeRecord(join(backupPath, INSTALLED_FILE), JSON.stringify(files));
}

/** The entries writeBackupInstalled saved, checked like the index's; undefined for older backups. */
export async function readBackupInstalled(backupPath: string): Promise<IndexFiles | undefined> {
  const path = join(backupPath, INSTALLED_FILE);
  const text = await readSavedRecord(path, BACKUP_WHAT);
  if (text === undefined) return undefined;
  const files = parseRecord(text, path, InstalledFilesSchema, BACKUP_WHAT);
  checkIndexedFiles(files, path, BACKUP_WHAT);
  // Asked as the install index is (a Map's lookups: a file named `constructor` is no entry).
  return IndexFiles.of(files);
}

// Entries are checked by checkIndexedFiles, as the install index's are (a loop, not a zod record).
const InstalledFilesSchema = z.custom<Record<string, unknown>>(
  (value) => typeof value === "object" && value !== null && !Array.isArray(value),
  "must be an object",
);

/** The manifest saved by writeUndoneManifest, unparsed; undefined for backups made before it was kept. */
export async function readUndoneManifest(backupPath: string): Promise<unknown> {
  const path = join(backupPath, UNDONE_MANIFEST_FILE);
  const text = await readSavedRecord(path, UNDONE_MANIFEST_WHAT);
  if (text === undefined) return undefined;
  // Damaged (truncated, a hand edit), it was `ship: internal error: Unterminated string in JSON`,
  // exit 1, naming no file. Not skipped either: its rollback hooks may start what the undone
  // release stopped. The operator decides, told the way out.
  return parseRecord(text, path, z.unknown(), UNDONE_MANIFEST_WHAT);
}

/** The first, incomplete meta need not be durable: until the journal commits, the journal is the truth. */
export async function writeBackupMeta(backupPath: string, meta: BackupMeta): Promise<void> {
  await writeFileAtomic(join(backupPath, META_FILE), JSON.stringify(meta, null, 1), meta.complete);
}

/** The meta.json each listed BackupInfo was made from, so a rollback reads each one once. */
const metaOfInfo = new WeakMap<object, BackupMeta>();

/** The meta.json a BackupInfo from listBackups or findBackup was made from (not re-read). */
export function backupMetaOf(info: BackupInfo): BackupMeta {
  const meta = metaOfInfo.get(info);
  if (meta === undefined) throw new Error(`backup ${info.id}: not listed by listBackups or findBackup`);
  return meta;
}

/**
 * `info` with `extra` fields, still known to backupMetaOf. A spread copy was not: the listing's
 * chain check, naming the state directory of an update that found no install index, threw
 * "internal error: … not listed by listBackups or findBackup" and `--list-backups` printed nothing.
 */
export function backupInfoWith<T extends object>(info: BackupInfo, extra: T): BackupInfo & T {
  const copy = { ...info, ...extra };
  const meta = metaOfInfo.get(info);
  if (meta !== undefined) metaOfInfo.set(copy, meta);
  return copy;
}

/** The directory a backup restores: where app_dir led when it was made, for backups that say. */
function restoredDir(meta: BackupMeta): string {
  return meta.appRealDir ?? meta.appDir;
}

/**
 * Whether app_dir (as configured now) leads to the directory the backup restores. A backup that
 * recorded where app_dir led is matched by that alone: the same spelling is not enough once the
 * directory moved and a symlink took its name (`mv app app-blue; ln -s app-green app`): its
 * `--rollback` wrote blue's old files into green, a tree ship had never installed into.
 */
export function restoresDir(meta: BackupMeta, appDir: string): boolean {
  if (meta.appRealDir === undefined) return sameDir(meta.appDir, appDir);
  if (realDir(appDir) === meta.appRealDir) return true;
  return meta.appDirId !== undefined && dirIdentity(appDir).appDirId === meta.appDirId;
}

/**
 * The app_dir spelling a listed backup was made under (as ship.toml said it then), when that differs
 * from the directory it restores: app_dir or a symlink on its way led elsewhere then.
 */
export function backupMadeUnder(backup: BackupInfo): string | undefined {
  const meta = metaOfInfo.get(backup);
  return meta === undefined || resolve(meta.appDir) === resolve(backup.appDir) ? undefined : meta.appDir;
}

/** restoresDir for a listed backup (one not read from disk, such as createBackup's, by its directory). */
export function backupRestores(backup: Pick<BackupInfo, "appDir">, appDir: string): boolean {
  const meta = metaOfInfo.get(backup);
  return meta !== undefined ? restoresDir(meta, appDir) : sameDir(backup.appDir, appDir);
}

function infoOf(meta: BackupMeta, path: string): BackupInfo {
  const info: BackupInfo = {
    id: meta.id,
    app: meta.app,
    version: meta.fromVersion,
    replacedBy: meta.toVersion,
    ...(meta.toReleaseId === undefined ? {} : { replacedByRelease: meta.toReleaseId }),
    created: meta.created,
    size: meta.bytes,
    files: meta.files,
    path,
    appDir: restoredDir(meta),
    ...(meta.unrecorded === true ? { unrecorded: true } : {}),
  };
  metaOfInfo.set(info, meta);
  return info;
}

/**
 * Complete backups, newest first; one app's or every app's. Partial ones are left out. With `appDir`,
 * only those that restore that directory: configs that share a backup_dir and a source name keep
 * their backups side by side, and one config must never list, prune or restore another's.
 */
export async function listBackups(
  backupRoot: string,
  app?: string,
  appDir?: string,
  known: readonly BackupInfo[] = [],
  /** The config's source names: what stands at one of their places is judged (backupSourceDirs). */
  configured: Iterable<string> = [],
): Promise<BackupInfo[]> {
  return listBackupsNoting(backupRoot, app, appDir, known, configured);
}

/** A backup left out of a listing as damaged: the app directory's name, and what is wrong. */
export interface DamagedBackup {
  app: string;
  message: string;
  /** The backup, when its meta.json is whole (a record beside it is damaged): a link of its app's chain. */
  backup?: BackupInfo;
}

/**
 * listBackups, plus what is wrong with each backup left out because its meta.json is damaged (one
 * line naming the file and what to do): `ship --list-backups` silently left such a backup out, so
 * the operator never learned the copy they counted on could not be restored.
 */
export async function listBackupsWithDamaged(
  backupRoot: string,
  configured: Iterable<string> = [],
): Promise<{ backups: BackupInfo[]; damaged: DamagedBackup[] }> {
  const damaged: DamagedBackup[] = [];
  const names = await backupSourceDirs(backupRoot, configured);
  const backups: BackupInfo[] = [];
  for (const name of names)
    backups.push(...(await listBackupsNoting(backupRoot, name, undefined, [], [], damaged)));
  return { backups: backups.sort(newestFirstBackup), damaged };
}

// Code-unit order (ids and ISO times are ASCII): localeCompare would load ICU's collator (~10 ms).
const newestFirst = (x: string, y: string) => (x < y ? 1 : x > y ? -1 : 0);
export const newestFirstBackup = (a: BackupInfo, b: BackupInfo) =>
  a.created === b.created ? newestFirst(a.id, b.id) : newestFirst(a.created, b.created);

async function listBackupsNoting(
  backupRoot: string,
  app: string | undefined,
  appDir: string | undefined,
  known: readonly BackupInfo[],
  configured: Iterable<string>,
  damaged?: DamagedBackup[],
): Promise<BackupInfo[]> {
  const apps = app === undefined ? await backupSourceDirs(backupRoot, configured) : [app];
  const out: BackupInfo[] = [];
  for (const name of apps) {
    for (const id of await backupSubdirs(backupRoot, name)) {
      const path = join(backupRoot, name, id);
      // A complete meta.json never changes (restoring deletes it): one the caller read is reused.
      const reused = known.find((b) => resolve(b.path) === resolve(path));
      if (reused !== undefined) {
        if (appDir === undefined || backupRestores(reused, appDir)) out.push(reused);
        continue;
      }
      // A missing meta.json is a backup being made (or one recovery removes): not damage.
      const meta = await readBackupMeta(path).catch((error: unknown) => {
        if (error instanceof BadInputError) damaged?.push({ app: name, message: error.message });
        return undefined;
      });
      if (!meta?.complete || (appDir !== undefined && !restoresDir(meta, appDir))) continue;
      // For `--list-backups` (which alone asks what is damaged): a backup `--rollback` refuses is
      // named, not listed as restorable; by the rollback's own rule, a stat per record.
      if (damaged !== undefined) {
        try {
          checkSavedRecords(path, meta);
        } catch (error) {
          if (!(error instanceof BadInputError)) throw error;
          damaged.push({ app: name, message: error.message, backup: infoOf(meta, path) });
          continue;
        }
      }
      out.push(infoOf(meta, path));
    }
  }
  return out.sort(newestFirstBackup);
}

/**
 * Whether two spellings of a directory name the same directory (`/srv/app/` and `/srv/app`, or a
 * symlink and its target): an app_dir changed from a link to where it leads kept its backups
 * unlisted ("restore app directories no source of this config installs into"), and so was one
 * changed to a bind mount of the same directory.
 */
export function sameDir(a: string, b: string): boolean {
  return resolve(a) === resolve(b) || sameNamedDir(realDir(a), realDir(b));
}

/** Resolves `ship --rollback ID|PATH`: a backup id as listed, or the path of a backup directory. */
export async function findBackup(
  backupRoot: string,
  idOrPath: string,
  configured: Iterable<string> = [],
): Promise<BackupInfo> {
  return (await findBackupListing(backupRoot, idOrPath, configured)).target;
}

/**
 * findBackup, with the backups it read on the way (every one, for an id): a rollback lists the
 * target's app again under its lock and reuses them instead of reading each meta.json twice.
 */
export async function findBackupListing(
  backupRoot: string,
  idOrPath: string,
  configured: Iterable<string> = [],
): Promise<{ target: BackupInfo; listed: BackupInfo[] }> {
  const names = [...configured];
  if (idOrPath.includes("/")) {
    // Where its links lead: a link to a backup in backup_dir was refused as outside it ("move it
    // back to" where it was), and one in backup_dir to a backup moved aside as "another run restored it".
    const path = realDir(idOrPath);
    const meta = await readBackupMeta(path).catch(() => undefined);
    if (meta?.complete) {
      // A backup moved out of backup_dir (as a damaged one's message advises) is no link of its
      // app's chain any more: it was refused as "another run restored it", which no run had done.
      // In its app's directory there, also when that is a symlink to another disk (backupSourceDirs):
      // where the path's links lead is then outside backup_dir, yet it is listed and restored by id.
      if (
        !sameDir(realDir(dirname(dirname(path))), realDir(backupRoot)) &&
        !sameDir(dirname(path), join(backupRoot, meta.app))
      )
        throw BadInputError.single(
          idOrPath,
          "",
          `is outside backup_dir (${backupRoot}): ship restores a backup only from there, with the newer backups of its app; move it back to ${join(backupRoot, meta.app)}/ to restore it; nothing was changed`,
        );
      const target = infoOf(meta, path);
      // Its app directory's backups, which the rollback lists again (reusing these): one that cannot
      // be listed refuses here, before anything is recorded, as for an id.
      return { target, listed: await listBackups(backupRoot, undefined, target.appDir, [target], names) };
    }
    // One in backup_dir that could not be looked into (its app's directory unreadable) was called
    // "does not exist: no such backup".
    await lstat(join(path, META_FILE)).catch((error: unknown) => {
      const code = errnoCode(error);
      if (
        code !== "ENOENT" &&
        code !== "ENOTDIR" &&
        sameDir(realDir(dirname(dirname(path))), realDir(backupRoot))
      )
        throw new BackupDirUnlistableError(backupRoot, dirname(join(path, META_FILE)), code, error);
    });
    // A path that is not there (a typo, a backup pruned since) is no "incomplete backup" (review23).
    const there = await lstat(idOrPath).then(
      () => true,
      () => false,
    );
    const restored =
      !there &&
      sameDir(realDir(dirname(dirname(resolve(idOrPath)))), realDir(backupRoot)) &&
      (await wasRestored(backupRoot, basename(idOrPath)));
    throw BadInputError.single(
      idOrPath,
      "",
      restored
        ? `does not exist any more: it was restored, and a restore consumes its backup; the app is on the version it brought back (ship --list-backups lists the backups left, to go back further)`
        : !there
          ? `does not exist: no such backup (ship --list-backups lists them; a pruned or restored backup is gone)`
          : "is not a complete ship backup (no meta.json with complete: true)",
    );
  }
  const listed = await listBackups(backupRoot, undefined, undefined, [], names);
  const target = listed.find((b) => b.id === idOrPath);
  if (target === undefined) {
    await explainUnlisted(backupRoot, idOrPath);
    throw await noBackupWithId(
      backupRoot,
      idOrPath,
      "(a restore consumes its backup, keep_backups prunes old ones; see ship --list-backups)",
    );
  }
  return { target, listed };
}

/**
 * The error for an id `backupRoot` does not hold: restored already when its trash says so (with what
 * to run instead), else `why`.
 */
export async function noBackupWithId(backupRoot: string, id: string, why: string): Promise<BadInputError> {
  const restored = await wasRestored(backupRoot, id);
  // An id with a line break (a pasted one) is quoted: the error stays one line.
  const shown = shownPath(id);
  return BadInputError.single(
    backupRoot,
    "",
    restored
      ? `holds no backup with id ${shown} any more: it was restored, and a restore consumes its backup; the app is on the version it brought back (ship --list-backups lists the backups left, to go back further)`
      : `holds no backup with id ${shown} ${why}`,
  );
}

/**
 * Whether a restore consumed backup `id`: its app's record of restores (restored-record.ts), which
 * emptying the trash leaves; else the trash, for a restore made before that record existed.
 */
async function wasRestored(backupRoot: string, id: string): Promise<boolean> {
  return (await restoredAt(backupRoot, id)) !== undefined || (await restoredBackupInTrash(backupRoot, id));
}

/**
 * Throws what is wrong with a backup directory named `id` that the listing left out: its record is
 * damaged (named), or it never completed. Before, such a directory that the operator could see got
 * "holds no backup with id …", as if it were not there. Returns when there is no such directory.
 */
async function explainUnlisted(backupRoot: string, id: string): Promise<void> {
  for (const app of await backupSourceDirs(backupRoot, [])) {
    if (!(await backupSubdirs(backupRoot, app)).includes(id)) continue;
    const path = join(backupRoot, app, id);
    let meta: BackupMeta;
    try {
      meta = await readBackupMeta(path);
    } catch (error) {
      if (error instanceof BadInputError) throw error; // damaged: named, with what to do
      throw BadInputError.single(path, "", `is not a complete ship backup: no readable ${META_FILE}`);
    }
    if (!meta.complete)
      throw BadInputError.single(
        path,
        "",
        "is an incomplete backup (the update that made it never finished, so it was undone instead): nothing to restore",
      );
  }
}

/** The UTC second a backup id carries: `20261206T153705Z`. */
export function backupStamp(time: Date): string {
  return time
    .toISOString()
    .replace(/[-:]/g, "")
    .replace(/\.\d+Z$/, "Z");
}

/** A new backup id: the app and the UTC time, unique within the app's backup directory. */
export async function newBackupId(backupRoot: string, app: string, now: Date): Promise<string> {
  const stamp = backupStamp(now);
  const taken = new Set(await backupSubdirs(backupRoot, app));
  let id = `${app}-${stamp}`;
  for (let n = 2; taken.has(id); n++) id = `${app}-${stamp}-${n}`;
  return id;
}

/**
 * The backups newest first as the updates followed each other: from the installed version back,
 * each the one that undoes the version the one before it brings back (the newest such when two do,
 * a same-version rebuild); those no link reaches follow in the order listed (by the time each was
 * made). By time alone, a backup made while the clock ran ahead (set back since: a VM snapshot, an
 * RTC wrong until NTP) read as the newest, and every rollback was refused as starting at a backup
 * that does not undo what is installed ("was a backup deleted by hand?").
 */
export function inUpdateOrder(
  newestFirst: readonly BackupInfo[],
  installed: string | undefined,
  /** The installed build's release id: the first link is the backup of that build when there is one. */
  installedRelease?: string,
): BackupInfo[] {
  const left = [...newestFirst];
  const linked: BackupInfo[] = [];
  let version: string | null | undefined = installed;
  while (version !== undefined && version !== null) {
    const ofBuild =
      linked.length === 0 && installedRelease !== undefined
        ? left.findIndex((b) => b.replacedBy === version && b.replacedByRelease === installedRelease)
        : -1;
    const at = ofBuild >= 0 ? ofBuild : left.findIndex((b) => b.replacedBy === version);
    const [next] = at < 0 ? [] : left.splice(at, 1);
    if (next === undefined) break;
    linked.push(next);
    version = next.version;
  }
  return [...linked, ...left];
}

/**
 * Keeps the `keep` newest complete backups of an app directory, whatever source name each was made
 * under; returns the ids it deleted. After [sources.myapp] was renamed to [sources.web], myapp's
 * backups were never pruned (only web's directory was listed): keep_backups 2 kept 4, and more with
 * every rename. Every backup kept is newer than every one deleted, so a rollback chain of the kept
 * ones never needs a deleted one. Each goes through the app's trash (trashOldBackup says why), which
 * is then emptied, with what restores left there (trash.ts). Runs after an update committed, so it
 * never throws: a backup or trash it cannot delete (permissions, an immutable file) is named in
 * `problems` and tried again by the app's next run.
 */
export async function pruneBackups(
  backupRoot: string,
  app: string,
  appDir: string,
  keep: number,
  problems: string[] = [],
  /** The update being finished: its backup, kept first, and the version it installed. */
  own?: { backupPath: string; installed: string },
): Promise<string[]> {
  const attempt = (what: string, work: Promise<void>) =>
    work.then(
      () => true,
      (error: unknown) => {
        problems.push(`${what}: ${errorMessage(error)}`);
        return false;
      },
    );
  let listed: BackupInfo[];
  try {
    listed = await listBackups(backupRoot, undefined, appDir);
  } catch (error) {
    // Said, not swallowed: an unreadable backup_dir pruned nothing, silently, run after run, until
    // the disk filled. Nothing is deleted on a partial view (that could delete a kept backup).
    problems.push(errorMessage(error));
    return [];
  }
  // Newest by the time each was made: after the clock was set back (a VM snapshot, an RTC wrong
  // until NTP), an older backup read as newer, and keep_backups 1 deleted the update's own backup
  // before its health checks, so their failure could restore nothing ("UPDATE FAILED AND RESTORE
  // FAILED", the replaced files gone). The update's own counts first.
  // The others in the order the updates followed each other (inUpdateOrder), so that the kept
  // ones still roll back as a chain.
  const mine = listed.filter((b) => own !== undefined && sameDir(b.path, own.backupPath));
  const all = [...mine, ...inUpdateOrder(listed, own?.installed).filter((b) => !mine.includes(b))];
  const pruned: string[] = [];
  // Into this name's trash, a backup made under the source's old name too: this name's runs empty it.
  const trash = appTrashDir(backupRoot, app);
  for (const backup of all.slice(Math.max(keep, 0))) {
    if (await attempt(`removing old backup ${backup.id}`, trashOldBackup(backup.path, trash)))
      pruned.push(backup.id);
  }
  // What restores set aside (`<backup>.unrestored`) goes like a backup made when it was: once
  // `keep` kept backups are newer. It was never pruned, and piled up with every such restore.
  // Only this app directory's: another config sharing backup_dir and the source name keeps its own.
  const kept = all.slice(0, Math.max(keep, 0)).filter((b) => !pruned.includes(b.id));
  const homes = new Set([join(backupRoot, app), ...listed.map((b) => dirname(b.path))]);
  for (const home of homes) {
    for (const aside of await setAsideDirs(home, appDir).catch(() => [])) {
      if (aside.mine === false) continue;
      // One from before the record was kept: this app directory's unless another's backups are here.
      if (aside.mine === undefined && (await holdsOthersBackups(home, appDir))) continue;
      if (kept.filter((b) => b.created > aside.made).length < keep) continue;
      const removed = trashOldBackup(aside.path, trash).then(() => rm(aside.record, { force: true }));
      if (await attempt(`removing ${aside.path}`, removed)) pruned.push(basename(aside.path));
    }
  }
  await attempt("emptying the trash", emptyTrash(backupRoot, app));
  return pruned;
}

/** A set-aside directory (unrestored.ts), when its restore made it, and whether it is `appDir`'s. */
export interface SetAsideDir {
  path: string;
  /** `<path>.json`: the consumed backup's meta.json, naming the app directory. */
  record: string;
  /** When its restore made it (its mtime, ISO). */
  made: string;
  /** Whether it belongs to the app directory asked about; undefined: made before records were kept. */
  mine: boolean | undefined;
  /** Its record, when it has one. */
  owner?: BackupMeta;
}

/** Whether a set-aside directory with this record belongs to `appDir`; undefined without a record. */
export function setAsideOf(owner: BackupMeta | undefined, appDir: string): boolean | undefined {
  return owner === undefined ? undefined : restoresDir(owner, appDir);
}

/**
 * The `<backup>.unrestored` directories in one app's backup directory (unrestored.ts), oldest first,
 * each judged against `appDir` by its record.
 */
export async function setAsideDirs(appBackups: string, appDir?: string): Promise<SetAsideDir[]> {
  const out: SetAsideDir[] = [];
  for (const name of await backupSubdirs(dirname(appBackups), basename(appBackups))) {
    if (!name.endsWith(UNRESTORED_SUFFIX)) continue;
    const path = join(appBackups, name);
    const made = await lstat(path).then(
      (s) => s.mtime.toISOString(),
      () => undefined,
    );
    if (made === undefined) continue;
    const record = `${path}.json`;
    const meta = await readRecordText(record)
      .then((text) => BackupMetaSchema.safeParse(JSON.parse(text)).data)
      .catch(() => undefined);
    const mine = appDir === undefined ? undefined : setAsideOf(meta, appDir);
    out.push({ path, record, made, mine, ...(meta === undefined ? {} : { owner: meta }) });
  }
  return out.sort((a, b) => (a.made < b.made ? -1 : a.made > b.made ? 1 : 0));
}

/** Whether `appBackups` holds a complete backup of another app directory than `appDir`. */
async function holdsOthersBackups(appBackups: string, appDir: string): Promise<boolean> {
  // Unlistable: assume another app directory's backups are there, so its set-aside copies stay
  // (answering "none" deleted them as this directory's; keeping one only costs disk).
  const all = await listBackups(dirname(appBackups), basename(appBackups)).catch(() => undefined);
  return all === undefined || all.some((b) => !backupRestores(b, appDir));
}

/**
 * The merge bases the remaining complete backups of an app directory still need: those made under
 * a source's old name too, whose bases an update under the new name deleted, so that a merge after
 * rolling back to one of them ran without its base.
 */
export async function basesInUse(backupRoot: string, appDir: string): Promise<Set<string>> {
  const used = new Set<string>();
  for (const backup of await listBackups(backupRoot, undefined, appDir)) {
    const meta = await readBackupMeta(backup.path);
    for (const sha of meta.bases) used.add(sha);
  }
  return used;
}
