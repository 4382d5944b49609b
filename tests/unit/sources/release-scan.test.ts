import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { chmod, lstat, mkdir, mkdtemp, readFile, rm, stat, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { treeDigest } from "../../../agent/sources/release-dir.js";
import { scanReleaseDir } from "../../../agent/sources/release-scan.js";
import { type StampFields, StatIndex } from "../../../agent/sources/stat-index.js";
import { longestStall, onLoadedHost } from "../../support/loaded-host.js";

let tmp: string;
let dir: string;
let indexFile: string;
/** A clock far enough ahead that every file counts as settled (not "racy"). */
const later = () => Date.now() + 60_000;

beforeEach(async () => {
  tmp = await mkdtemp(join(tmpdir(), "ship-scan-"));
  dir = join(tmp, "release");
  indexFile = join(tmp, "state", "stat-index.json");
  await mkdir(join(dir, "lib"), { recursive: true });
  await writeFile(join(dir, "update-manifest.yaml"), 'version: "1.0.0"\n');
  for (let i = 0; i < 5; i++) await writeFile(join(dir, "lib", `m${i}.py`), `print(${i})\n`);
  await symlink("lib/m0.py", join(dir, "main.py"));
});
afterEach(async () => {
  await rm(tmp, { recursive: true, force: true });
});

describe("scanReleaseDir (release directory read in place through a stat index)", () => {
  it("gives the same id as reading everything, and re-reads nothing unchanged", async () => {
    const first = await scanReleaseDir(dir, indexFile, later);
    expect(first.id).toBe(`tree:${await treeDigest(dir)}`);
    expect(first.hashed).toBe(6);
    expect(first.listing.files.get("main.py")?.type).toBe("symlink");
    const second = await scanReleaseDir(dir, indexFile, later);
    expect(second.hashed).toBe(0);
    expect(second.id).toBe(first.id);
  });

  it("a directory's mode counts in the id only when it is not 755: ids of all-755 trees are what they were", async () => {
    await chmod(dir, 0o755);
    await chmod(join(dir, "lib"), 0o755);
    const sha = (text: string) => createHash("sha256").update(text).digest("hex");
    // The digest as it was before directory modes counted: `d "lib"` with no mode.
    const lines = [
      'd "lib"\n',
      ...[0, 1, 2, 3, 4].map((i) => `f "lib/m${i}.py" 644 ${sha(`print(${i})\n`)}\n`),
      'l "main.py" "lib/m0.py"\n',
      `f "update-manifest.yaml" 644 ${sha('version: "1.0.0"\n')}\n`,
    ];
    await chmod(join(dir, "update-manifest.yaml"), 0o644);
    for (let i = 0; i < 5; i++) await chmod(join(dir, "lib", `m${i}.py`), 0o644);
    const usual = await scanReleaseDir(dir, indexFile, later);
    expect(usual.id).toBe(`tree:${sha(lines.join(""))}`);
    await chmod(join(dir, "lib"), 0o750);
    const changed = await scanReleaseDir(dir, indexFile, later);
    expect(changed.id).not.toBe(usual.id);
    expect(changed.id).toBe(`tree:${await treeDigest(dir)}`);
    expect(changed.id).toBe(`tree:${sha(lines.join("").replace('d "lib"\n', 'd "lib" 750\n'))}`);
  });

  it("an edit that keeps size and mtime is still seen (ctime moves), and only that file is read", async () => {
    const first = await scanReleaseDir(dir, indexFile, later);
    const file = join(dir, "lib", "m3.py");
    const before = await stat(file, { bigint: true });
    // touch -r copies timestamps to the nanosecond (utimes from JS would round them).
    const ref = join(tmp, "ref");
    await writeFile(ref, "");
    execFileSync("touch", ["-r", file, ref]);
    await writeFile(file, "print(9)\n");
    execFileSync("touch", ["-r", ref, file]);
    const after = await stat(file, { bigint: true });
    expect([after.size, after.mtimeNs]).toEqual([before.size, before.mtimeNs]);
    const second = await scanReleaseDir(dir, indexFile, later);
    expect(second.hashed).toBe(1);
    expect(second.id).not.toBe(first.id);
    expect(second.id).toBe(`tree:${await treeDigest(dir)}`);
  });

  it("every file hashed in one walk is recorded with its own stat (the walk reuses one stat object), so same-size same-mtime edits of any of them are seen", async () => {
    await scanReleaseDir(dir, indexFile, later);
    const saved = await readFile(indexFile, "utf8");
    for (let i = 0; i < 5; i++) {
      const rel = `lib/m${i}.py`;
      const st = await stat(join(dir, rel));
      const own = `${rel}\0`;
      const at = saved.indexOf(own);
      expect(at).toBeGreaterThan(0);
      const stamp = saved.slice(at + own.length + 65, saved.indexOf("\0", at + own.length)).split("\t");
      expect(stamp.slice(0, 3)).toEqual([`${st.dev}`, `${st.ino}`, `${st.size}`]);
      // Seconds and nanoseconds that give back the stat's own timestamps.
      const [mSec, mNsec, cSec, cNsec] = stamp.slice(3).map(Number) as [number, number, number, number];
      expect(mSec * 1e3 + mNsec / 1e6).toBe(st.mtimeMs);
      expect(cSec * 1e3 + cNsec / 1e6).toBe(st.ctimeMs);
    }
    // The first and a middle file of the walk, edited keeping size and mtime: both are read again.
    const ref = join(tmp, "ref");
    await writeFile(ref, "");
    for (const [rel, text] of [
      ["lib/m0.py", "print(7)\n"],
      ["lib/m2.py", "print(8)\n"],
    ] as const) {
      const file = join(dir, rel);
      execFileSync("touch", ["-r", file, ref]);
      await writeFile(file, text);
      execFileSync("touch", ["-r", ref, file]);
    }
    const again = await scanReleaseDir(dir, indexFile, later);
    expect(again.hashed).toBe(2);
    expect(again.id).toBe(`tree:${await treeDigest(dir)}`);
    expect((await scanReleaseDir(dir, indexFile, later)).hashed).toBe(0);
  });

  it("a record whose hash is not 64 lowercase hex digits vouches for nothing, whatever its stamp", async () => {
    const honest = `tree:${await treeDigest(dir)}`;
    await scanReleaseDir(dir, indexFile, later);
    const saved = await readFile(indexFile, "utf8");
    const m1 = /lib\/m1\.py\0([0-9a-f]{64})\t/.exec(saved);
    expect(m1).not.toBeNull();
    const sha = (m1 as RegExpExecArray)[1] as string;
    for (const bad of [sha.toUpperCase(), `${sha.slice(0, 63)}g`, `${sha.slice(0, 32)} ${sha.slice(33)}`]) {
      expect(bad).toHaveLength(64);
      expect(bad).not.toBe(sha);
      await writeFile(indexFile, saved.replace(`lib/m1.py\0${sha}`, `lib/m1.py\0${bad}`));
      expect(await scanReleaseDir(dir, indexFile, later)).toMatchObject({ id: honest, hashed: 1 });
    }
  });

  it("keeps each regular file's and symlink's own mtime as scanned, for keep_mtimes", async () => {
    const scanned = await scanReleaseDir(dir, indexFile, later);
    expect([...scanned.mtimes.keys()].sort()).toEqual(
      [
        "lib/m0.py",
        "lib/m1.py",
        "lib/m2.py",
        "lib/m3.py",
        "lib/m4.py",
        "main.py",
        "update-manifest.yaml",
      ].sort(),
    );
    expect(scanned.mtimes.get("lib/m3.py")).toBe((await stat(join(dir, "lib/m3.py"))).mtimeMs);
    // The link's own time (lstat), which keep_mtimes gives the installed link, not its target's.
    expect(scanned.mtimes.get("main.py")).toBe((await lstat(join(dir, "main.py"))).mtimeMs);
    expect(scanned.mtimes.has("lib")).toBe(false);
  });

  it("files modified within the timestamp granularity of their hashing are read again next time", async () => {
    // The real clock: every file was just written, so none may be trusted yet.
    await scanReleaseDir(dir, indexFile);
    expect((await scanReleaseDir(dir, indexFile)).hashed).toBe(6);
  });

  it("a missing, corrupt or foreign index only costs time", async () => {
    const honest = `tree:${await treeDigest(dir)}`;
    await mkdir(join(tmp, "state"), { recursive: true });
    await writeFile(indexFile, "{ not json");
    expect(await scanReleaseDir(dir, indexFile, later)).toMatchObject({ id: honest, hashed: 6 });
    const saved = await readFile(indexFile, "utf8");
    // An index that lies about a hash for a stamp that no longer matches is ignored for that file.
    // Stamps are compared as numbers: a digit put after a timestamp's last one may read back as the
    // same double, so the lie changes the inode number (the second field).
    const m1 = /lib\/m1\.py\0([0-9a-f]{64})\t([^\0]*)\0/.exec(saved);
    expect(m1).not.toBeNull();
    const [record, , stamp] = m1 as RegExpExecArray;
    const otherIno = (stamp as string).replace(
      /^(\d+)\t(\d+)/,
      (_all, dev, ino) => `${dev}\t${Number(ino) + 1}`,
    );
    expect(otherIno).not.toBe(stamp);
    const lying = saved.replace(record, `lib/m1.py\0${"0".repeat(64)}\t${otherIno}\0`);
    await writeFile(indexFile, lying);
    expect(await scanReleaseDir(dir, indexFile, later)).toMatchObject({ id: honest, hashed: 1 });
    // Nor does a stamp with a field more, or with blanks Number() would read past.
    for (const odd of [`${stamp}\t0`, ` ${stamp}`, `${stamp} `]) {
      await writeFile(indexFile, saved.replace(record, `lib/m1.py\0${"0".repeat(64)}\t${odd}\0`));
      expect(await scanReleaseDir(dir, indexFile, later)).toMatchObject({ id: honest, hashed: 1 });
    }
    // Cut off in the middle of a record (a crash while writing without the atomic rename, a full disk).
    await writeFile(indexFile, saved.slice(0, Math.floor(saved.length / 2)));
    const truncated = await scanReleaseDir(dir, indexFile, later);
    expect(truncated.id).toBe(honest);
    expect(truncated.hashed).toBeGreaterThan(0);
    expect(truncated.hashed).toBeLessThan(6);
    // Garbage bytes and the previous (JSON) format vouch for nothing.
    await writeFile(
      indexFile,
      Buffer.from(saved).map((b, i) => (i % 7 === 3 ? 0 : b)),
    );
    expect(await scanReleaseDir(dir, indexFile, later)).toMatchObject({ id: honest });
    await writeFile(indexFile, JSON.stringify({ format: 1, root: dir, entries: {} }));
    expect(await scanReleaseDir(dir, indexFile, later)).toMatchObject({ id: honest, hashed: 6 });
    // An index of another directory vouches for nothing here.
    await writeFile(indexFile, saved.replace(JSON.stringify(dir), JSON.stringify("/elsewhere")));
    expect(await scanReleaseDir(dir, indexFile, later)).toMatchObject({ id: honest, hashed: 6 });
  });

  it("an unchanged release leaves the index file as it was (no rewrite), a changed one updates it", async () => {
    await scanReleaseDir(dir, indexFile, later);
    const before = await stat(indexFile, { bigint: true });
    expect((await scanReleaseDir(dir, indexFile, later)).hashed).toBe(0);
    expect((await stat(indexFile, { bigint: true })).ino).toBe(before.ino);
    await writeFile(join(dir, "lib", "m2.py"), "print(22)\n");
    expect((await scanReleaseDir(dir, indexFile, later)).hashed).toBe(1);
    expect((await stat(indexFile, { bigint: true })).ino).not.toBe(before.ino);
    expect((await scanReleaseDir(dir, indexFile, later)).hashed).toBe(0);
  });

  it("files added and removed amid the release, or records in another order, still vouch; the index is rewritten in walk order", async () => {
    await scanReleaseDir(dir, indexFile, later);
    const saved = await readFile(indexFile, "utf8");
    const [header, ...body] = saved.split("\n");
    // Records reversed: every lookup misses the cursor, none may miss the file.
    const records = (body.join("\n").match(/[^\0]*\0[^\0]*\0/g) ?? []).reverse();
    expect(records).toHaveLength(6);
    await writeFile(indexFile, `${header}\n${records.join("")}`);
    expect((await scanReleaseDir(dir, indexFile, later)).hashed).toBe(0);
    // The same records in walk order; the header holds the rewriting run's clock.
    const reordered = await readFile(indexFile, "utf8");
    expect(reordered.slice(reordered.indexOf("\n"))).toBe(saved.slice(saved.indexOf("\n")));
    // One file gone, one new, both between others in walk order: only the new one is read.
    await rm(join(dir, "lib", "m2.py"));
    await writeFile(join(dir, "lib", "m2a.py"), "print(2.5)\n");
    const changed = await scanReleaseDir(dir, indexFile, later);
    expect(changed.hashed).toBe(1);
    expect(changed.id).toBe(`tree:${await treeDigest(dir)}`);
    const rewritten = await readFile(indexFile, "utf8");
    expect(rewritten).not.toContain("lib/m2.py\0");
    expect(rewritten.indexOf("lib/m2a.py\0")).toBeGreaterThan(rewritten.indexOf("lib/m1.py\0"));
    expect(rewritten.indexOf("lib/m2a.py\0")).toBeLessThan(rewritten.indexOf("lib/m3.py\0"));
    const before = await stat(indexFile, { bigint: true });
    expect((await scanReleaseDir(dir, indexFile, later)).hashed).toBe(0);
    expect((await stat(indexFile, { bigint: true })).ino).toBe(before.ino);
  });
});

/** The next double above `x` (one ulp): a timestamp that differs from x by the least it can. */
function nextDouble(x: number): number {
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, x);
  view.setBigUint64(0, view.getBigUint64(0) + 1n);
  return view.getFloat64(0);
}

/** A timestamp as lstat gives it: Node's formula over the kernel's seconds and nanoseconds. */
const msOf = (sec: number, nsec: number) => sec * 1e3 + nsec / 1e6;

describe("StatIndex stamps: a record vouches for exactly the stat it was taken with", () => {
  it("timestamps of any second and nanosecond match themselves and no neighbouring double; another spelling vouches for nothing", async () => {
    const now = Date.now();
    const nowSec = Math.floor(now / 1e3);
    const times = [
      msOf(nowSec - 5, 72_800_123), // the common case: 13 digits, a fraction of a millisecond
      msOf(nowSec - 86_400, 500_000_000),
      msOf(1_700_000_000, 0), // a whole second
      msOf(1_700_000_000, 123_456_789),
      msOf(1_700_000_000, 999_999_999),
      msOf(0, 123), // near the epoch
      msOf(0, 1),
      msOf(-1, 999_999_000), // before 1970: a negative second
      msOf(-86_400, 5),
    ];
    const stamps: [string, StampFields][] = [];
    for (const [i, t] of times.entries()) {
      // The last size has 16 digits: past the digit-by-digit path.
      const size = i === times.length - 1 ? Number.MAX_SAFE_INTEGER : 4096 * i;
      stamps.push([`f${i}`, { dev: 2049, ino: 1000 + i, size, mtimeMs: t, ctimeMs: t }]);
      const [next, after] = [times[(i + 1) % times.length], times[(i + 2) % times.length]] as [
        number,
        number,
      ];
      stamps.push([`g${i}`, { dev: 2049, ino: 2000 + i, size: 7, mtimeMs: after, ctimeMs: next }]);
    }
    const sha = "a".repeat(64);
    const file = join(tmp, "stamps");
    const fresh = await StatIndex.load(file, "/r", now);
    for (const [rel, st] of stamps) {
      expect(fresh.lookup(rel, st)).toBeUndefined();
      fresh.record(rel, st, sha, now + 60_000);
    }
    await fresh.save(now + 60_000);
    const again = await StatIndex.load(file, "/r", now + 60_000);
    for (const [rel, st] of stamps) expect(again.lookup(rel, st), rel).toBe(sha);
    // One ulp off in either timestamp, or a whole field off: each file is hashed again.
    const moved = await StatIndex.load(file, "/r", now + 60_000);
    for (const [rel, st] of stamps) {
      for (const other of [
        { ...st, mtimeMs: nextDouble(st.mtimeMs) },
        { ...st, ctimeMs: nextDouble(st.ctimeMs) },
        { ...st, size: st.size + 1 },
        { ...st, ino: st.ino + 1 },
      ])
        expect(moved.lookup(rel, other), `${rel} ${JSON.stringify(other)}`).toBeUndefined();
    }
    // The same numbers spelt otherwise than the index spells them (a leading zero, a plus sign).
    const saved = await readFile(file, "utf8");
    const [rel, st] = stamps[0] as [string, StampFields];
    const at = saved.indexOf(`${rel}\0`) + rel.length + 66;
    const written = saved.slice(at, saved.indexOf("\0", at));
    const [dev, ino, size, sec, nsec, ...ctime] = written.split("\t");
    expect([dev, ino, size, sec]).toEqual([`${st.dev}`, `${st.ino}`, `${st.size}`, `${nowSec - 5}`]);
    for (const odd of [
      [`0${dev}`, ino, size, sec, nsec, ...ctime],
      [dev, ino, size, `+${sec}`, nsec, ...ctime],
      [dev, ino, size, sec, `0${nsec}`, ...ctime],
    ].map((fields) => fields.join("\t"))) {
      await writeFile(file, saved.replace(written, odd));
      const edited = await StatIndex.load(file, "/r", now + 60_000);
      expect(edited.lookup(rel, st), odd).toBeUndefined();
    }
  });

  it("every timestamp a stat can give is recorded so that the next run trusts it", async () => {
    // Across a day of seconds and every scale of nanoseconds: a timestamp the index could not
    // write back would be hashed on every run.
    const now = Date.now();
    const stamps: [string, StampFields][] = [];
    for (let i = 0; i < 2_000; i++) {
      const sec = Math.floor(now / 1e3) - 86_400 + ((i * 7_919) % 86_400);
      const nsec = (i * 104_729 * 9_973) % 1e9;
      const t = msOf(sec, nsec);
      stamps.push([
        `f${i}`,
        { dev: 2049, ino: i, size: i, mtimeMs: t, ctimeMs: msOf(sec, (nsec * 31) % 1e9) },
      ]);
    }
    const file = join(tmp, "every");
    const fresh = await StatIndex.load(file, "/r", now);
    for (const [rel, st] of stamps) {
      fresh.lookup(rel, st);
      fresh.record(rel, st, "b".repeat(64), now + 60_000);
    }
    await fresh.save(now + 60_000);
    const again = await StatIndex.load(file, "/r", now + 60_000);
    const trusted = stamps.filter(([rel, st]) => again.lookup(rel, st) !== undefined);
    expect(trusted.length).toBe(stamps.length);
  });

  it("an index in format 3 (timestamps as decimal milliseconds) vouches for nothing", async () => {
    const now = Date.now();
    const st = { dev: 2049, ino: 7, size: 3, mtimeMs: now - 60_000.5, ctimeMs: now - 60_000.5 };
    const file = join(tmp, "old");
    const stamp = `${st.dev}\t${st.ino}\t${st.size}\t${st.mtimeMs}\t${st.ctimeMs}`;
    await writeFile(file, `ship-stat-index 3 ${now - 1} "/r"\nf\0${"c".repeat(64)}\t${stamp}\0`);
    const old = await StatIndex.load(file, "/r", now);
    expect(old.lookup("f", st)).toBeUndefined();
  });
});

describe("scanReleaseDir: small files read synchronously, large ones asynchronously", () => {
  it("files on both sides of the 1 MiB limit give the same id as reading everything", async () => {
    const { SYNC_READ_MAX_BYTES } = await import("../../../agent/tree/hash-file.js");
    for (const [name, size] of [
      ["edge", SYNC_READ_MAX_BYTES],
      ["over", SYNC_READ_MAX_BYTES + 1],
      ["big", 3 * SYNC_READ_MAX_BYTES + 17],
    ] as const) {
      await writeFile(join(dir, "lib", `${name}.bin`), Buffer.alloc(size, name.length));
    }
    const scanned = await scanReleaseDir(dir, indexFile, later);
    expect(scanned.hashed).toBe(9);
    expect(scanned.id).toBe(`tree:${await treeDigest(dir)}`);
    expect(scanned.listing.files.get("lib/over.bin")?.size).toBe(SYNC_READ_MAX_BYTES + 1);
  });
});

describe("scanReleaseDir and the agent's event loop", () => {
  // Its walk was one synchronous stretch: ~1 s of a 20,000-file release on a loaded host in which
  // the agent's "still working" to the hub waited. Here each directory's listing costs 3 ms more.
  it("lets timers run at least every LOOP_SLICE_MS while it walks a release on a loaded host", async () => {
    const big = join(tmp, "big");
    for (let d = 0; d < 300; d++) {
      await mkdir(join(big, `d${d}`), { recursive: true });
      await writeFile(join(big, `d${d}`, "f.js"), `${d}\n`);
    }
    const first = await scanReleaseDir(big, indexFile, later);
    const { longest, took } = await longestStall(() =>
      onLoadedHost(3, async () => {
        expect((await scanReleaseDir(big, indexFile, later)).id).toBe(first.id);
      }),
    );
    expect(took).toBeGreaterThan(800);
    // LOOP_SLICE_MS (50) and one entry, with room for a loaded test machine's scheduling.
    expect(
      longest,
      `longest stretch without a timer ${Math.round(longest)} ms of ${Math.round(took)} ms`,
    ).toBeLessThan(300);
  });
});
