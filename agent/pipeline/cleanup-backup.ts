/**
 * What `cleanup.remove_files` / `remove_directories` delete goes into the update's backup first, so
 * that a rollback (`ship --rollback`, or the automatic one when a later step fails) brings it back
 * with the rest of the previous version: a `legacy_modules/` the old release still needs, say.
 *
 * The inventory lists the entries before they move (a kill in between leaves entries listed but not
 * in the backup, which a restore skips, and still in the app, where they stay). Files go under
 * `changed` (a restore puts each back where nothing is in its way) and directories under
 * `removedDirs` (recreated with their mode). Entries the update itself wrote are only deleted: the
 * backup already holds their old version, or they were new.
 */
import { lstat, readdir } from "node:fs/promises";
import { join } from "node:path";
import { escapedName, utf8NameOrUndefined } from "../../shared/byte-names.js";
import {
  backupFilesDir,
  inventoryText,
  readBackupInventory,
  readBackupMeta,
  writeBackupInventory,
  writeBackupMeta,
} from "../backup/backup-store.js";
import { INVENTORY_FILE } from "../backup/record-names.js";
import { sumAlsoOf } from "../backup/record-sums.js";
import { faultPoint } from "../fault.js";
import { lstatOrUndefined, moveEntry, removeDirIfEmpty, removeIfExists } from "../tree/fs-ops.js";
import { removeTree, TreeRemovalError } from "../tree/remove-tree.js";

/**
 * Moves the entries at `rels` (relative to the app, `/`-separated, with all below them) into the
 * backup. Returns the entries it left in the app (`dir/caf\xe9.log`): those whose names are not UTF-8,
 * which the backup's records cannot name, so a rollback could not bring them back. Their
 * directories stay with them.
 */
export async function setAsideIntoBackup(
  appDir: string,
  backupPath: string,
  rels: readonly string[],
): Promise<string[]> {
  const inventory = await readBackupInventory(backupPath);
  const listed = new Set([...inventory.added, ...inventory.changed]);
  const dirsKnown = new Set([...inventory.createdDirs, ...inventory.removedDirs.map((d) => d.rel)]);
  const files: string[] = [];
  const unnamed: string[] = [];
  const walked = new Map<string, Entry[]>();
  for (const rel of rels) {
    const entries = await entriesUnder(appDir, rel, unnamed);
    walked.set(rel, entries);
    for (const entry of entries) {
      if (entry.dir) {
        if (!dirsKnown.has(entry.rel))
          inventory.removedDirs.push({ rel: entry.rel, mode: entry.mode, uid: entry.uid, gid: entry.gid });
        dirsKnown.add(entry.rel);
      } else if (!entry.special && !listed.has(entry.rel)) {
        inventory.changed.push(entry.rel);
        listed.add(entry.rel);
        files.push(entry.rel);
      }
    }
  }
  const meta = await readBackupMeta(backupPath);
  const sizes = meta.inventorySizes;
  // The new size beside the old before the rewrite, the old dropped after it: a kill between the
  // two writes leaves an inventory of either size, whole, which the size rule (saved-records.ts)
  // must not call damaged (recovery restores this backup then).
  // Its sum likewise (record-sums.ts), with no time: the file is about to change.
  const text = inventoryText(inventory);
  const sums = meta.recordSums;
  const sum = sumAlsoOf(sums?.[INVENTORY_FILE], text);
  if (sizes !== undefined)
    await writeBackupMeta(backupPath, {
      ...meta,
      inventorySizes: [...sizes, Buffer.byteLength(text)],
      ...(sum === undefined ? {} : { recordSums: { ...sums, [INVENTORY_FILE]: sum } }),
    });
  const written = await writeBackupInventory(backupPath, inventory);
  faultPoint("cleanup:inventory-written");
  const saved = backupFilesDir(backupPath);
  let bytes = 0;
  for (const rel of files) bytes += await setAside(join(appDir, rel), join(saved, rel));
  // `ship --list-backups` shows what the backup holds, what cleanup gave it included.
  if (files.length > 0 || sizes !== undefined)
    await writeBackupMeta(backupPath, {
      ...meta,
      ...(sizes === undefined ? {} : { inventorySizes: [written.bytes] }),
      ...(sum === undefined ? {} : { recordSums: { ...sums, [INVENTORY_FILE]: written.sum } }),
      bytes: meta.bytes + bytes,
      files: meta.files + files.length,
    });
  // What is left: directories, and entries the update wrote (their old version is in the backup).
  if (unnamed.length === 0) for (const rel of rels) await removeTree(join(appDir, rel));
  else for (const entries of walked.values()) await removeListed(appDir, entries);
  return unnamed;
}

/**
 * Removes what the walk listed, children first, and no more: a directory still holding an entry
 * the walk could not name is left, with that entry. removeTree would have deleted it with no copy.
 */
async function removeListed(appDir: string, entries: readonly Entry[]): Promise<void> {
  for (const entry of [...entries].reverse()) {
    const path = join(appDir, entry.rel);
    try {
      if (entry.dir) await removeDirIfEmpty(path);
      else await removeIfExists(path);
    } catch (error) {
      throw new TreeRemovalError(path, error);
    }
  }
}

/**
 * Moves one entry into the backup. One that will not leave the app (immutable) leaves no copy there
 * either, so a restore sees nothing of it to put back and leaves it where it is.
 */
async function setAside(path: string, saved: string): Promise<number> {
  try {
    const size = (await lstat(path)).size;
    await moveEntry(path, saved);
    return size;
  } catch (error) {
    if (lstatOrUndefined(path) !== undefined) await removeIfExists(saved).catch(() => undefined);
    throw new TreeRemovalError(path, error);
  }
}

interface Entry {
  rel: string;
  dir: boolean;
  /** A FIFO, socket or device node: removed, not set aside. */
  special: boolean;
  mode: number;
  uid: number;
  gid: number;
}

/**
 * `rel` and everything below it, parents first; a symlink is an entry, never followed. Names are
 * read as bytes: one that is not UTF-8 goes to `unnamed` (escaped), not into the list. Read as a
 * string it named no file, so the entry was left out of the backup and then deleted with its
 * directory: a rollback said "restored" without it.
 */
async function entriesUnder(appDir: string, rel: string, unnamed: string[]): Promise<Entry[]> {
  let stat: Awaited<ReturnType<typeof lstat>>;
  try {
    stat = await lstat(join(appDir, rel));
  } catch {
    return [];
  }
  const entry = { rel, mode: stat.mode & 0o7777, uid: stat.uid, gid: stat.gid, special: false };
  // A FIFO, socket or device node holds no bytes to keep: deleted, never copied into a backup on
  // another filesystem (a copy opened a FIFO for reading and waited for a writer for ever).
  if (!stat.isDirectory())
    return [{ ...entry, dir: false, special: !stat.isFile() && !stat.isSymbolicLink() }];
  const out: Entry[] = [{ ...entry, dir: true }];
  for (const bytes of await readdir(join(appDir, rel), { encoding: "buffer" })) {
    const name = utf8NameOrUndefined(bytes);
    if (name === undefined) unnamed.push(`${rel}/${escapedName(bytes)}`);
    else out.push(...(await entriesUnder(appDir, `${rel}/${name}`, unnamed)));
  }
  return out;
}
