/**
 * Release file names must be UTF-8 (README: "File names and symlink targets must be UTF-8, from
 * every source"): tar and git carry the bytes, and every agent refuses a name that is not UTF-8 at
 * fetch. One check for every way a release is made (http/sftp build, git tag), so a tree one
 * command refuses is not released by another.
 */
import { readlink } from "node:fs/promises";
import { join } from "node:path";
import { escapedName } from "../../shared/byte-names.js";
import { BadInputError } from "../../shared/errors.js";

const strictUtf8 = new TextDecoder("utf-8", { fatal: true });

/** What to do about the file, and what was left undone, said at the end of the refusal. */
export interface Utf8Refusal {
  /** How to keep it out of this kind of release (".gitignore, --include only what ships"). */
  leaveOut: string;
  /** "nothing was built", "nothing was committed or tagged". */
  nothingDone: string;
}

/**
 * A path's bytes as text, refusing a name that is not UTF-8: decoded lossily (`\xe9` as U+FFFD) it
 * named no file, so git's listing left it out of the archive without a word (agents then removed
 * it from every server), a walk failed on "no such file" about a file that is there, and the
 * private-key scan skipped it. `parent` (ending in "/", or "") is the path of `name`'s directory.
 */
export function utf8Name(root: string, parent: string, name: Buffer, refusal: Utf8Refusal): string {
  try {
    return strictUtf8.decode(name);
  } catch {
    throw BadInputError.single(
      join(root, parent + escapedName(name)),
      "",
      `has a name that is not valid UTF-8, so agents would install it under another name (or not at all): rename it (convmv -f latin1 -t utf8), or leave it out (${refusal.leaveOut}); ${refusal.nothingDone}`,
    );
  }
}

/**
 * A symlink's target as text, refusing one that is not UTF-8: read lossily, `caf\xe9` became
 * `caf\uFFFD` in the archive, so agents installed a link to another name without a word.
 */
export async function utf8LinkTarget(path: string, refusal: Utf8Refusal): Promise<string> {
  const bytes = await readlink(path, { encoding: "buffer" });
  try {
    return strictUtf8.decode(bytes);
  } catch {
    throw BadInputError.single(
      path,
      "",
      `is a symlink to ${escapedName(bytes)}, a target that is not valid UTF-8, so agents would install a link to another name: point it at a UTF-8 name, or leave it out (${refusal.leaveOut}); ${refusal.nothingDone}`,
    );
  }
}

/** The paths of NUL-separated `git … -z` output, each checked by utf8Name (relative to `root`). */
export function nulSeparatedNames(root: string, stdout: Buffer, refusal: Utf8Refusal): string[] {
  const paths: string[] = [];
  for (let start = 0; start < stdout.length; ) {
    const end = stdout.indexOf(0, start);
    const stop = end === -1 ? stdout.length : end;
    if (stop > start) paths.push(utf8Name(root, "", stdout.subarray(start, stop), refusal));
    start = stop + 1;
  }
  return paths;
}
