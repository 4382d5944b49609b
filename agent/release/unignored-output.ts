/**
 * Whether a file `ship release` wrote lies in a git work tree that does not ignore it. Without
 * `--out` the archive goes into the release directory, as release.sh did: in a repository that is
 * an untracked file, which `git status` lists and `ship release git` then refuses as a tree that
 * is not clean, and which `git add -A` would commit. So is the `APP-VERSION.git.sig` that `sign
 * --git-commit` writes into `-C`: the next `ship release git` was refused over it without a word
 * at the sign that wrote it.
 */
import { execFile } from "node:child_process";
import { basename, dirname } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

/** True when git says `path` is in a work tree and not ignored; false otherwise (or without git). */
export async function unignoredInWorkTree(path: string): Promise<boolean> {
  try {
    // Exit 0: ignored; 1: not ignored; 128: no work tree here.
    await run("git", ["check-ignore", "-q", "--", basename(path)], { cwd: dirname(path) });
    return false;
  } catch (error) {
    return (error as { code?: unknown }).code === 1;
  }
}

/** `outHint` says what --out takes: a directory (http, sftp) or a file (sign). */
export function unignoredOutputNote(
  path: string,
  outHint = "give --out a directory outside the tree, or one .gitignore names (dist/)",
): string {
  return `note: ${path} is in a git work tree that does not ignore it: git status lists it, and ship release git refuses a tree that is not clean; ${outHint}`;
}
