/**
 * A local release directory on a file system whose timestamps have whole seconds (a real ext2
 * image with 128-byte inodes, mounted on a loop device): a same-size edit in the second of the
 * file's last change keeps size, mtime and ctime. The stat index's racy rule must still catch it,
 * also when the index was written by a run whose clock was ahead of the next run's (it trusted the
 * file as settled when it was not); and so must a local archive's remembered hash.
 */
import { mkdir, mkdtemp, stat, utimes, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it, vi } from "vitest";
import { createSource } from "../../../agent/sources/create.js";
import { treeDigest } from "../../../agent/sources/release-dir.js";
import { scanReleaseDir } from "../../../agent/sources/release-scan.js";
import { LocalSource } from "../../../shared/config/schema.js";
import { memoryLogger } from "../../../shared/log.js";
import { secondsFsForFile } from "../../support/tmpfs.js";
import { buildTar } from "../../unit/sources/tar-builder.js";

const seconds = secondsFsForFile("ship-coarse-");

/**
 * Writes `before` at `file`, runs `between` (a scan), then writes `after` (same size) with the
 * mtime put back, all in one second of the file system's clock; tries again in the next second
 * when a second boundary fell in between (the loaded machine).
 */
async function editInOneSecond(
  file: string,
  before: string | Buffer,
  after: string | Buffer,
  between: () => Promise<unknown>,
): Promise<void> {
  for (let attempt = 0; attempt < 20; attempt++) {
    await writeFile(file, before);
    const first = await stat(file);
    await between();
    await writeFile(file, after);
    const second = new Date(first.mtimeMs);
    await utimes(file, second, second);
    const edited = await stat(file);
    if (edited.ctimeMs === first.ctimeMs && edited.mtimeMs === first.mtimeMs) return;
  }
  throw new Error("no edit fell in the second of its write in 20 tries");
}

describe("stat index on a file system with whole-second timestamps", () => {
  it("a same-size edit in the second a scan hashed the file is seen by the next scan", async (ctx) => {
    if (!seconds.mounted) ctx.skip();
    const dir = join(seconds.fs, "rel-now");
    await mkdir(dir);
    await writeFile(join(dir, "update-manifest.yaml"), 'version: "1.0.0"\n');
    const index = join(seconds.tmp, "index-now");
    await editInOneSecond(join(dir, "app.txt"), "AAAA\n", "BBBB\n", () => scanReleaseDir(dir, index));
    const next = await scanReleaseDir(dir, index);
    expect(next.id).toBe(`tree:${await treeDigest(dir)}`);
  });

  it("a whole-second stamp keeps the 2 s window where a fine one settles in 0.1 s: a scan half a second on still misses nothing", async (ctx) => {
    if (!seconds.mounted) ctx.skip();
    const dir = join(seconds.fs, "rel-half");
    await mkdir(dir);
    await writeFile(join(dir, "update-manifest.yaml"), 'version: "1.0.0"\n');
    const index = join(seconds.tmp, "index-half");
    // Past a fine file system's tick, inside this one's second: the granularity decides.
    const halfASecondOn = () => Date.now() + 500;
    await editInOneSecond(join(dir, "app.txt"), "AAAA\n", "BBBB\n", () =>
      scanReleaseDir(dir, index, halfASecondOn),
    );
    const next = await scanReleaseDir(dir, index, halfASecondOn);
    expect(next.id).toBe(`tree:${await treeDigest(dir)}`);
  });

  it("an index written by a run whose clock was ahead does not vouch for a same-size edit in that second", async (ctx) => {
    if (!seconds.mounted) ctx.skip();
    const dir = join(seconds.fs, "rel-ahead");
    await mkdir(dir);
    await writeFile(join(dir, "update-manifest.yaml"), 'version: "1.0.0"\n');
    const index = join(seconds.tmp, "index-ahead");
    const anHourAhead = () => Date.now() + 3_600_000;
    await editInOneSecond(join(dir, "app.txt"), "AAAA\n", "BBBB\n", () =>
      scanReleaseDir(dir, index, anHourAhead),
    );
    // The next run's clock is right again.
    const next = await scanReleaseDir(dir, index);
    expect(next.hashed).toBeGreaterThan(0);
    expect(next.id).toBe(`tree:${await treeDigest(dir)}`);
  });

  it("a local archive hashed by a run whose clock was ahead is read again after a same-size rewrite in that second", async (ctx) => {
    if (!seconds.mounted) ctx.skip();
    const archive = join(seconds.fs, "app.tar");
    const tar = (version: string) =>
      buildTar([{ path: "update-manifest.yaml", body: `version: "${version}"\n` }]);
    const source = async () =>
      createSource(
        "web",
        LocalSource.parse({ type: "local", path: archive, app_dir: join(seconds.tmp, "app") }),
        {
          stateDir: join(seconds.tmp, "archive-state"),
          log: memoryLogger([]),
        },
      );
    let installed = "";
    await editInOneSecond(archive, tar("1.0.1"), tar("1.0.2"), async () => {
      // This run's clock is an hour ahead: the archive looks long settled to it.
      const ahead = Date.now() + 3_600_000;
      const spy = vi.spyOn(Date, "now").mockImplementation(() => ahead);
      try {
        const src = await source();
        await src.check();
        installed = (await src.fetch(await mkdtemp(join(seconds.tmp, "stage-")))).id;
      } finally {
        spy.mockRestore();
      }
    });
    const later = await source();
    const check = await later.check();
    expect(check.available).toBe(true);
    expect((await later.fetch(await mkdtemp(join(seconds.tmp, "stage-")))).id).not.toBe(installed);
  });
});
