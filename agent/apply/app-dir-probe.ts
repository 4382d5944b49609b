/**
 * Whether the install index still describes the app directory, from a few of its paths it records
 * when it is written. Ship trusts the index without re-reading the app (a full re-hash each run
 * would cost what #11 saved), so an app directory emptied, deleted, or swapped for an empty one
 * (a file system not mounted on it) after an install was "up to date (1.0.0)", exit 0, on every
 * run: nothing was installed again and nothing said why.
 *
 * The check costs one stat and at most PROBES lstats, no read of the index's entries (the probe
 * sits among the header's scalars, in its first 4 KB). It refuses only what no operator edit
 * explains: the app directory gone, or every probed file gone. Files deleted one by one are the
 * operator's, as before. A copy of the app (`cp -a`, new inodes, same paths) is not refused: its
 * stats no longer vouch for anything, so the next update reads the files and their content decides.
 */
import { lstatSync, statSync } from "node:fs";
import { join } from "node:path";
import * as z from "zod";
import type { IndexFiles } from "./index-files.js";

/** Paths probed: spread over the index, so one directory of the app deleted does not hold them all. */
const PROBES = 4;

/** A probed path's longest: the probe must leave the header's scalars within their 4 KB. */
const PROBE_PATH_BYTES = 256;

export const AppDirProbeSchema = z.array(z.string().min(1)).max(PROBES);
export type AppDirProbe = z.infer<typeof AppDirProbeSchema>;

/** The paths of `files` an index records as its probe: up to PROBES, one from each share of it. */
export function probeOf(files: IndexFiles): AppDirProbe {
  const picked: string[] = [];
  let at = 0;
  for (const rel of files.keys()) {
    // The next probe is the first short enough path from its share of the index on.
    if (at++ < Math.floor((picked.length * files.size) / PROBES)) continue;
    if (Buffer.byteLength(rel) > PROBE_PATH_BYTES) continue;
    picked.push(rel);
    if (picked.length === PROBES) break;
  }
  return picked;
}

/**
 * Why the index that recorded `probe` no longer describes `appDir` (what an operator reads after
 * "does not describe <app_dir>, "), or undefined while it may. A stat that fails otherwise than
 * "not there" (EACCES) proves nothing: the run goes on, and says so itself where it matters.
 */
export function probeMismatch(appDir: string, probe: AppDirProbe): string | undefined {
  // Followed: app_dir may be a symlink.
  const dir = missingOr(() => statSync(appDir));
  if (dir === "missing") return `${appDir} does not exist`;
  if (dir === undefined || probe.length === 0) return undefined;
  // Not followed: the index records an installed link as the link.
  if (!probe.every((rel) => missingOr(() => lstatSync(join(appDir, rel))) === "missing")) return undefined;
  return `none of the files it lists that ship looked for (${probe.join(", ")}) is there (emptied, a file system not mounted on it, or another directory)`;
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
