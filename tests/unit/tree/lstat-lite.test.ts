/**
 * lstatLite: the walks' lstat without Stats objects must give exactly what lstatSync gives (the
 * same doubles for mtimeMs/ctimeMs, so stamps from either agree), the same "missing" answer and the
 * same errors, through the binding and through its lstatSync fallback alike.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { lstatSync } from "node:fs";
import { link, mkdir, mkdtemp, rm, symlink, utimes, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { stampOf } from "../../../agent/tree/file-stamp.js";
import {
  emptyStat,
  isDirectoryMode,
  isFileMode,
  isSymlinkMode,
  lstatLite,
  lstatLiteNsOrUndefined,
  lstatLiteSource,
  resetLstatLite,
} from "../../../agent/tree/lstat-lite.js";

let root: string;
const entries = ["file", "odd name ü", "dir", "link", "dangling", "fifo", "old", "second name"];

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "ship-lstat-lite-"));
  await writeFile(join(root, "file"), "x".repeat(1234));
  await writeFile(join(root, "odd name ü"), "");
  await mkdir(join(root, "dir"), { mode: 0o750 });
  await symlink("file", join(root, "link"));
  await symlink("nowhere", join(root, "dangling"));
  execFileSync("mkfifo", [join(root, "fifo")]);
  await writeFile(join(root, "old"), "old");
  // A timestamp with a sub-millisecond fraction, where a formula that differs from Node's shows.
  await utimes(join(root, "old"), 1_000_000_000.123456, 1_000_000_000.987654);
  // A file with two names: its link count is what tells an update the other name keeps the old bytes.
  await link(join(root, "old"), join(root, "second name"));
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

afterEach(() => resetLstatLite());

describe.each([
  ["through the binding", undefined],
  ["through lstatSync (fallback)", false],
] as const)("lstatLite %s", (_label, useBinding) => {
  it("gives lstatSync's numbers, bit for bit, and its file type", () => {
    resetLstatLite(useBinding);
    for (const name of entries) {
      const path = join(root, name);
      const st = lstatSync(path);
      const lite = lstatLite(path, true);
      expect(lite).toEqual({
        dev: st.dev,
        mode: st.mode,
        ino: st.ino,
        nlink: st.nlink,
        size: st.size,
        mtimeMs: st.mtimeMs,
        ctimeMs: st.ctimeMs,
      });
      expect(stampOf(lite)).toBe(stampOf(st));
      expect([isDirectoryMode(lite.mode), isFileMode(lite.mode), isSymlinkMode(lite.mode)]).toEqual([
        st.isDirectory(),
        st.isFile(),
        st.isSymbolicLink(),
      ]);
    }
    // The binding is trusted only when its probe matched lstatSync: it must be the one answering here.
    expect(lstatLiteSource()).toBe(useBinding === false ? "lstatSync" : "binding");
  });

  it("fills the object it is given (a walk's one reused stat) with each entry's own numbers", () => {
    resetLstatLite(useBinding);
    const into = emptyStat();
    for (const name of entries) {
      const path = join(root, name);
      const st = lstatSync(path);
      expect(lstatLite(path, true, into)).toBe(into);
      expect(into).toEqual({
        dev: st.dev,
        mode: st.mode,
        ino: st.ino,
        nlink: st.nlink,
        size: st.size,
        mtimeMs: st.mtimeMs,
        ctimeMs: st.ctimeMs,
      });
    }
    // A missing entry leaves nothing to read: undefined, as without `into`.
    expect(lstatLite(join(root, "missing"), false, into)).toBeUndefined();
  });

  it("is undefined for a missing entry, or throws lstatSync's own error", () => {
    resetLstatLite(useBinding);
    const missing = join(root, "missing");
    const underFile = join(root, "file", "x");
    expect(lstatLite(missing, false)).toBeUndefined();
    // Below a file (ENOTDIR) lstatSync throws even with throwIfNoEntry false: so does lstatLite.
    expect(() => lstatSync(underFile, { throwIfNoEntry: false })).toThrow(/ENOTDIR/);
    expect(() => lstatLite(underFile, false)).toThrow(/ENOTDIR/);
    for (const path of [missing, underFile, `${root}/nul\0byte`]) {
      let expected: unknown;
      try {
        lstatSync(path);
      } catch (error) {
        expected = error;
      }
      expect(expected).toBeInstanceOf(Error);
      expect(() => lstatLite(path, true)).toThrow(expected as Error);
    }
  });

  it("lstatLiteNsOrUndefined gives BigIntStats' inode and nanosecond times exactly, undefined where it fails", () => {
    resetLstatLite(useBinding);
    for (const name of entries) {
      const path = join(root, name);
      const st = lstatSync(path, { bigint: true });
      expect(lstatLiteNsOrUndefined(path), name).toEqual({
        mode: Number(st.mode),
        size: Number(st.size),
        ino: st.ino,
        mtimeNs: st.mtimeNs,
        ctimeNs: st.ctimeNs,
      });
    }
    // "old" has a sub-millisecond time: the nanoseconds a double would round away.
    expect((lstatLiteNsOrUndefined(join(root, "old"))?.mtimeNs ?? 0n) % 1_000_000n).not.toBe(0n);
    for (const path of [join(root, "missing"), join(root, "file", "x"), `${root}/nul\0byte`])
      expect(lstatLiteNsOrUndefined(path)).toBeUndefined();
  });
});

describe("lstatLite's probe", () => {
  it("uses the binding on this Node", () => {
    resetLstatLite();
    lstatLite(root, true);
    expect(lstatLiteSource()).toBe("binding");
  });

  it("keeps to lstatSync, silently, where process.binding would warn (--pending-deprecation)", () => {
    const built = new URL("../../../dist/agent/tree/lstat-lite.js", import.meta.url).pathname;
    const script = `import(${JSON.stringify(built)}).then((m) => {
      const st = m.lstatLite(${JSON.stringify(join(root, "file"))}, true);
      process.stdout.write(m.lstatLiteSource() + " " + st.size);
    });`;
    for (const [args, env] of [
      [["--pending-deprecation"], {}],
      [[], { NODE_PENDING_DEPRECATION: "1" }],
      [[], { NODE_OPTIONS: "--pending-deprecation" }],
    ] as const) {
      const run = spawnSync(process.execPath, [...args, "-e", script], {
        encoding: "utf8",
        env: { ...process.env, ...env },
      });
      expect(run.stderr).toBe("");
      expect(run.stdout).toBe("lstatSync 1234");
    }
  });
});
