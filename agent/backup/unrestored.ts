/**
 * Old versions a restore could not put back (the path now holds someone else's file, or lies behind
 * a symlink) are kept beside the consumed backup, never dropped: `<backup>.unrestored/<path>`. Having
 * no meta.json, the directory is never listed or restored as a backup; `ship --list-backups` names it
 * apart, and keep_backups removes it like a backup made when it was (pruneBackups).
 */
import { existsSync } from "node:fs";
import { readdir } from "node:fs/promises";
import { join, relative } from "node:path";
import { readRecordText } from "../state/record-file.js";
import { moveEntry, writeFileAtomic } from "../tree/fs-ops.js";

export const UNRESTORED_SUFFIX = ".unrestored";

export function unrestoredDir(backupPath: string): string {
  return `${backupPath}${UNRESTORED_SUFFIX}`;
}

/**
 * `<backup>.unrestored.json`, beside the directory: a copy of the consumed backup's meta.json, which
 * says the app directory it belongs to. Without it, a config sharing backup_dir and the source name
 * took another config's set-aside files for its own, and its keep_backups deleted them.
 */
export function setAsideRecord(backupPath: string): string {
  return `${unrestoredDir(backupPath)}.json`;
}

const recorded = new Map<string, Promise<void>>();

/**
 * Moves the saved old version of `rel` (at `saved`) into `<backup>.unrestored/`, the record of whose
 * app directory it is written first (once per backup): a kill between the two leaves a record
 * without a directory, never a directory nobody can tell the owner of.
 */
export async function setAsideSaved(backupPath: string, saved: string, rel: string): Promise<void> {
  let record = recorded.get(backupPath);
  if (record === undefined) {
    record = writeSetAsideRecord(backupPath);
    recorded.set(backupPath, record);
    record.catch(() => recorded.delete(backupPath));
  }
  await record;
  await moveEntry(saved, join(unrestoredDir(backupPath), rel));
}

async function writeSetAsideRecord(backupPath: string): Promise<void> {
  const meta = await readRecordText(join(backupPath, "meta.json")).catch(() => undefined);
  // No meta.json to copy (a re-run after it went): the directory is judged as one from before records.
  if (meta === undefined || existsSync(setAsideRecord(backupPath))) return;
  await writeFileAtomic(setAsideRecord(backupPath), meta);
}

/**
 * The paths whose previous versions a restore of `backupPath` set aside, read back from disk: a
 * restore finished by `--recover` after a kill no longer knows what the killed run left alone, but
 * what it set aside is still there. Sorted; empty when nothing was.
 */
export async function setAsidePaths(backupPath: string): Promise<string[]> {
  const root = unrestoredDir(backupPath);
  try {
    const entries = await readdir(root, { recursive: true, withFileTypes: true });
    return entries
      .filter((e) => !e.isDirectory())
      .map((e) => relative(root, join(e.parentPath, e.name)))
      .sort();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw error;
  }
}

/**
 * " except N path(s) …; their previous versions are in …", or "": how every restore's one line
 * (an automatic restore, `ship --recover`, `ship --rollback`) says that it left paths alone, so
 * "restored the previous version" is never more than the truth.
 */
export function leftAloneNote(paths: readonly string[], oldVersions: readonly string[]): string {
  if (paths.length === 0) return "";
  const shown = paths.slice(0, 3).map(shownPath).join(", ");
  const more = paths.length > 3 ? ` and ${paths.length - 3} more` : "";
  // Paths the undone update added have no previous version, and then no folder was made.
  const kept = [...new Set(oldVersions)].filter((dir) => existsSync(dir));
  const where =
    kept.length > 0
      ? `their previous versions are in ${kept.join(", ")}`
      : "they had no previous version (the update added them)";
  return ` except ${paths.length} path(s) it was not ship's to touch (${shown}${more}: changed, replaced or behind a symlink since the update); ${where}`;
}

/**
 * A path as one line shows it: a name with a line break or another control character (a file
 * "a<newline>b.txt" in a release) split "left alone: a" and "b.txt (…)" over two lines, the second
 * looking like output of its own. Such a name is JSON-quoted ("a\nb.txt"); any other as it is.
 */
export function shownPath(rel: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it looks for
  return /[\u0000-\u001f\u007f]/.test(rel) ? JSON.stringify(rel) : rel;
}
