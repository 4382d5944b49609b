/**
 * Whether a new file can be made at a path, known before anything else is made: the checks by mode
 * and filesystem (dir-access.ts) pass for root everywhere, yet /proc refuses new files (ENOENT under
 * a directory that is there) and /sys refuses root too (EACCES). Such a file named by a flag was
 * refused only after the data dir and its secret were made, or after a token was issued.
 */
import { existsSync } from "node:fs";
import { type FileHandle, open, unlink } from "node:fs/promises";
import { dirname } from "node:path";
import { errnoCode, fsErrorText } from "./fs-errors.js";

/** The error creating `path` meets, or undefined once a file was made there and removed again. */
export async function fileCreationError(path: string): Promise<unknown> {
  let made: FileHandle;
  try {
    // O_EXCL: an existing file is never touched, and only the file made here is removed.
    made = await open(path, "wx", 0o600);
  } catch (error) {
    return error;
  }
  await made.close();
  await unlink(path);
  return undefined;
}

/**
 * Why a file or directory could not be made, in words: mkdir's or open's ENOENT under a directory
 * that is there ("no such file or directory" of a path whose parent plainly exists) is a filesystem
 * that takes no new entries.
 */
export function creationErrorText(error: unknown): string {
  const at = (error as NodeJS.ErrnoException).path;
  return errnoCode(error) === "ENOENT" && at !== undefined && existsSync(dirname(at))
    ? `${dirname(at)} takes no new entries (a kernel filesystem such as /proc or /sys)`
    : fsErrorText(error);
}
