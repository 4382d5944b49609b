/** The install index: its header read from the first bytes (any other layout in full), and its parse cache. */
import { link, mkdtemp, readdir, readFile, rm, stat, unlink, utimes, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { IndexFiles } from "../../../agent/apply/index-files.js";
import {
  indexPath,
  readInstallIndex,
  readInstallIndexHeader,
  takeInstallIndex,
  writeInstallIndex,
} from "../../../agent/apply/install-index.js";
import type { InstallIndex } from "../../../agent/apply/types.js";

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "ship-index-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const entry = { sha256: "a".repeat(64), size: 1, mode: 0o644, mtimeMs: 1, ino: 1 };

describe("readInstallIndexHeader", () => {
  it("reads version and release id without the files, whatever their size", async () => {
    const files = new IndexFiles();
    for (let i = 0; i < 5000; i++) files.set(`d/"quoted","files":{${i}`, entry);
    await writeInstallIndex(dir, {
      files, // written in the order writeInstallIndex chooses, not this one
      dirs: ["d"],
      installedAt: "2026-01-01T00:00:00.000Z",
      releaseId: 'tree:"files":{',
      version: "2.0.0",
    });
    expect(await readInstallIndexHeader(dir)).toEqual({
      version: "2.0.0",
      releaseId: 'tree:"files":{',
      installedAt: "2026-01-01T00:00:00.000Z",
    });
    expect((await readInstallIndex(dir))?.files.size).toBe(5000);
  });

  it("reads an index in another key order in full, and none as undefined", async () => {
    expect(await readInstallIndexHeader(dir)).toBeUndefined();
    await writeFile(
      indexPath(dir),
      JSON.stringify({ files: { a: entry }, dirs: [], version: "1.0.0", installedAt: "x" }),
    );
    expect(await readInstallIndexHeader(dir)).toEqual({ version: "1.0.0", installedAt: "x" });
  });

  it("keeps the linked configs' release copies, and reads an index written before they existed", async () => {
    const linked = { "config.toml": "b".repeat(64) };
    await writeInstallIndex(dir, {
      version: "1.0.0",
      installedAt: "x",
      files: IndexFiles.of({ a: entry }),
      dirs: [],
      linked,
    });
    expect((await readInstallIndex(dir))?.linked).toEqual(linked);
    await writeFile(
      indexPath(dir),
      JSON.stringify({ version: "0.9.0", installedAt: "y", files: { a: entry }, dirs: [] }),
    );
    expect((await readInstallIndex(dir))?.linked).toBeUndefined();
    await writeFile(
      indexPath(dir),
      JSON.stringify({ version: "0.9.0", installedAt: "z", files: {}, dirs: [], linked: { c: 1 } }),
    );
    await expect(readInstallIndex(dir)).rejects.toThrow(/install-index\.json/);
  });

  it("refuses a header that is not an index", async () => {
    await writeFile(indexPath(dir), JSON.stringify({ version: 7, installedAt: "x", files: {}, dirs: [] }));
    await expect(readInstallIndexHeader(dir)).rejects.toThrow();
  });
});

const index = (version: string): InstallIndex => ({
  version,
  installedAt: "2026-01-01T00:00:00.000Z",
  files: IndexFiles.of({ "a.txt": { sha256: "a".repeat(64), size: 1, mode: 0o644, mtimeMs: 1, ino: 1 } }),
  dirs: [],
});

describe("readInstallIndex (parsed once while the file's stat is unchanged)", () => {
  afterEach(() => {
    vi.useRealTimers();
  });
  /** The clock a few seconds on: the file's timestamps are then older than the racy window. */
  const later = () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(Date.now() + 10_000);
  };

  it("reuses the parsed index while the stat is the same, never after a replace or an edit in place", async () => {
    await writeInstallIndex(dir, index("1.0.0"));
    later();
    const first = await readInstallIndex(dir);
    expect(await readInstallIndex(dir)).toBe(first);
    vi.useRealTimers();
    await writeInstallIndex(dir, index("2.0.0")); // replaced by rename: another inode
    later();
    expect((await readInstallIndex(dir))?.version).toBe("2.0.0");
    // Rewritten in place with the same length: ctime and mtime move, so it is read afresh.
    vi.useRealTimers();
    await writeFile(indexPath(dir), JSON.stringify(index("3.0.0")));
    later();
    expect((await readInstallIndex(dir))?.version).toBe("3.0.0");
    vi.useRealTimers();
    await writeFile(indexPath(dir), "{ corrupt");
    await expect(readInstallIndex(dir)).rejects.toThrow();
    await rm(indexPath(dir));
    expect(await readInstallIndex(dir)).toBeUndefined();
  });

  it("an index taken to be changed in place (finalize's) is never served again: the next read is the file's", async () => {
    await writeInstallIndex(dir, index("1.0.0"));
    later();
    const first = await readInstallIndex(dir);
    if (first === undefined) throw new Error("no index");
    const taken = takeInstallIndex(first);
    expect(taken).toBe(first);
    taken.version = "changed";
    taken.files.delete("a.txt");
    const again = await readInstallIndex(dir);
    expect(again).not.toBe(first);
    expect(again?.version).toBe("1.0.0");
    expect([...(again?.files.keys() ?? [])]).toEqual([...index("1.0.0").files.keys()]);
  });

  it("never reuses a file changed within the racy window: an edit in the same timestamp tick is seen", async () => {
    await writeInstallIndex(dir, index("1.0.0"));
    const first = await readInstallIndex(dir);
    // Just written: its timestamps may not move on a next write in the same tick, so its stat does
    // not vouch for it; it is read again, and the parse reused only because the bytes are the same.
    expect(await readInstallIndex(dir)).toBe(first);
    // Same length, same inode, and (on a coarse clock) possibly the same timestamps as before.
    const path = indexPath(dir);
    const { mtime } = await stat(path);
    await writeFile(path, JSON.stringify(index("9.0.0")));
    await utimes(path, mtime, mtime);
    const second = await readInstallIndex(dir);
    expect(second).not.toBe(first);
    expect(second?.version).toBe("9.0.0");
  });

  // The first run after a rollback empties the trash, which unlinks the backup's second name of the
  // index (the rollback linked it back into place): its ctime moved at the start of the run, so
  // every read of that run (source check, path checks, planner: 4) parsed the whole index again.
  it("reuses the parse when only the stat moved (a second name unlinked), by comparing the bytes", async () => {
    await writeInstallIndex(dir, index("1.0.0"));
    const second = join(dir, "previous-index.json");
    await link(indexPath(dir), second);
    later();
    const first = await readInstallIndex(dir);
    vi.useRealTimers();
    await unlink(second);
    const ctimeBefore = (await stat(indexPath(dir))).ctimeMs;
    expect(ctimeBefore).toBeGreaterThan(Date.now() - 10_000);
    expect(await readInstallIndex(dir)).toBe(first);
    expect(await readInstallIndex(dir)).toBe(first);
    // Same length, another content, the timestamps put back: read afresh.
    const { mtime } = await stat(indexPath(dir));
    await writeFile(indexPath(dir), JSON.stringify(index("8.0.0")));
    await utimes(indexPath(dir), mtime, mtime);
    expect((await readInstallIndex(dir))?.version).toBe("8.0.0");
  });
});

describe("an index written as its changes on a base", () => {
  const many = (): InstallIndex["files"] =>
    IndexFiles.of(
      Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`f${i}`, { ...entry, ino: i + 1 }])),
    );
  const bases = async () => (await readdir(dir)).filter((n) => n.startsWith("install-index.base-"));

  it("is written whole when the base it would name has gone since the read (a process kept its parse)", async () => {
    await writeInstallIndex(dir, { version: "1.0.0", installedAt: "x", files: many(), dirs: [] });
    const first = await readInstallIndex(dir);
    if (first === undefined) throw new Error("no index");
    await writeInstallIndex(dir, { ...takeInstallIndex(first), version: "2.0.0" }, ["f1"]);
    const [base] = await bases();
    const second = await readInstallIndex(dir);
    if (second === undefined || base === undefined) throw new Error("no head written");
    await rm(join(dir, base));
    await writeInstallIndex(dir, { ...takeInstallIndex(second), version: "3.0.0" }, ["f2"]);
    const third = await readInstallIndex(dir);
    expect(third?.version).toBe("3.0.0");
    expect(third?.files.size).toBe(40);
    expect(await bases()).toEqual([]);
  });
});

describe("a full index in columns (index-columns.ts)", () => {
  const files = () =>
    IndexFiles.of({
      "a.txt": { ...entry, ctimeMs: 2 },
      "dir/ü b.txt": { ...entry, sha256: "b".repeat(64), size: 7, ino: 9, mtimeMs: 1.5 },
      "config.toml": { ...entry, sha256: "c".repeat(64), merged: true, installedSha256: "d".repeat(64) },
      constructor: { ...entry, ino: 4 },
    });
  const write = () =>
    writeInstallIndex(dir, {
      version: "1.0.0",
      installedAt: "2026-01-01T00:00:00.000Z",
      files: files(),
      dirs: ["dir"],
    });

  it("is a JSON header line and the entries' blocks, which an older ship's JSON parse refuses", async () => {
    await write();
    const bytes = await readFile(indexPath(dir));
    const end = bytes.indexOf(0x0a);
    const header = JSON.parse(bytes.toString("utf8", 0, end));
    expect(header).toMatchObject({ version: "1.0.0", columns: { format: 1, count: 4 }, dirs: ["dir"] });
    expect(header.files).toBeUndefined();
    // The entries: paths with a NUL each, 64 hex characters and five float64 per file.
    expect(bytes.length - end - 1).toBe(header.columns.pathBytes + 4 * (64 + 40));
    expect(() => JSON.parse(bytes.toString("utf8"))).toThrow();
    expect(await readInstallIndexHeader(dir)).toEqual({
      version: "1.0.0",
      installedAt: "2026-01-01T00:00:00.000Z",
    });
  });

  it("reads back every entry and field as written (none for a name an object inherits)", async () => {
    await write();
    const read = await readInstallIndex(dir);
    expect(Object.fromEntries(read?.files ?? [])).toEqual(Object.fromEntries(files()));
    expect(read?.files.sha256Of("dir/ü b.txt")).toBe("b".repeat(64));
    expect(read?.files.get("toString")).toBeUndefined();
    expect([...(read?.files.merged() ?? [])].map(([rel]) => rel)).toEqual(["config.toml"]);
  });

  it("refuses entries that are torn, changed in place or of another format, naming the file", async () => {
    await write();
    const path = indexPath(dir);
    const good = await readFile(path);
    const flipped = Buffer.from(good);
    flipped[flipped.length - 3] = (flipped[flipped.length - 3] ?? 0) ^ 0x40;
    const end = good.indexOf(0x0a);
    const header = good.toString("utf8", 0, end);
    const otherFormat = Buffer.concat([
      Buffer.from(header.replace('"format":1', '"format":2')),
      good.subarray(end),
    ]);
    for (const [bytes, why] of [
      [flipped, /install-index\.json is damaged, its entries do not match the checksum/],
      [
        good.subarray(0, good.length - 8),
        /install-index\.json is damaged, its entries are \d+ bytes, not the \d+/,
      ],
      [otherFormat, /install-index\.json is damaged.*columns\.format/],
    ] as const) {
      await rm(path);
      await writeFile(path, bytes);
      await expect(readInstallIndex(dir)).rejects.toThrow(why);
    }
  });
});
