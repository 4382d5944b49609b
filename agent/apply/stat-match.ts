/**
 * Whether the install index vouches for a file by its stat alone, the one test the planner, the
 * sources' "does the app still hold it" and a restore's "is this still ship's file" share. Each had
 * its own copy; a stat that matches here is trusted without reading the file, so the copies must
 * never drift apart.
 *
 * The mode counts (masked to its permission bits, so a caller may pass an lstat's whole mode): a
 * mismatch only means "read it", and the content hash then decides. So a `chmod` of an installed
 * file is no edit (README: the planner's "changed on this host" is judged by content), yet the stat
 * never vouches for a file whose mode moved, which an index without ctimes could not otherwise see.
 */
import type { IndexedFile, TreeEntry } from "./types.js";

export function statMatches(
  app: Pick<TreeEntry, "size" | "mode" | "mtimeMs" | "ino" | "ctimeMs">,
  indexed: IndexedFile | undefined,
): boolean {
  return (
    indexed !== undefined &&
    app.size === indexed.size &&
    app.mtimeMs === indexed.mtimeMs &&
    app.ino === indexed.ino &&
    (app.mode & 0o7777) === indexed.mode &&
    (indexed.ctimeMs === undefined || app.ctimeMs === indexed.ctimeMs)
  );
}
