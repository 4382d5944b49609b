/**
 * Refuses, before the pre_update hooks run, an update that would have to replace or remove an app
 * entry the kernel forbids changing (`chattr +i` on the file or its directory). The apply met it
 * only after the hooks had run (a service stopped for nothing) and then undid itself, exit 1.
 *
 * access(W_OK) answers EPERM for an immutable inode even to root, and changes nothing (no open, so
 * no close-after-write event for a watcher of the app). An append-only file passes access() and is
 * still refused by the apply, as before. Only EPERM counts: EACCES for a read-only mode says nothing
 * about a rename in a writable directory.
 *
 * Cost: one access() per release file that differs from what the install index lists (every file
 * when the source recorded no hashes), per file the release drops, and per directory they are in.
 */
import { accessSync, constants, type Dirent, lstatSync, readdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { BadInputError } from "../../shared/errors.js";
import { errnoCode, fsErrorText } from "../../shared/fs-errors.js";
import { MANIFEST_FILENAME } from "../../shared/manifest/schema.js";
import { shownPath } from "../backup/unrestored.js";
import type { IndexComparison } from "../sources/app-holds.js";
import { hashFile } from "../tree/hash-file.js";
import { loopSlices } from "../tree/loop-slices.js";
import type { PathTypesCheck } from "./check-path-types.js";
import { IndexFiles } from "./index-files.js";
import { readInstallIndex } from "./install-index.js";
import { protectedDirectoryOf, ruleFor } from "./rules.js";

/** What the preflight before the hooks reads: the path-type check's input, and the source's hashes. */
export interface ImmutableCheck extends PathTypesCheck {
  /** sha256 of release files the source recorded while writing them. */
  hashes?: ReadonlyMap<string, string>;
  /** The listing compared with the install index by the source (used only if that index is the one read here). */
  compared?: IndexComparison;
}

export async function checkImmutable(input: ImmutableCheck): Promise<void> {
  const index = await readInstallIndex(input.stateDir);
  const installed = index?.files ?? new IndexFiles();
  const release: ReadonlyMap<string, { sha256: string } | string | undefined> =
    input.listing ?? (await releaseFiles(input));
  const ours = (rel: string) =>
    protectedDirectoryOf(input.manifest, rel) === undefined &&
    ruleFor(input.manifest, rel).rule.action !== "skip";
  const refused = new Map<string, string>();
  const dirsAsked = new Set<string>();
  const askDir = (rel: string) => {
    // The nearest directory that exists: a new one is created in it.
    for (let dir = dirname(rel); ; dir = dirname(dir)) {
      const key = dir === "." ? "" : dir;
      if (dirsAsked.has(key)) return;
      dirsAsked.add(key);
      const code = accessCode(join(input.appDir, key), key !== "");
      if (code === "EPERM")
        refused.set(join(input.appDir, key), "its entries cannot be added, replaced or removed");
      if (code !== "ENOENT" || key === "") return;
    }
  };
  /** A promise only when the file must be read (an await per file of 20,000 costs a microtask each). */
  const ask = (rel: string, found: { sha256: string } | string | undefined): Promise<void> | undefined => {
    if (rel === MANIFEST_FILENAME) return undefined;
    const installedSha = installed.sha256Of(rel);
    const sha256 = typeof found === "string" ? found : found?.sha256 || undefined;
    if (installedSha !== undefined && sha256 !== undefined && installedSha === sha256) return undefined;
    if (!ours(rel)) return undefined;
    const path = join(input.appDir, rel);
    // Known-equal release files were skipped above; an unhashed one is read only when it matters.
    if (accessCode(path) === "EPERM")
      return sameAsInstalled(input, rel, installedSha, sha256).then((same) => {
        if (!same) refused.set(path, "the release replaces it");
        askDir(rel);
      });
    askDir(rel);
    return undefined;
  };
  // The source's comparison of the listing with this very index names the files that differ: the
  // listing's 20,000 names need no lookup of their own. Otherwise the listing is read as it is (no
  // copy of 20,000 entries), and the installed copy is compared before any rule lookup: a file the
  // release leaves as it is (nearly every file of an update) costs one property read.
  const compared = index !== undefined && input.compared?.files === index.files ? input.compared : undefined;
  let listed = 0;
  const slice = loopSlices();
  if (compared !== undefined) {
    listed = compared.indexed;
    for (const rel of compared.differing) {
      const reading = ask(rel, release.get(rel)) ?? slice();
      if (reading !== undefined) await reading;
    }
  } else
    for (const [rel, found] of release) {
      if (installed.has(rel)) listed++;
      const reading = ask(rel, found) ?? slice();
      if (reading !== undefined) await reading;
    }
  // The release lists every installed file when it lists as many of them as the index holds (its
  // names are distinct): then it drops none, and the index's 20,000 names need no walk of their own
  if (listed < installed.size) {
    for (const rel of installed.keys()) {
      const pause = slice();
      if (pause !== undefined) await pause;
      if (release.has(rel) || !ours(rel)) continue;
      const path = join(input.appDir, rel);
      const code = accessCode(path);
      if (code === "EPERM") refused.set(path, "the release drops it");
      if (code !== "ENOENT") askDir(rel);
    }
  }
  if (refused.size === 0) return;
  const named = [...refused].map(([path, why]) => `${shownPath(path)} (${why})`);
  const reason =
    `release ${input.manifest.version} cannot be installed: ${named.slice(0, 5).join(", ")}${named.length > 5 ? ` and ${named.length - 5} more` : ""}: ` +
    `operation not permitted (EPERM) — ${refused.size === 1 ? "it is" : "they are"} probably immutable (lsattr shows i); clear that with chattr -i, then run ship again; nothing was run or changed`;
  throw new BadInputError([{ file: input.appDir, path: "", message: reason, severity: "error" }], reason);
}

async function sameAsInstalled(
  input: ImmutableCheck,
  rel: string,
  installedSha: string | undefined,
  releaseSha: string | undefined,
): Promise<boolean> {
  if (installedSha === undefined || releaseSha !== undefined) return false;
  const sha = await hashFile(join(input.releaseDir, rel)).catch(() => undefined);
  return sha === installedSha;
}

/**
 * The errno access(W_OK) gives; a symlink is not asked (access follows it: what it leads to is not
 * what the apply renames or removes), nor the app directory's own link. Synchronous: asked per
 * changed file, and a thread-pool round trip per call cost ~3x the two calls themselves (1 %
 * of 20,000 files changed: 400 round trips, ~25 ms of CPU).
 */
function accessCode(path: string, lstatFirst = true): string | undefined {
  try {
    if (lstatFirst && lstatSync(path).isSymbolicLink()) return undefined;
    accessSync(path, constants.W_OK);
    return undefined;
  } catch (error) {
    return errnoCode(error) ?? fsErrorText(error);
  }
}

/** Release file → its sha256 when known (the source's hashes), for a source that gave no listing. */
async function releaseFiles(input: ImmutableCheck): Promise<Map<string, string | undefined>> {
  const out = new Map<string, string | undefined>();
  const slice = loopSlices();
  const walk = async (dir: string) => {
    let dirents: Dirent[];
    try {
      dirents = readdirSync(dir === "" ? input.releaseDir : join(input.releaseDir, dir), {
        withFileTypes: true,
      });
    } catch {
      return;
    }
    for (const d of dirents) {
      const rel = dir === "" ? d.name : `${dir}/${d.name}`;
      if (d.isDirectory()) await walk(rel);
      else if (rel !== MANIFEST_FILENAME) out.set(rel, input.hashes?.get(rel));
      const pause = slice();
      if (pause !== undefined) await pause;
    }
  };
  await walk("");
  return out;
}
