/**
 * A directory (or file) of the app with something mounted on it (`mount --bind /srv/shared/storage
 * app/storage`) where the release puts files, or where ship installed what the release drops: its
 * files are another place's, as behind a symlinked directory, and an update replaced or deleted the
 * operator's shared files through it (a release without storage/.gitkeep deleted the shared
 * directory's own, exit 0; an unlink or rmdir of the mount point itself failed the apply, EBUSY).
 * Asked by the check before anything runs, and by the apply again before it writes: a mount made
 * meanwhile (by a pre_update hook) was written through.
 */

import type { Manifest } from "../../shared/manifest/schema.js";
import { mountPointsIn } from "../tree/dir-names.js";
import { realDir } from "../tree/path-on-disk.js";
import { protectedDirectoryOf } from "./rules.js";
import type { InstallIndex } from "./types.js";

const under = (path: string, rel: string) => path === rel || path.startsWith(`${rel}/`);

/** Why the release may not be installed past a mount point in the app, or undefined. */
export function mountPointInTheWay(input: {
  manifest: Manifest;
  appDir: string;
  index: InstallIndex | undefined;
  /** Whether the release has `rel` or anything under it. */
  writes: (rel: string) => boolean;
}): string | undefined {
  const { manifest, index } = input;
  for (const rel of mountPointsIn(realDir(input.appDir))) {
    if (protectedDirectoryOf(manifest, rel) !== undefined) continue;
    const writes = input.writes(rel);
    const installed =
      index !== undefined &&
      ([...index.files.keys()].some((path) => under(path, rel)) || index.dirs.some((dir) => under(dir, rel)));
    if (!writes && !installed) continue;
    const what = writes ? "the release writes there" : "ship installed files there that this release removes";
    return `the app has a mount point at ${rel} (what is mounted there is not the app's), and ${what}; unmount it or protect that directory in the manifest, then run ship again`;
  }
  return undefined;
}

/** Whether `paths` holds `rel` or anything under it. */
export function anyUnder(paths: Iterable<string>, rel: string): boolean {
  for (const path of paths) if (under(path, rel)) return true;
  return false;
}
