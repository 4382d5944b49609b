/**
 * `--out` checked before anything is built, signed or written: a file where a directory is meant,
 * or a directory (or a missing one) where a file is meant, failed only at the write, as "cannot
 * create directory …: already exists (EEXIST)" or "cannot open …: is a directory (EISDIR)" with
 * exit 1 — the code of a failed update — for what is bad input (exit 2, naming the flag).
 */
import { stat } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { BadInputError } from "../../shared/errors.js";
import { errnoCode } from "../../shared/fs-errors.js";

async function kind(path: string): Promise<"directory" | "other" | "missing"> {
  try {
    return (await stat(path)).isDirectory() ? "directory" : "other";
  } catch (error) {
    const code = errnoCode(error);
    if (code === "ENOENT" || code === "ENOTDIR") return "missing";
    throw error;
  }
}

/** A directory ship creates when missing: it, or the nearest of its parents that exists, must be a directory. */
export async function checkOutDir(flag: string, dir: string): Promise<void> {
  const target = resolve(dir);
  for (let at = target; ; at = dirname(at)) {
    const found = await kind(at);
    if (found === "directory") return;
    if (found === "other")
      throw BadInputError.single(flag, target, `${at === target ? "" : `${at} `}is not a directory`);
    if (dirname(at) === at) return;
  }
}

/** A file ship writes: not a directory (`hint` names a file in it), in a directory that exists. */
export async function checkOutFile(flag: string, path: string, hint: string): Promise<void> {
  const target = resolve(path);
  if ((await kind(target)) === "directory")
    throw BadInputError.single(flag, target, `is a directory: name the file (${flag} ${hint})`);
  const parent = await kind(dirname(target));
  if (parent === "missing")
    throw BadInputError.single(flag, target, "cannot be written: its directory does not exist (ENOENT)");
  if (parent === "other") throw BadInputError.single(flag, target, `${dirname(target)} is not a directory`);
}
