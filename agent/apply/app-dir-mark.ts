/**
 * Whether the install index still describes the app directory, from a mark the index records in its
 * header: the directory's device and inode, and a few of its files' paths with their inodes. Ship
 * trusts its index without reading the app, so a run over an app directory deleted, emptied, or
 * replaced (a copy moved into place, a restore by a backup tool, a file system not mounted on it,
 * the state directory copied to another machine) said "up to date (1.0.0)", exit 0, and installed
 * nothing. A run that would say "up to date" asks this first (run-source.ts) and, told the index no
 * longer describes the directory, installs the release again (index-set-aside.ts).
 *
 * It must never send a healthy directory to a reinstall, so it says "no longer" only where no
 * operator edit explains it: the directory gone; emptied (the same directory, none of the probed
 * files there, nothing else there either); or another directory than the one ship installed into
 * (another device and inode) holding none of the probed files ship installed nor a copy of one
 * (same size and mtime). A probed file still the one ship installed (its inode) proves the directory
 * is the one, so a device number that moved (an overlay or NFS remounted, a reboot) is not a
 * replacement; a copy of the app with its times (`cp -a`, rsync, a backup tool's restore, the
 * state directory and the app copied to another machine) is up to date, its files read by the next
 * update. Files edited or deleted one by one are the operator's, as before.
 *
 * The cost, on an up-to-date run: one stat and at most PROBES lstats (a readdir only when all
 * are missing), and the index header's first 4 KB. An index an older ship wrote has no mark until
 * the next update writes one: its app_dir is stat'ed and listed (gone or empty; the entries are
 * read only for an empty one, to see that the index lists files).
 */
import { lstatSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import * as z from "zod";
import type { IndexFiles } from "./index-files.js";

/** Paths probed: spread over the index, so one directory of the app deleted does not hold them all. */
const PROBES = 4;

/** A probed path's longest: the mark must leave the header's scalars within their 4 KB. */
const PROBE_PATH_BYTES = 256;

function buildAppDirMarkSchema() {
  return z.object({
    dev: z.number(),
    ino: z.number(),
    /** [path relative to the app, and the inode, size and mtime (ms) ship left it with]. */
    probe: z.array(z.tuple([z.string().min(1), z.number(), z.number(), z.number()])).max(PROBES),
  });
}
export type AppDirMark = z.infer<ReturnType<typeof buildAppDirMarkSchema>>;

let built: ReturnType<typeof buildAppDirMarkSchema> | undefined;
/**
 * The mark's schema, built at its first use, not as the module loads: `--list-backups` loads the
 * install index's modules and reads no mark (install-index.ts builds its schemas alike; issue 11).
 */
export function appDirMarkSchema(): ReturnType<typeof buildAppDirMarkSchema> {
  built ??= buildAppDirMarkSchema();
  return built;
}

/**
 * The mark of `appDir` as an update leaves it with `files` (their inodes as the index records them),
 * or undefined when app_dir cannot be stat'ed (nothing is recorded; the index is not checked).
 */
export function appDirMarkOf(appDir: string, files: IndexFiles): AppDirMark | undefined {
  const dir = statSync(appDir, { throwIfNoEntry: false });
  if (dir === undefined) return undefined;
  const probe: [string, number, number, number][] = [];
  let at = 0;
  for (const [rel, entry] of files) {
    // The next probe is the first short enough path from its share of the index on.
    if (at++ < Math.floor((probe.length * files.size) / PROBES)) continue;
    if (Buffer.byteLength(rel) > PROBE_PATH_BYTES) continue;
    probe.push([rel, entry.ino, entry.size, entry.mtimeMs]);
    if (probe.length === PROBES) break;
  }
  return { dev: dir.dev, ino: dir.ino, probe };
}

/** What an index without a mark is told of an empty app_dir: whether it lists files decides. */
export const EMPTY_UNMARKED = "it is empty";

/**
 * Why the index that recorded `mark` no longer describes `appDir` (read after "<index> does not
 * describe <app_dir>: "), or undefined while it may. Without a mark (an index an older ship wrote)
 * a missing app_dir is known, and an empty one is EMPTY_UNMARKED: the caller asks the entries. A
 * stat that fails otherwise than "not there" (EACCES) proves nothing: undefined.
 */
export function markMismatch(appDir: string, mark: AppDirMark | undefined): string | undefined {
  // Followed: app_dir may be a symlink, and the mark records where it led.
  const dir = missingOr(() => statSync(appDir));
  if (dir === "missing") return "it does not exist";
  if (dir === undefined) return undefined;
  if (mark === undefined) return isEmpty(appDir) ? EMPTY_UNMARKED : undefined;
  if (mark.probe.length === 0) return undefined;
  const sameDir = dir.dev === mark.dev && dir.ino === mark.ino;
  let missing = 0;
  for (const [rel, ino, size, mtimeMs] of mark.probe) {
    // Not followed: the index records an installed link as the link.
    const file = missingOr(() => lstatSync(join(appDir, rel)));
    if (file === undefined) return undefined;
    if (file === "missing") {
      missing += 1;
      continue;
    }
    // The file ship installed, or a copy of it as `cp -a`, rsync or a backup tool's restore make
    // one (size and mtime kept, to the second: tar keeps no more), whose content the next update
    // reads. In the same directory any file there is enough (below): an edit is the operator's.
    if (file.ino === ino || (file.size === size && sameSecond(file.mtimeMs, mtimeMs))) return undefined;
  }
  const names = mark.probe.map(([rel]) => rel).join(", ");
  if (!sameDir)
    return `it is another directory than the one ship installed into (device ${mark.dev}, inode ${mark.ino}; now ${dir.dev}, ${dir.ino}) and none of the files ship looked for (${names}) is the one it installed or a copy of it`;
  if (missing < mark.probe.length || !isEmpty(appDir)) return undefined;
  return `it is empty: none of the files ship installed there (${names}, …) is left`;
}

function sameSecond(a: number, b: number): boolean {
  return Math.floor(a / 1000) === Math.floor(b / 1000);
}

function isEmpty(dir: string): boolean {
  try {
    return readdirSync(dir).length === 0;
  } catch {
    return false;
  }
}

/** "missing" when nothing is there (ENOENT, ENOTDIR); undefined when the stat failed otherwise. */
function missingOr<T>(stat: () => T): T | "missing" | undefined {
  try {
    return stat();
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return code === "ENOENT" || code === "ENOTDIR" ? "missing" : undefined;
  }
}
