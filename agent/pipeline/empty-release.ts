/**
 * A release that installs no file is never one: it is a release volume not mounted yet, an upload
 * not begun, a tarball packed from an empty directory, or a manifest published without the app
 * (CI's `ship release manifest` output copied alone, every file left out by skip rules). Installed,
 * it read as "every file dropped" and emptied the app, exit 0. Both are refused before anything runs,
 * in a run and in `--check-only` alike (both take this step).
 */
import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { VerificationError } from "../../shared/errors.js";
import { MANIFEST_FILENAME, type Manifest } from "../../shared/manifest/schema.js";
import { protectedDirectoryOf, ruleFor } from "../apply/rules.js";
import type { FetchedRelease } from "../sources/types.js";

const EMPTY = "empty release";

function consequence(appDir: string): string {
  return `installing it would remove every file ship installed in ${appDir} (a volume not mounted, or a release not copied yet?); nothing was installed`;
}

/** Before the manifest is read: a release with no file at all, the manifest included. */
export async function refuseEmpty(dir: string, where: string, appDir: string): Promise<void> {
  if ((await firstFile(dir, "", () => true)) !== undefined) return;
  const onlyDirs = (await readdir(dir)).length > 0 ? " (only empty directories)" : "";
  throw new VerificationError(
    EMPTY,
    `${where} holds no files and no ${MANIFEST_FILENAME}${onlyDirs}: ${consequence(appDir)}`,
  );
}

/**
 * Once the manifest is read: a release whose every file is the manifest itself, or one a skip rule
 * or a protected directory keeps out of the app. (The pipeline keeps the manifest in its state
 * directory, never in the app.)
 */
export async function refuseNothingToInstall(
  release: Pick<FetchedRelease, "dir" | "listing">,
  manifest: Manifest,
  where: string,
  appDir: string,
): Promise<void> {
  const left: string[] = [];
  const installs = (rel: string): boolean => {
    if (rel === MANIFEST_FILENAME) return false;
    const kept = protectedBy(manifest, rel) ?? skipPattern(manifest, rel);
    if (kept === undefined) return true;
    if (left.length < 3) left.push(`${rel} (${kept})`);
    return false;
  };
  // A source that staged only what changed lists the whole release.
  const listed = release.listing?.files.keys();
  const found =
    listed === undefined ? await firstFile(release.dir, "", installs) : [...listed].find(installs);
  if (found !== undefined) return;
  const others =
    left.length === 0
      ? ""
      : `; skip rules or protected directories keep out the rest: ${left.join(", ")}${left.length === 3 ? ", …" : ""}`;
  throw new VerificationError(
    EMPTY,
    `${where} holds no file to install, only its ${MANIFEST_FILENAME}${others}: ${consequence(appDir)}`,
  );
}

function protectedBy(manifest: Manifest, rel: string): string | undefined {
  const dir = protectedDirectoryOf(manifest, rel);
  return dir === undefined ? undefined : `protected directory ${dir}`;
}

function skipPattern(manifest: Manifest, rel: string): string | undefined {
  const { pattern, rule } = ruleFor(manifest, rel);
  return rule.action === "skip" ? `skip rule ${pattern}` : undefined;
}

/** The first file (anything but a directory) under dir that `wanted` takes; stops there. */
async function firstFile(
  dir: string,
  prefix: string,
  wanted: (rel: string) => boolean,
): Promise<string | undefined> {
  for (const entry of await readdir(join(dir, prefix), { withFileTypes: true })) {
    const rel = prefix === "" ? entry.name : `${prefix}/${entry.name}`;
    const found = entry.isDirectory() ? await firstFile(dir, rel, wanted) : wanted(rel) ? rel : undefined;
    if (found !== undefined) return found;
  }
  return undefined;
}
