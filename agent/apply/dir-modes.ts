/**
 * Directory modes across releases. A directory that already exists takes the release's new mode
 * only when the release changed it (the previous release's mode, kept in the install index, differs
 * from this one's) and the app's directory still has the previous release's mode. A mode the
 * operator set (`chmod 770 storage` for the web server's group, `chmod 700 secrets`) is theirs: a
 * release that ships every directory as 755 (git has no directory modes) would otherwise reset it on
 * every update. Protected directories and the app directory itself are never changed.
 */
import type { Manifest } from "../../shared/manifest/schema.js";
import { protectedDirectoryOf } from "./rules.js";
import type { InstallIndex, TreeScan } from "./types.js";

/** The release's directory modes worth remembering: its own directories outside protected ones. */
export function releaseDirModes(
  manifest: Manifest,
  releaseDirs: ReadonlyMap<string, number> | undefined,
): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [rel, mode] of releaseDirs ?? []) {
    if (rel === "" || protectedDirectoryOf(manifest, rel) !== undefined) continue;
    out[rel] = mode & 0o7777;
  }
  return out;
}

/** Existing directories whose mode follows the release (see above), in path order. */
export function dirModeChanges(input: {
  manifest: Manifest;
  releaseDirs: ReadonlyMap<string, number> | undefined;
  app: TreeScan;
  index: InstallIndex | undefined;
  /** Directories the plan removes (emptied, or replaced by a file): nothing to chmod. */
  removed: ReadonlySet<string>;
}): { rel: string; mode: number; was: number }[] {
  const previous = input.index?.dirModes;
  if (previous === undefined || input.releaseDirs === undefined) return [];
  const out: { rel: string; mode: number; was: number }[] = [];
  for (const [rel, mode] of Object.entries(releaseDirModes(input.manifest, input.releaseDirs))) {
    const was = input.app.dirs.get(rel);
    const before = previous[rel];
    if (was === undefined || before === undefined || input.removed.has(rel)) continue;
    if (mode !== before && was === before) out.push({ rel, mode, was });
  }
  return out.sort((a, b) => (a.rel < b.rel ? -1 : 1));
}
