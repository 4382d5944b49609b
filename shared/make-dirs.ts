/**
 * `mkdir -p` that ends. Node's `mkdir(path, { recursive: true })` never returns where mkdir(2)
 * answers ENOENT under a parent that exists — /proc and its kin refuse new entries that way — so
 * `ship-hub serve --data-dir /proc/x` (or an agent's app_dir there) hung silently. Here each level
 * is made with a plain mkdir, and ENOENT under an existing parent is that level's answer.
 */
import { mkdirSync, statSync } from "node:fs";
import { mkdir, stat } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { errnoCode } from "./fs-errors.js";

/** Makes `path` and its missing parents (each with `mode`); the first directory made, as Node's. */
export async function makeDirs(path: string, mode = 0o777): Promise<string | undefined> {
  const dir = resolve(path);
  try {
    await mkdir(dir, { mode });
    return dir;
  } catch (error) {
    const code = errnoCode(error);
    if (code === "EEXIST" && (await stat(dir).catch(() => undefined))?.isDirectory()) return undefined;
    if (code !== "ENOENT" || dirname(dir) === dir) throw error;
    if ((await stat(dirname(dir)).catch(() => undefined)) !== undefined) throw error;
    const first = await makeDirs(dirname(dir), mode);
    await mkdir(dir, { mode }).catch(async (again: unknown) => {
      // Made meanwhile by another process: as good as made here.
      if (errnoCode(again) !== "EEXIST" || !(await stat(dir)).isDirectory()) throw again;
    });
    return first;
  }
}

/** makeDirs, synchronously. */
export function makeDirsSync(path: string, mode = 0o777): string | undefined {
  const dir = resolve(path);
  try {
    mkdirSync(dir, { mode });
    return dir;
  } catch (error) {
    const code = errnoCode(error);
    if (code === "EEXIST" && statSync(dir, { throwIfNoEntry: false })?.isDirectory()) return undefined;
    if (code !== "ENOENT" || dirname(dir) === dir) throw error;
    if (statSync(dirname(dir), { throwIfNoEntry: false }) !== undefined) throw error;
    const first = makeDirsSync(dirname(dir), mode);
    try {
      mkdirSync(dir, { mode });
    } catch (again) {
      if (errnoCode(again) !== "EEXIST" || !statSync(dir, { throwIfNoEntry: false })?.isDirectory())
        throw again;
    }
    return first;
  }
}
