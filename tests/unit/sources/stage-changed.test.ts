/**
 * Staging a scanned release directory: small files are copied with synchronous calls, large ones
 * and symlinks asynchronously; either way every copy is checked against the scan's hash, and a file
 * swapped for a FIFO or a symlink after the scan is refused (never followed, never a hang).
 */

import { execFileSync } from "node:child_process";
import { mkdir, mkdtemp, readFile, rm, stat, symlink, unlink, utimes, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { IndexFiles } from "../../../agent/apply/index-files.js";
import type { IndexedFile } from "../../../agent/apply/types.js";
import { compareWithIndex } from "../../../agent/sources/app-holds.js";
import { type ScannedRelease, scanReleaseDir } from "../../../agent/sources/release-scan.js";
import { stageChanged, stageFiles } from "../../../agent/sources/stage-changed.js";
import { SYNC_READ_MAX_BYTES } from "../../../agent/tree/hash-file.js";

let tmp: string;
let release: string;
let indexFile: string;
const later = () => Date.now() + 60_000;
/** Nothing installed: the source compares with nothing and stages everything. */
const nothingHeld = undefined;

/** An install index listing every scanned file byte for byte but `except`, compared as the source compares. */
function heldAllBut(scanned: ScannedRelease, except: string) {
  const files: Record<string, IndexedFile> = {};
  for (const [rel, entry] of scanned.listing.files)
    if (rel !== except)
      files[rel] = { sha256: entry.sha256, size: entry.size, mode: entry.mode, mtimeMs: 1, ino: 1 };
  return compareWithIndex(scanned.listing.files, {
    version: "1.0.0",
    appDir: tmp,
    files: IndexFiles.of(files),
  });
}

beforeEach(async () => {
  tmp = await mkdtemp(join(tmpdir(), "ship-stage-"));
  release = join(tmp, "release");
  indexFile = join(tmp, "state", "stat-index");
  await mkdir(join(release, "lib", "deep"), { recursive: true });
  await writeFile(join(release, "update-manifest.yaml"), 'version: "1.0.0"\n');
  await writeFile(join(release, "lib", "small.txt"), "small\n");
  await writeFile(join(release, "lib", "deep", "edge.bin"), Buffer.alloc(SYNC_READ_MAX_BYTES, 7));
  await writeFile(join(release, "lib", "large.bin"), Buffer.alloc(SYNC_READ_MAX_BYTES * 2 + 5, 9));
  await symlink("small.txt", join(release, "lib", "link"));
});
afterEach(async () => {
  await rm(tmp, { recursive: true, force: true });
});

describe("stageChanged / stageFiles", () => {
  it("stages small, limit-sized and large files and symlinks byte for byte, with modes and (keep_mtimes) mtimes", async () => {
    await utimes(join(release, "lib", "small.txt"), new Date(0), new Date(1000));
    const scanned = await scanReleaseDir(release, indexFile, later);
    const staging = join(tmp, "staging");
    const staged = await stageChanged(release, staging, scanned, nothingHeld, { keepMtimes: true });
    expect(staged.files).toBe(4); // the manifest, small, edge, large (symlinks are not counted)
    for (const rel of ["update-manifest.yaml", "lib/small.txt", "lib/deep/edge.bin", "lib/large.bin"]) {
      // Buffer.equals: toEqual walks a 2 MB buffer byte by byte for seconds.
      expect((await readFile(join(staging, rel))).equals(await readFile(join(release, rel)))).toBe(true);
      expect(staged.hashes.get(rel)).toBe(scanned.listing.files.get(rel)?.sha256);
      expect((await stat(join(staging, rel))).mode & 0o777).toBe(scanned.listing.files.get(rel)?.mode);
    }
    expect((await stat(join(staging, "lib", "small.txt"))).mtimeMs).toBe(1000);
    expect(execFileSync("readlink", [join(staging, "lib", "link")], { encoding: "utf8" }).trim()).toBe(
      "small.txt",
    );
  });

  it("leaves out what the app holds and stages exactly the rest", async () => {
    const scanned = await scanReleaseDir(release, indexFile, later);
    const staging = join(tmp, "staging");
    const staged = await stageChanged(release, staging, scanned, heldAllBut(scanned, "lib/small.txt"), {
      keepMtimes: false,
    });
    expect([...staged.hashes.keys()].sort()).toEqual(["lib/small.txt", "update-manifest.yaml"]);
    expect(staged.skipped).toBe(scanned.listing.files.size - 2);
  });

  it("refuses a small file edited after the scan (its hash no longer matches)", async () => {
    const scanned = await scanReleaseDir(release, indexFile, later);
    await writeFile(join(release, "lib", "small.txt"), "edited\n");
    const staging = stageFiles(release, join(tmp, "staging"), scanned, ["lib/small.txt"], {
      keepMtimes: false,
    });
    await expect(staging).rejects.toThrow(/lib\/small\.txt.*changed while the release was being read/);
    // A copy still in progress is not bad input: exit 1, and the next run tries again.
    await expect(staging).rejects.toMatchObject({ name: "ReleaseChangedError", exitCode: 1 });
  });

  it("refuses a file swapped for a FIFO or a symlink after the scan: no hang, nothing followed", async () => {
    const scanned = await scanReleaseDir(release, indexFile, later);
    const small = join(release, "lib", "small.txt");
    await unlink(small);
    execFileSync("mkfifo", [small]);
    await expect(
      stageFiles(release, join(tmp, "staging-fifo"), scanned, ["lib/small.txt"], { keepMtimes: false }),
    ).rejects.toThrow(/lib\/small\.txt.*stopped being a regular file/);
    await unlink(small);
    await writeFile(join(tmp, "outside.txt"), "small\n");
    await symlink(join(tmp, "outside.txt"), small);
    await expect(
      stageFiles(release, join(tmp, "staging-link"), scanned, ["lib/small.txt"], { keepMtimes: false }),
    ).rejects.toThrow(/lib\/small\.txt.*stopped being a regular file.*symlink/);
  });
});
