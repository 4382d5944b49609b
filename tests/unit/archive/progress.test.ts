import { randomBytes } from "node:crypto";
import { mkdir, mkdtemp, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { extractArchive } from "../../../agent/archive/extract.js";
import { progressReporter, renderBar } from "../../../agent/download/progress.js";
import { tarStream } from "../../../agent/release/tar-writer.js";
import { scanReleaseDir } from "../../../agent/sources/release-scan.js";
import { stageChanged } from "../../../agent/sources/stage-changed.js";
import { createLogger, memoryLogger } from "../../../shared/log.js";
import { endOpenLine } from "../../../shared/open-line.js";
import { writeArchive } from "../sources/tar-builder.js";

let tmp: string;
beforeEach(async () => {
  tmp = await mkdtemp(join(tmpdir(), "ship-extract-progress-"));
});
afterEach(async () => {
  await rm(tmp, { recursive: true, force: true });
});

describe("an archive's extraction reports its progress", () => {
  it("tells the bytes of the archive read so far, rising to its size", async () => {
    // Over several 256 KiB read chunks, so progress comes more than once.
    const entries = Array.from({ length: 4 }, (_, i) => ({
      path: `big${i}.bin`,
      body: randomBytes(300 * 1024),
    }));
    const archive = await writeArchive(tmp, "r.tar", entries);
    const size = (await stat(archive)).size;
    const seen: [number, number | undefined][] = [];
    const result = await extractArchive(archive, join(tmp, "stage"), {
      onProgress: (done, total) => seen.push([done, total]),
    });
    expect(result.files).toBe(4);
    expect(seen.length).toBeGreaterThan(2);
    expect(seen.at(-1)).toEqual([size, size]);
    for (let i = 1; i < seen.length; i++) expect(seen[i]?.[0]).toBeGreaterThan(seen[i - 1]?.[0] ?? 0);
  });
});

describe("progress of local work (delayMs)", () => {
  /** An "applying" reporter with a 1 s delay and a 5 s interval, off a terminal, on a clock the test moves. */
  function applying() {
    const lines: { level: string; msg: string; data?: Record<string, unknown> }[] = [];
    const clock = { now: 0 };
    const report = progressReporter({
      label: "app",
      log: memoryLogger(lines),
      action: "applying",
      unit: "changes",
      delayMs: 1000,
      logIntervalMs: 5000,
      stream: { isTTY: false } as NodeJS.WriteStream,
      now: () => clock.now,
    });
    return { lines, clock, report };
  }

  it("stays silent for work that ends within the delay, end included", () => {
    const { lines, clock, report } = applying();
    report(100, 200);
    clock.now = 900;
    report(200, 200);
    expect(lines).toEqual([]);
  });

  it("shows long work once the delay has passed, then every interval, then its end", () => {
    const { lines, clock, report } = applying();
    report(10, 20_000);
    clock.now = 1000;
    report(4000, 20_000);
    clock.now = 3000;
    report(8000, 20_000);
    clock.now = 6000;
    report(16_000, 20_000);
    report(20_000, 20_000);
    expect(lines.map((l) => [l.msg, l.data?.changes, l.data?.percent])).toEqual([
      ["applying", 4000, 20],
      ["applying", 16_000, 80],
      ["applying", 20_000, 100],
    ]);
  });

  it("redraws a terminal's bar with the verb and the unit, at most every 100 ms", () => {
    const writes: string[] = [];
    let now = 0;
    const tty = {
      isTTY: true,
      columns: 80,
      write: (s: string) => writes.push(s),
    } as unknown as NodeJS.WriteStream;
    const report = progressReporter({
      label: "v2.tar.gz",
      log: memoryLogger([]),
      action: "extracting",
      delayMs: 1000,
      stream: tty,
      now: () => now,
    });
    // The first report comes 2 s after the reporter was made: the delay counts from it.
    now = 2000;
    report(1, 1024 * 1024);
    now = 2500;
    report(100, 1024 * 1024);
    now = 3000;
    report(512 * 1024, 1024 * 1024);
    now = 3050;
    report(600 * 1024, 1024 * 1024);
    report(1024 * 1024, 1024 * 1024);
    expect(writes).toEqual([
      `\r${renderBar("extracting v2.tar.gz", 512 * 1024, 1024 * 1024, 80)}`,
      `\r${renderBar("extracting v2.tar.gz", 1024 * 1024, 1024 * 1024, 80)}`,
      "\n",
    ]);
    expect(renderBar("applying app", 3, 20_000, 80, "changes")).toMatch(/ 0% 3\/20,000 changes$/);
  });

  /** A terminal that keeps what is written to it. */
  function terminal() {
    const writes: string[] = [];
    const tty = { isTTY: true, columns: 80, write: (s: string) => writes.push(s) };
    return { writes, tty: tty as unknown as NodeJS.WriteStream };
  }

  it("ends a bar's line before the next line when the work stops half-way", () => {
    const { writes, tty } = terminal();
    const report = progressReporter({ label: "a.tar.gz", action: "extracting", stream: tty });
    report(10, 100);
    // The run fails here: its error goes out through the CLI's logger, on a line of its own.
    createLogger({ level: "error", sync: true }).error("progress test: the line before this one was ended");
    expect(writes.at(-1)).toBe("\n");
    // Once: the next text does not start with an empty line, nor after a finished bar.
    endOpenLine();
    report(100, 100);
    endOpenLine();
    expect(writes.filter((w) => w === "\n")).toHaveLength(2);
  });

  it("draws no bar for a log that drops info lines (--quiet)", () => {
    const { writes, tty } = terminal();
    const report = progressReporter({
      label: "a.tar.gz",
      log: createLogger({ level: "error" }),
      stream: tty,
    });
    report(10, 100);
    report(100, 100);
    expect(writes).toEqual([]);
  });
});

describe("a release archive's packing reports its progress", () => {
  it("tells the files' bytes packed, padding left out, rising to their total", async () => {
    const a = join(tmp, "a.bin");
    const b = join(tmp, "b.bin");
    await writeFile(a, randomBytes(1000)); // not a multiple of 512: tar pads it
    await writeFile(b, randomBytes(3 * 1024 * 1024)); // over 1 MiB: streamed, not read whole
    const seen: number[] = [];
    const entries = [
      { type: "File" as const, path: "a.bin", source: a, size: 1000, executable: false },
      { type: "File" as const, path: "b.bin", source: b, size: 3 * 1024 * 1024, executable: false },
    ];
    let packed = 0;
    for await (const chunk of tarStream(entries, new Date(0), (done, total) => {
      expect(total).toBe(1000 + 3 * 1024 * 1024);
      seen.push(done);
    }))
      packed += chunk.length;
    expect(seen[0]).toBe(1000);
    expect(seen.at(-1)).toBe(1000 + 3 * 1024 * 1024);
    expect(packed % 512).toBe(0);
  });

  it("prints plain lines for a CLI that writes text", () => {
    const lines: string[] = [];
    let now = 0;
    const report = progressReporter({
      label: "app-1.0.0.tar.gz",
      action: "packing",
      delayMs: 1000,
      line: (text) => lines.push(text),
      now: () => now,
    });
    // Collecting the files took longer than the delay: the delay counts from the first report, so
    // no line at 0 %.
    now = 1500;
    report(0, 1024 * 1024);
    now = 2400;
    report(256 * 1024, 1024 * 1024);
    expect(lines).toEqual([]);
    now = 2500;
    report(512 * 1024, 1024 * 1024);
    report(1024 * 1024, 1024 * 1024);
    expect(lines).toEqual([
      "packing app-1.0.0.tar.gz: 512.0 KiB of 1.0 MiB (50%)",
      "packing app-1.0.0.tar.gz: 1.0 MiB of 1.0 MiB (100%)",
    ]);
  });
});

describe("a local release directory's staging reports its progress", () => {
  it("tells the bytes copied, of all the files to copy", async () => {
    const root = join(tmp, "release");
    await mkdir(join(root, "sub"), { recursive: true });
    await writeFile(join(root, "a.txt"), "a".repeat(100));
    await writeFile(join(root, "sub", "b.bin"), randomBytes(5000));
    const scanned = await scanReleaseDir(root, join(tmp, "stat-index"));
    const seen: [number, number | undefined][] = [];
    const staged = await stageChanged(root, join(tmp, "stage"), scanned, undefined, {
      keepMtimes: false,
      onProgress: (done, total) => seen.push([done, total]),
    });
    expect(staged.bytes).toBe(5100);
    expect(seen.at(-1)).toEqual([5100, 5100]);
    expect(seen.length).toBe(2);
  });
});
