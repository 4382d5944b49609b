/**
 * `--out` checked before anything is built, signed or written: a file where a directory is meant,
 * or a directory (or a missing one) where a file is meant, failed only at the write, as "cannot
 * create directory …: already exists (EEXIST)" or "cannot open …: is a directory (EISDIR)" with
 * exit 1 — the code of a failed update — for what is bad input (exit 2, naming the flag). So did a
 * symlink that leads nowhere (a dist/ link to an artifacts disk that is not mounted): "cannot
 * create directory …: no such file or directory (ENOENT)", or for manifest "already exists; pass
 * --force" and then ENOENT.
 */
import { lstat, readlink, stat } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { BadInputError } from "../../shared/errors.js";
import { errnoCode } from "../../shared/fs-errors.js";

type Kind =
  | { kind: "directory" | "other" | "missing" }
  /** A symlink stat cannot follow: its target is missing (or under a file), or the links loop. */
  | { kind: "broken"; problem: string };

async function kindOf(path: string): Promise<Kind> {
  try {
    return { kind: (await stat(path)).isDirectory() ? "directory" : "other" };
  } catch (error) {
    const code = errnoCode(error);
    if (code !== "ENOENT" && code !== "ENOTDIR" && code !== "ELOOP") throw error;
  }
  // stat failed: either nothing is there, or a link is (lstat does not follow the last one).
  const link = await lstat(path).then(
    (s) => s.isSymbolicLink(),
    () => false,
  );
  if (!link) return { kind: "missing" };
  const target = await readlink(path).catch(() => "?");
  const loops = await stat(path).then(
    () => false,
    (e: unknown) => errnoCode(e) === "ELOOP",
  );
  return {
    kind: "broken",
    problem: loops
      ? `is a symlink that leads nowhere (to ${target}, in a loop of symlinks); nothing was written`
      : `is a symlink that leads nowhere (to ${target}, which does not exist: a disk that is not mounted?); nothing was written`,
  };
}

/** `at` named as the problem of `target`: itself, or the parent of it that is wrong. */
function refuse(flag: string, target: string, at: string, problem: string): BadInputError {
  return BadInputError.single(flag, target, `${at === target ? "" : `${at} `}${problem}`);
}

/**
 * A directory ship creates when missing: it, or the nearest of its parents that exists, must be a
 * directory, and no symlink on the way may lead nowhere (mkdir would fail on it, or under it).
 */
export async function checkOutDir(flag: string, dir: string): Promise<void> {
  const target = resolve(dir);
  for (let at = target; ; at = dirname(at)) {
    const found = await kindOf(at);
    if (found.kind === "directory") return;
    if (found.kind === "other") throw refuse(flag, target, at, "is not a directory");
    if (found.kind === "broken") throw refuse(flag, target, at, found.problem);
    if (dirname(at) === at) return;
  }
}

/** A file ship writes: not a directory (`hint` names a file in it) nor a symlink leading nowhere, in a directory that exists. */
export async function checkOutFile(flag: string, path: string, hint: string): Promise<void> {
  const target = resolve(path);
  const found = await kindOf(target);
  if (found.kind === "directory")
    throw BadInputError.single(flag, target, `is a directory: name the file (${flag} ${hint})`);
  if (found.kind === "broken") throw BadInputError.single(flag, target, found.problem);
  const parent = await kindOf(dirname(target));
  if (parent.kind === "missing")
    throw BadInputError.single(flag, target, "cannot be written: its directory does not exist (ENOENT)");
  if (parent.kind === "other") throw refuse(flag, target, dirname(target), "is not a directory");
  if (parent.kind === "broken") throw refuse(flag, target, dirname(target), parent.problem);
}
