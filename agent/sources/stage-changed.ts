/**
 * Stages a scanned release directory by what changed: files the install index says the app got
 * byte for byte stay out of staging (the planner stats them and asks for any the app no longer
 * holds, through the release's materialize), the rest are copied, each checked against
 * the sha256 the scan took, so a release edited mid-update is refused rather than half-installed.
 * The manifest is always staged: the pipeline reads it there.
 */
import { utimesSync } from "node:fs";
import { lutimes, readlink, symlink, utimes } from "node:fs/promises";
import { dirname, join } from "node:path";
import { ReleaseChangedError } from "../../shared/errors.js";
import { makeDirs, makeDirsSync } from "../../shared/make-dirs.js";
import { MANIFEST_FILENAME } from "../../shared/manifest/schema.js";
import type { ReleaseEntry } from "../apply/types.js";
import type { ProgressCallback } from "../download/progress.js";
import { utimeSecondsOfMs } from "../tree/exact-mtime.js";
import { forEachInSlices, hashSymlinkTarget, mapLimit, SYNC_READ_MAX_BYTES } from "../tree/hash-file.js";
import type { IndexComparison } from "./app-holds.js";
import { copyFileHashed, copyFileHashedSync } from "./hashed-copy.js";
import type { ScannedRelease } from "./release-scan.js";

export interface StageOptions {
  /** Keep the release's mtimes on staged files (a source's keep_mtimes). */
  keepMtimes: boolean;
  /** Told the bytes copied so far, of all the files to copy (a first install copies them all). */
  onProgress?: ProgressCallback;
}

export interface Staged {
  files: number;
  bytes: number;
  /** Release files left out because the app already holds them. */
  skipped: number;
  /** sha256 of each staged regular file, from the bytes written. */
  hashes: Map<string, string>;
}

/** `compared`: the listing compared with the install index (undefined: nothing installed, all staged). */
export async function stageChanged(
  root: string,
  stagingDir: string,
  scanned: ScannedRelease,
  compared: IndexComparison | undefined,
  options: StageOptions,
): Promise<Staged> {
  const files = scanned.listing.files;
  const wanted = compared === undefined ? [...files.keys()] : [...compared.differing];
  if (compared !== undefined && files.has(MANIFEST_FILENAME) && !wanted.includes(MANIFEST_FILENAME))
    wanted.push(MANIFEST_FILENAME);
  const staged = await stageFiles(root, stagingDir, scanned, wanted, options);
  return { ...staged, skipped: scanned.listing.files.size - wanted.length };
}

/**
 * Copies exactly `rels` from the release into staging (also the planner's materialize), a few at a
 * time: each copy is several small file-system calls, and waiting on them one by one dominated.
 */
export async function stageFiles(
  root: string,
  stagingDir: string,
  scanned: ScannedRelease,
  rels: readonly string[],
  options: StageOptions,
): Promise<Omit<Staged, "skipped">> {
  const out: Omit<Staged, "skipped"> = { files: 0, bytes: 0, hashes: new Map() };
  const made = new Map<string, Promise<unknown>>();
  const parentOf = (to: string) => {
    const parent = dirname(to);
    let ready = made.get(parent);
    if (ready === undefined) {
      ready = makeDirs(parent);
      made.set(parent, ready);
    }
    return ready;
  };
  const entryOf = (rel: string): ReleaseEntry => {
    const entry = scanned.listing.files.get(rel);
    if (entry === undefined) throw new Error(`${rel} is not part of the scanned release`);
    return entry;
  };
  /** What utimes is given for a staged entry under keep_mtimes: the release's time (undefined without). */
  const keptTime = (rel: string): number | Date | undefined => {
    const mtimeMs = options.keepMtimes ? scanned.mtimes.get(rel) : undefined;
    return mtimeMs === undefined ? undefined : utimeSecondsOfMs(mtimeMs);
  };
  let totalBytes = 0;
  if (options.onProgress !== undefined) for (const rel of rels) totalBytes += entryOf(rel).size;
  const copied = (
    rel: string,
    from: string,
    entry: ReleaseEntry,
    copy: { sha256: string; bytes: number },
  ) => {
    if (copy.sha256 !== entry.sha256) {
      throw new ReleaseChangedError(
        from,
        "changed while the release was being read; the next run tries again",
      );
    }
    out.hashes.set(rel, copy.sha256);
    out.files++;
    out.bytes += copy.bytes;
    options.onProgress?.(out.bytes, totalBytes);
  };
  // Small regular files first, with synchronous calls (their async round trips cost more than the
  // copy); then symlinks and large files, a few at a time.
  const small: string[] = [];
  const rest: string[] = [];
  for (const rel of rels) {
    const entry = entryOf(rel);
    (entry.type === "file" && entry.size <= SYNC_READ_MAX_BYTES ? small : rest).push(rel);
  }
  const madeSync = new Set<string>();
  await forEachInSlices(
    small,
    (rel) => entryOf(rel).size,
    (rel) => {
      const entry = entryOf(rel);
      const from = join(root, rel);
      const to = join(stagingDir, rel);
      const parent = dirname(to);
      if (!madeSync.has(parent)) {
        makeDirsSync(parent);
        madeSync.add(parent);
      }
      copied(rel, from, entry, copyFileHashedSync(from, to, entry.mode));
      const time = keptTime(rel);
      if (time !== undefined) utimesSync(to, time, time);
    },
  );
  await mapLimit(rest, 8, async (rel) => {
    const entry = entryOf(rel);
    const from = join(root, rel);
    const to = join(stagingDir, rel);
    await parentOf(to);
    if (entry.type === "symlink") {
      const target = await readlink(from);
      if (hashSymlinkTarget(target) !== entry.sha256) {
        throw new ReleaseChangedError(
          from,
          "changed while the release was being read; the next run tries again",
        );
      }
      await symlink(target, to);
      // The link's own time, never its target's.
      const time = keptTime(rel);
      if (time !== undefined) await lutimes(to, time, time);
      return;
    }
    copied(rel, from, entry, await copyFileHashed(from, to, entry.mode));
    const time = keptTime(rel);
    if (time !== undefined) await utimes(to, time, time);
  });
  return out;
}
