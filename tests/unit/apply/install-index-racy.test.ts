/**
 * The install index's "racy" rule (git's): an entry whose mtime or ctime is not older than the
 * index's own stat moment by RACY_MS vouches for nothing, nor does any entry of an index written by
 * a run whose clock read later than ours does now; settled entries still vouch, so an update's next
 * run re-hashes only what the last one wrote.
 */

import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { settleWaitWorthMs } from "../../../agent/apply/finalize-update.js";
import { IndexFiles } from "../../../agent/apply/index-files.js";
import { readInstallIndex, UNVERIFIED_CTIME, writeInstallIndex } from "../../../agent/apply/install-index.js";
import { statMatches } from "../../../agent/apply/plan.js";
import type { IndexedFile } from "../../../agent/apply/types.js";

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "ship-index-racy-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

function entry(changedAtMs: number, ino: number, ctimeMs: number | undefined = changedAtMs): IndexedFile {
  return {
    sha256: "a".repeat(64),
    size: 5,
    mode: 0o644,
    mtimeMs: changedAtMs,
    ino,
    ...(ctimeMs === undefined ? {} : { ctimeMs }),
  };
}

/** The app's file with exactly the stat the index recorded for it. */
function appFileLike(indexed: IndexedFile) {
  return {
    type: "file" as const,
    size: indexed.size,
    mode: indexed.mode,
    mtimeMs: indexed.mtimeMs,
    ino: indexed.ino,
    ctimeMs: indexed.ctimeMs ?? indexed.mtimeMs,
  };
}

async function vouched(
  files: Record<string, IndexedFile>,
  header: { statAtMs?: number; installedAt: string },
) {
  await writeInstallIndex(dir, { version: "1.0.0", dirs: [], files: IndexFiles.of(files), ...header });
  const index = await readInstallIndex(dir);
  const out: Record<string, boolean> = {};
  for (const [rel, recorded] of Object.entries(files))
    out[rel] = statMatches(appFileLike(recorded), index?.files.get(rel));
  return { out, index };
}

describe("install index racy rule", () => {
  it("vouches for settled entries only; entries written in the index's own tick are unverified", async () => {
    const statAtMs = Date.now() - 10_000.5;
    // Whole seconds: a coarse file system (ext2/ext3 128-byte inodes, FAT), judged by RACY_MS.
    const coarse = Math.floor(statAtMs / 1000) * 1000;
    const { out, index } = await vouched(
      {
        old: entry(coarse - 3_600_000, 1),
        coarseWritten: entry(coarse - 1_000, 2),
        coarseJustOutside: entry(coarse - 3_000, 3),
        // A ms fraction: a fine clock (a kernel jiffy), judged by FINE_RACY_MS.
        fineWritten: entry(statAtMs - 300, 4),
        // ctime moved in the tick of the stats (a chmod, a rewrite put back with touch -r).
        recentCtime: entry(statAtMs - 3_600_000, 5, statAtMs - 50),
        sameMs: entry(statAtMs, 6),
      },
      { statAtMs, installedAt: new Date(statAtMs).toISOString() },
    );
    expect(out).toEqual({
      old: true,
      coarseWritten: false,
      coarseJustOutside: true,
      fineWritten: true,
      recentCtime: false,
      sameMs: false,
    });
    expect(index?.files.get("coarseWritten")?.ctimeMs).toBe(UNVERIFIED_CTIME);
  });

  it("vouches for nothing when the index was written by a run whose clock was ahead", async () => {
    const statAtMs = Date.now() + 3_600_000;
    const { out } = await vouched(
      { old: entry(Date.now() - 7_200_000, 1), fresh: entry(Date.now(), 2) },
      { statAtMs, installedAt: new Date(statAtMs).toISOString() },
    );
    expect(out).toEqual({ old: false, fresh: false });
  });

  it("judges an index from before statAtMs by its installedAt (taken right after the stats)", async () => {
    const installedAtMs = Date.now() - 60_000;
    const { out } = await vouched(
      {
        old: entry(installedAtMs - 3_600_000, 1),
        oldWithoutCtime: entry(installedAtMs - 3_600_000, 2, undefined),
        written: entry(Math.floor(installedAtMs / 1000) * 1000 - 1_000, 3),
      },
      { installedAt: new Date(installedAtMs).toISOString() },
    );
    expect(out).toEqual({ old: true, oldWithoutCtime: true, written: false });
  });

  it("keeps an unverified entry unverified when the index is written again (carried over)", async () => {
    const statAtMs = Date.now() - 10_000;
    const written = entry(Math.floor(statAtMs / 1000) * 1000 - 1_000, 3);
    const { index } = await vouched({ written }, { statAtMs, installedAt: new Date(statAtMs).toISOString() });
    if (index === undefined) throw new Error("no index");
    // A later run's index, its moment now: the carried entry must not look settled by it.
    await writeInstallIndex(dir, { ...index, statAtMs: Date.now(), installedAt: new Date().toISOString() });
    const again = await readInstallIndex(dir);
    expect(statMatches(appFileLike(written), again?.files.get("written"))).toBe(false);
  });
});

describe("settleWaitWorthMs: an update waits for its written files to settle only when it pays", () => {
  const now = 1_800_000_000_123;
  const written = (count: number, size: number, ctimeMs: number): IndexFiles =>
    IndexFiles.of(
      Object.fromEntries(
        Array.from({ length: count }, (_, i) => [`f${i}`, { ...entry(ctimeMs, i + 1), size }] as const),
      ),
    );

  it("a 1 % update (200 files, 4.6 MB written 10 ms ago) leaves them to be hashed later: no wait", () => {
    const files = written(200, 23_000, now - 10);
    expect(settleWaitWorthMs([...files.keys()], files, now, false)).toBe(0);
  });

  it("a first install waits, however little it wrote", () => {
    const files = written(2, 10, now - 10);
    expect(settleWaitWorthMs([...files.keys()], files, now, true)).toBe(91);
  });

  it("16 MB written waits: hashing it again costs more than the wait", () => {
    const files = written(1, 16_000_000, now - 10);
    expect(settleWaitWorthMs([...files.keys()], files, now, false)).toBe(91);
  });

  it("2,000 small files written wait; files already settled, or with whole-second ctimes, never do", () => {
    const many = written(2_000, 100, now - 10);
    expect(settleWaitWorthMs([...many.keys()], many, now, false)).toBe(91);
    const settled = written(2_000, 16_000_000, now - 200);
    expect(settleWaitWorthMs([...settled.keys()], settled, now, true)).toBe(0);
    const coarse = written(2_000, 16_000_000, 1_800_000_000_000);
    expect(settleWaitWorthMs([...coarse.keys()], coarse, now, true)).toBe(0);
  });
});

describe("an index written as changes on a base (install-index.ts)", () => {
  it("judges a base entry by the base's moment and a changed one by the head's, as one full index did", async () => {
    const t = Date.now() - 60_000;
    const files: Record<string, IndexedFile> = {};
    for (let i = 0; i < 64; i++) files[`settled${i}`] = entry(t - 10_000, i + 10);
    // Changed in the base's own tick: it vouches for nothing, however much later it is read.
    files.racyInBase = entry(t, 1);
    await writeInstallIndex(dir, {
      version: "1.0.0",
      installedAt: new Date(t).toISOString(),
      statAtMs: t,
      files: IndexFiles.of(files),
      dirs: [],
    });
    const read = await readInstallIndex(dir);
    if (read === undefined) throw new Error("no index");
    // The next update rewrites one file, stamped at t + 30 s, settled by its own moment t + 40 s.
    read.files.set("written", entry(t + 30_000, 2));
    await writeInstallIndex(dir, { ...read, version: "2.0.0", statAtMs: t + 40_000 }, ["written"]);
    expect(Object.keys(JSON.parse(await readFile(join(dir, "install-index.json"), "utf8")))).toContain(
      "base",
    );
    const again = await readInstallIndex(dir);
    expect(again?.version).toBe("2.0.0");
    expect(again?.files.get("racyInBase")?.ctimeMs).toBe(UNVERIFIED_CTIME);
    expect(again?.files.get("settled3")?.ctimeMs).toBe(t - 10_000);
    expect(again?.files.get("written")?.ctimeMs).toBe(t + 30_000);
    expect(again?.files.size).toBe(66);
    expect([...(again?.files.keys() ?? [])]).toHaveLength(66);
  });
});
