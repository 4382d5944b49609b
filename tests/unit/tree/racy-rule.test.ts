/**
 * The racy rule, one definition for every cache that trusts a timestamp: a stamp counts only if it
 * was older than the moment it was read by its file system's tick (whole seconds: RACY_MS; with a
 * fraction: FINE_RACY_MS), and only while the clock that read it is not ahead of ours. The local
 * file caches (stat index, archive hash, parsed install index: isRacy) used a flat RACY_MS where the
 * install index's entries (entryVouches) chose by granularity.
 */
import { mkdir, mkdtemp, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { entryVouches } from "../../../agent/apply/install-index.js";
import { scanReleaseDir } from "../../../agent/sources/release-scan.js";
import {
  FINE_RACY_MS,
  isRacy,
  RACY_MS,
  settledWhenSeen,
  stillVouches,
} from "../../../agent/tree/racy-rule.js";

const SECOND = 1_796_000_000_000;

describe("racy rule", () => {
  it("a whole-second stamp needs RACY_MS, one with a fraction FINE_RACY_MS", () => {
    expect(settledWhenSeen(SECOND, SECOND + RACY_MS)).toBe(false);
    expect(settledWhenSeen(SECOND, SECOND + RACY_MS + 1)).toBe(true);
    const fine = SECOND + 123.456;
    expect(settledWhenSeen(fine, fine + FINE_RACY_MS)).toBe(false);
    expect(settledWhenSeen(fine, fine + FINE_RACY_MS + 1)).toBe(true);
    // Not seen, or no timestamp (a Last-Modified that does not parse): nothing to vouch with.
    expect(settledWhenSeen(SECOND, undefined)).toBe(false);
    expect(settledWhenSeen(Number.NaN, SECOND)).toBe(false);
  });

  it("a local file is judged by its ctime's granularity, whatever its mtime (tar and cp -p set whole seconds)", () => {
    const readAt = SECOND + 500;
    // Written 0.3 s before the read on a fine file system: settled.
    expect(isRacy({ mtimeMs: SECOND - 300, ctimeMs: SECOND + 200 - 0.5 }, readAt)).toBe(false);
    // The same, with a whole-second mtime from an archive: still fine (ctime says so).
    expect(isRacy({ mtimeMs: SECOND - 3_000, ctimeMs: SECOND + 199.5 }, readAt)).toBe(false);
    // A whole-second file system: the second of the read is not settled.
    expect(isRacy({ mtimeMs: SECOND, ctimeMs: SECOND }, readAt)).toBe(true);
    expect(isRacy({ mtimeMs: SECOND - 3_000, ctimeMs: SECOND - 3_000 }, readAt)).toBe(false);
    // A timestamp ahead of the read (another clock): never settled.
    expect(isRacy({ mtimeMs: readAt + 5_000.5, ctimeMs: readAt + 5_000.5 }, readAt)).toBe(true);
  });

  it("a clock that read ahead of ours now vouches for nothing", () => {
    expect(stillVouches(SECOND, SECOND + 10_000, SECOND + 10_000)).toBe(true);
    expect(stillVouches(SECOND, SECOND + 10_000, SECOND + 9_999)).toBe(false);
  });

  it("the install index's entries follow the same rule as every other cache", () => {
    const statAtMs = SECOND + 5_000;
    for (const changed of [SECOND, SECOND + 3_000, SECOND + 4_950.25, SECOND + 4_850.75, statAtMs + 1])
      for (const ctimeMs of [changed, changed + 0.5, Math.floor(changed / 1000) * 1000])
        for (const nowMs of [statAtMs - 1, statAtMs, statAtMs + 60_000]) {
          const entry = { sha256: "a".repeat(64), size: 1, mode: 0o644, mtimeMs: changed, ino: 1, ctimeMs };
          const local = !isRacy(entry, statAtMs) && statAtMs <= nowMs;
          expect(entryVouches(entry, statAtMs, nowMs), `${changed} ${ctimeMs} ${nowMs}`).toBe(local);
        }
  });
});

describe("the stat index of a local release directory on a fine file system", () => {
  let tmp: string;
  beforeEach(async () => {
    tmp = await mkdtemp(join(tmpdir(), "ship-racy-rule-"));
  });
  afterEach(async () => {
    await rm(tmp, { recursive: true, force: true });
  });

  it("trusts a file written half a second before the scan (it hashed it again within 2 s)", async (ctx) => {
    const dir = join(tmp, "release");
    const index = join(tmp, "stat-index");
    await mkdir(dir);
    await writeFile(join(dir, "update-manifest.yaml"), 'version: "1.0.0"\n');
    await writeFile(join(dir, "app.txt"), "v1\n");
    // Whole-second timestamps (an ext2/ext3 temp directory) keep the 2 s window: not this case.
    if ((await stat(join(dir, "app.txt"))).ctimeMs % 1000 === 0) ctx.skip();
    // The scan's clock half a second after the writes: past a fine tick, inside a coarse one.
    const halfASecondLater = () => Date.now() + 500;
    const first = await scanReleaseDir(dir, index, halfASecondLater);
    expect(first.hashed).toBe(2);
    const second = await scanReleaseDir(dir, index, halfASecondLater);
    expect(second.hashed).toBe(0);
  });
});
