/**
 * A cheap copy of the release that is installed now, taken before a restore removes it: hard links
 * of every file the install index lists (symlinks recreated, copies across filesystems). Rollback
 * commands shipped by a failing release (`scripts/rollback.sh`) run in it after its files are gone
 * from the app.
 */
import { mkdir, readdir, rm } from "node:fs/promises";
import { join, relative } from "node:path";
import { errnoErrorText } from "../../shared/fs-errors.js";
import { copyEntry, linkEntry, lstatOrUndefined } from "../tree/fs-ops.js";
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

/**
 * After the restore: a file the undone update had not changed is still the app's own inode, so a
 * rollback command writing it in `$SHIP_RELEASE_DIR` (`echo … >> "$SHIP_RELEASE_DIR/settings.conf"`)
 * changed the restored app. Each such link becomes a copy; only those the restore left in the app,
 * so the rest stay links. One that cannot be copied (a full disk) is taken out of the copy rather
 * than left shared with the app, and named in the returned problems.
 */
export async function unshareWithApp(input: { appDir: string; into: string }): Promise<string[]> {
  const problems: string[] = [];
  const entries = await readdir(input.into, { recursive: true, withFileTypes: true }).catch(() => []);
  for (const entry of entries) {
    if (!entry.isFile()) continue;
    const kept = join(entry.parentPath, entry.name);
    const own = lstatOrUndefined(kept);
    const inApp = lstatOrUndefined(join(input.appDir, relative(input.into, kept)));
    if (own === undefined || inApp === undefined || own.ino !== inApp.ino || own.dev !== inApp.dev) continue;
    await copyEntry(kept, kept).catch(async (error: unknown) => {
      problems.push(`${errnoErrorText(error)}; left out of $SHIP_RELEASE_DIR`);
      await rm(kept, { force: true });
    });
  }
  return problems;
}
