/**
 * A merged config is the operator's file with the release's changes, written anew and renamed over
 * theirs. Given the release's mode, a `chmod 600` on a config holding a password came back 0644 at
 * every merge, and as root the file became root's (an app running as its own user may then not read
 * it). So a merged file keeps the owner and group of the operator's copy, and its mode is the
 * release's with every bit the operator's copy lacks cleared: it is never readable or writable by
 * more than either says.
 */
import { chmod, chown, lstat } from "node:fs/promises";

export interface MergedOwnership {
  /** The mode the merged file gets. */
  mode: number;
  /** Said when the operator's owner could not be kept, so the release's mode applies as it used to. */
  warning?: string;
}

/** The mode a merged file should have, before knowing whether its owner can be kept. */
export function mergedMode(releaseMode: number, userMode: number | undefined): number {
  return userMode === undefined ? releaseMode : releaseMode & userMode & 0o777;
}

/**
 * Gives the staged merged file `staged` the owner, group and mode it should have beside the
 * operator's copy `current`. When ship may not give it their owner (not root, the file another
 * user's), it keeps the release's mode, as before: a mode narrowed for a file that changed owner
 * could lock its reader out.
 */
export async function stageMergedOwnership(
  staged: string,
  current: string,
  releaseMode: number,
): Promise<MergedOwnership> {
  const theirs = await lstat(current);
  const ours = await lstat(staged);
  if (theirs.uid !== ours.uid || theirs.gid !== ours.gid) {
    try {
      await chown(staged, theirs.uid, theirs.gid);
    } catch (error) {
      await chmod(staged, releaseMode);
      const code = (error as NodeJS.ErrnoException).code ?? String(error);
      return {
        mode: releaseMode,
        warning: `it is owned by ${theirs.uid}:${theirs.gid} and ship (uid ${process.getuid?.() ?? "?"}) cannot give the merged file that owner (${code}): it is now ship's, with the release's mode ${octal(releaseMode)}; run ship as root or as that user to keep both`,
      };
    }
  }
  const mode = mergedMode(releaseMode, theirs.mode & 0o7777);
  // After the chown, which may clear set-id bits: the mode must be exactly this.
  await chmod(staged, mode);
  return { mode };
}

function octal(mode: number): string {
  return `0${mode.toString(8).padStart(3, "0")}`;
}
