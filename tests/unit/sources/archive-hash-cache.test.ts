import { mkdtemp, readFile, rm, stat, utimes, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ARCHIVE_HASH_FILE, ArchiveHashCache } from "../../../agent/sources/archive-hash-cache.js";
import { RACY_MS, stampOf } from "../../../agent/tree/file-stamp.js";

let tmp: string;
let archive: string;
const SHA = "ab".repeat(32);
beforeEach(async () => {
  tmp = await mkdtemp(join(tmpdir(), "ship-archive-hash-"));
  archive = join(tmp, "release.tar.gz");
  await writeFile(archive, "bytes");
});
afterEach(async () => {
  await rm(tmp, { recursive: true, force: true });
});

/** The archive's stat as a read long after its last change would see it. */
async function settled() {
  const st = await stat(archive);
  return { st, stamp: stampOf(st), readStartedMs: Math.max(st.mtimeMs, st.ctimeMs) + RACY_MS + 1 };
}

describe("ArchiveHashCache", () => {
  it("gives the hash back only while the archive keeps the stamp it was hashed with", async () => {
    const cache = new ArchiveHashCache(tmp, archive);
    const { st, stamp, readStartedMs } = await settled();
    await cache.remember(st, stamp, SHA, readStartedMs);
    expect(await cache.lookup(stamp, readStartedMs)).toBe(SHA);
    // Any write moves the stamp (ctime at least), even with size and mtime put back.
    await writeFile(archive, "BYTES");
    await utimes(archive, st.atime, st.mtime);
    expect(await cache.lookup(stampOf(await stat(archive)), readStartedMs)).toBeUndefined();
  });

  it("does not trust a record written by a run whose clock read later than this run's does now", async () => {
    const cache = new ArchiveHashCache(tmp, archive);
    const { st, stamp, readStartedMs } = await settled();
    await cache.remember(st, stamp, SHA, readStartedMs + 3_600_000);
    expect(await cache.lookup(stamp, readStartedMs)).toBeUndefined();
    expect(await cache.lookup(stamp, readStartedMs + 3_600_000)).toBe(SHA);
  });

  it("does not keep a hash read within RACY_MS of the file's last change, and drops the old one", async () => {
    const cache = new ArchiveHashCache(tmp, archive);
    const { st, stamp, readStartedMs } = await settled();
    await cache.remember(st, stamp, SHA, readStartedMs);
    await cache.remember(st, stamp, "cd".repeat(32), Math.max(st.mtimeMs, st.ctimeMs) + 10);
    expect(await cache.lookup(stamp, readStartedMs)).toBeUndefined();
  });

  it("ignores a record of another path, and a corrupt or foreign record only costs a read", async () => {
    const { st, stamp, readStartedMs } = await settled();
    await new ArchiveHashCache(tmp, join(tmp, "other.tar.gz")).remember(st, stamp, SHA, readStartedMs);
    expect(await new ArchiveHashCache(tmp, archive).lookup(stamp, readStartedMs)).toBeUndefined();
    for (const text of ["{", "[]", JSON.stringify({ path: archive, stamp, sha256: "not-hex" })]) {
      await writeFile(join(tmp, ARCHIVE_HASH_FILE), text);
      expect(await new ArchiveHashCache(tmp, archive).lookup(stamp, readStartedMs)).toBeUndefined();
    }
    expect(await readFile(join(tmp, ARCHIVE_HASH_FILE), "utf8")).toMatch(/not-hex/);
  });
});
