/**
 * A cheap copy of the release that is installed now, taken before a restore removes it: hard links
 * of every file the install index lists (symlinks recreated, copies across filesystems). Rollback
 * commands shipped by a failing release (`scripts/rollback.sh`) run in it after its files are gone
 * from the app.
 */
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { linkEntry } from "../tree/fs-ops.js";
import { ConfinedPaths } from "./confined-paths.js";
import { readInstallIndex } from "./install-index.js";

export async function linkInstalledFiles(input: {
  appDir: string;
  stateDir: string;
  into: string;
}): Promise<string | undefined> {
  const index = await readInstallIndex(input.stateDir);
  await mkdir(input.into, { recursive: true });
  if (index === undefined) return undefined;
  const paths = new ConfinedPaths(input.appDir);
  for (const rel of Object.keys(index.files)) {
    // Only entries inside the app: never a file behind a directory someone replaced with a symlink.
    if (!(await paths.reachable(rel))) continue;
    await linkEntry(join(input.appDir, rel), join(input.into, rel)).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== "ENOENT") throw error; // removed since the install: nothing to keep
    });
  }
  return index.version;
}
