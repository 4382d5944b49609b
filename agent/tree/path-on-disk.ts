import { readlinkSync, realpathSync, statSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { lstatOrUndefined } from "./fs-ops.js";

/** More links than Linux follows in one lookup (ELOOP): the rest of the path is taken as written. */
const MAX_LINKS = 40;

/**
 * Where `path` leads on disk: each existing component's symlink followed, as the run's own mkdir,
 * open and rename follow it; from the first missing component on, the rest as written. Not
 * realpath, which fails on a path not created yet and on a dangling link that a run's mkdir would
 * then create through.
 */
export async function pathOnDisk(path: string): Promise<string> {
  const rest = resolve(path).split("/").filter(Boolean);
  let at = "/";
  let links = 0;
  for (let name = rest.shift(); name !== undefined; name = rest.shift()) {
    if (name === ".") continue;
    if (name === "..") {
      at = dirname(at);
      continue;
    }
    const next = join(at, name);
    const target = readlinkOrError(next);
    if (typeof target === "string" && links < MAX_LINKS) {
      links++;
      if (target.startsWith("/")) at = "/";
      rest.unshift(...target.split("/").filter(Boolean));
      continue;
    }
    // EINVAL: an existing component that is no link. Anything else (missing, not a directory,
    // unreadable, a loop): nothing further can be followed.
    if (typeof target !== "string" && target.code === "EINVAL") {
      at = next;
      continue;
    }
    return resolve(next, ...rest);
  }
  return at;
}

/**
 * The link's target, or why there is none. Synchronous, as the other look-ups here: one call per
 * component of a short path, where each awaited call was a round trip through libuv's thread pool
 * (~3x the call's own CPU; every command checks the config's paths with it as it starts).
 */
function readlinkOrError(path: string): string | NodeJS.ErrnoException {
  try {
    return readlinkSync(path);
  } catch (error) {
    return error as NodeJS.ErrnoException;
  }
}

/**
 * The first symlink on the way to `path` (the path itself included) that leads nowhere: a run's
 * `mkdir -p` cannot create through it ("cannot create directory …: ENOENT" at the apply, after the
 * hooks ran), and creating its target by hand would guess where the operator meant it (a volume not
 * mounted yet, a shared directory moved away). Components missing from that point on are created
 * by the run as usual.
 */
export async function danglingLink(path: string): Promise<{ link: string; leadsTo: string } | undefined> {
  let at = "/";
  for (const name of resolve(path).split("/").filter(Boolean)) {
    at = join(at, name);
    const entry = lstatOrUndefined(at);
    if (entry === undefined || !entry.isSymbolicLink()) {
      if (entry === undefined || !entry.isDirectory()) return undefined;
      continue;
    }
    const error = statError(at);
    if (error === undefined) continue;
    if (error.code === "ELOOP") return { link: at, leadsTo: "a loop of symlinks: point it at a directory" };
    return {
      link: at,
      leadsTo: `a symlink to ${await pathOnDisk(at)}, which does not exist: create that directory (or point the link at an existing one)`,
    };
  }
  return undefined;
}

function statError(path: string): NodeJS.ErrnoException | undefined {
  try {
    statSync(path);
    return undefined;
  } catch (error) {
    return error as NodeJS.ErrnoException;
  }
}

/**
 * The directory `path` names, whichever spelling (a symlink to it, `..`, a trailing slash): its
 * realpath, or for a path not created yet its nearest existing ancestor's realpath with the rest
 * as written, so the name does not change when the run creates it.
 */
export function realDir(path: string, hops = 0): string {
  try {
    return realpathSync(path);
  } catch {
    // A dangling symlink names where it leads (a backup made through it is for that directory).
    const target = hops < 40 ? danglingTarget(path) : undefined;
    if (target !== undefined) return realDir(target, hops + 1);
    const parent = dirname(resolve(path));
    return parent === resolve(path) ? parent : join(realDir(parent, hops), basename(resolve(path)));
  }
}

function danglingTarget(path: string): string | undefined {
  try {
    return resolve(dirname(resolve(path)), readlinkSync(path));
  } catch {
    return undefined; // not a symlink
  }
}

/**
 * The directory's identity on disk (device and inode, as strings: an inode may pass 2^53), through
 * any symlink; nothing for a missing one. A directory moved with `mv` on its filesystem keeps it.
 */
export function dirIdentity(path: string): { appDirId?: string } {
  const stat = statSync(path, { throwIfNoEntry: false, bigint: true });
  return stat === undefined ? {} : { appDirId: `${stat.dev}:${stat.ino}` };
}
