/**
 * `saved.json` in a backup: the size of each copy it saved, taken once the update moved them in. A
 * copy truncated or edited by hand since (a disk cleaned up with `: > big.log`, a "fix" made in the
 * backup) was restored as it was, and `--rollback` said "back on 2.0.0" of an app holding an empty
 * file. A restore compares each copy with its recorded size before anything moves. Backups made
 * before it was kept, and copies cleanup added later, have no size: they are not checked.
 */
import { lstat } from "node:fs/promises";
import { join } from "node:path";
import * as z from "zod";
import { errnoCode } from "../../shared/fs-errors.js";
import { parseRecord, readRecordText } from "../state/record-file.js";
import { writeFileAtomic } from "../tree/fs-ops.js";
import { backupFilesDir } from "./backup-store.js";

const SAVED_SIZES_FILE = "saved.json";

const SavedSizes = z.record(z.string(), z.number());

/**
 * Records the size of each copy of `rels` the backup holds. Not fsynced: a size lost to a crash
 * only means that copy is not checked.
 */
export async function writeSavedSizes(backupPath: string, rels: readonly string[]): Promise<void> {
  const files = backupFilesDir(backupPath);
  const sizes: Record<string, number> = {};
  for (const rel of rels) {
    const stat = await lstat(join(files, rel)).catch(() => undefined);
    if (stat?.isFile() === true) sizes[rel] = stat.size;
  }
  if (Object.keys(sizes).length > 0)
    await writeFileAtomic(join(backupPath, SAVED_SIZES_FILE), JSON.stringify(sizes), false);
}

/**
 * The copies whose size is no longer the one recorded: `rel`, the size now and the size saved; a
 * copy that is no file now (a directory or a link made in its place) has `kind` saying what it is.
 */
export async function resizedCopies(
  backupPath: string,
): Promise<{ rel: string; now: number; saved: number; kind?: string }[]> {
  const path = join(backupPath, SAVED_SIZES_FILE);
  let text: string;
  try {
    text = await readRecordText(path);
  } catch (error) {
    if (errnoCode(error) === "ENOENT") return [];
    throw error;
  }
  const sizes = parseRecord(
    text,
    path,
    SavedSizes,
    "the sizes of the copies this backup saved; move it aside to restore without checking them",
  );
  const files = backupFilesDir(backupPath);
  const resized: { rel: string; now: number; saved: number; kind?: string }[] = [];
  for (const [rel, saved] of Object.entries(sizes)) {
    const stat = await lstat(join(files, rel)).catch(() => undefined);
    // A missing copy is checkSavedEntries' to judge (a restore killed half-way has moved some back).
    if (stat === undefined) continue;
    // Only files are recorded: a directory in a file's place stopped the restore half-way (ENOTDIR,
    // exit 3, the app partly restored), a link would have gone into the app for the file.
    if (!stat.isFile())
      resized.push({
        rel,
        now: stat.size,
        saved,
        kind: stat.isDirectory() ? "a directory" : stat.isSymbolicLink() ? "a symlink" : "no regular file",
      });
    else if (stat.size !== saved) resized.push({ rel, now: stat.size, saved });
  }
  return resized;
}
