/**
 * Old versions a restore could not put back (the path now holds someone else's file, or lies behind
 * a symlink) are kept beside the consumed backup, never dropped: `<backup>.unrestored/<path>`. Having
 * no meta.json, the directory is never listed or restored as a backup; `ship --list-backups` names it
 * apart, and keep_backups removes it like a backup made when it was (pruneBackups).
 */
import { existsSync } from "node:fs";
import { readdir } from "node:fs/promises";
import { join, relative } from "node:path";

export const UNRESTORED_SUFFIX = ".unrestored";

export function unrestoredDir(backupPath: string): string {
  return `${backupPath}${UNRESTORED_SUFFIX}`;
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
