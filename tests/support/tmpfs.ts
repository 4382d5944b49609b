/**
 * A small real tmpfs, to fill a disk for real. Mounting needs root with CAP_SYS_ADMIN: without it
 * the test skips loudly; under CI=true it fails when mounting should have worked (root with that
 * capability) and did not.
 */
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll } from "vitest";

const CAP_SYS_ADMIN = 21n;

function mayMount(): boolean {
  try {
    const status = readFileSync("/proc/self/status", "utf8");
    const caps = /^CapEff:\s*([0-9a-f]+)$/m.exec(status)?.[1];
    return (
      process.getuid?.() === 0 && caps !== undefined && ((BigInt(`0x${caps}`) >> CAP_SYS_ADMIN) & 1n) === 1n
    );
  } catch {
    return false;
  }
}

/** Mounts a tmpfs of `size` (e.g. "2m") on the existing directory `dir`; false when it cannot. */
export function mountTmpfs(dir: string, size: string): boolean {
  try {
    execFileSync("mount", ["-t", "tmpfs", "-o", `size=${size},mode=0755`, "tmpfs", dir], { stdio: "pipe" });
    return true;
  } catch (error) {
    const why = `cannot mount a tmpfs on ${dir}: ${String(error).split("\n")[0]}`;
    if (mayMount() && process.env.CI === "true") throw new Error(`CI=true and ${why}`);
    console.warn(`SKIPPING: ${why}`);
    return false;
  }
}

/** Binds the existing directory `source` on the existing directory `dir`; false when it cannot (as mountTmpfs). */
export function bindMount(source: string, dir: string): boolean {
  try {
    execFileSync("mount", ["--bind", source, dir], { stdio: "pipe" });
    return true;
  } catch (error) {
    const why = `cannot bind ${source} on ${dir}: ${String(error).split("\n")[0]}`;
    if (mayMount() && process.env.CI === "true") throw new Error(`CI=true and ${why}`);
    console.warn(`SKIPPING: ${why}`);
    return false;
  }
}

export function unmountTmpfs(dir: string): void {
  execFileSync("umount", [dir], { stdio: "pipe" });
}

/**
 * Mounts on the existing directory `dir` a small ext2 file system (a loop image, `image`) whose
 * 128-byte inodes keep timestamps in whole seconds, as old or foreign file systems do: a file
 * rewritten within a second keeps its mtime and ctime. False when it cannot (as mountTmpfs).
 */
export function mountSecondsFs(dir: string, image: string): boolean {
  try {
    execFileSync("truncate", ["-s", "16M", image], { stdio: "pipe" });
    execFileSync("mkfs.ext2", ["-q", "-F", "-I", "128", image], { stdio: "pipe" });
    execFileSync("mount", ["-o", "loop", image, dir], { stdio: "pipe" });
    return true;
  } catch (error) {
    const why = `cannot mount an ext2 image on ${dir}: ${String(error).split("\n")[0]}`;
    if (mayMount() && process.env.CI === "true") throw new Error(`CI=true and ${why}`);
    console.warn(`SKIPPING: ${why}`);
    return false;
  }
}

/** A whole-second file system for one test file (`secondsFsForFile`). */
export interface SecondsFs {
  /** A scratch directory on an ordinary file system, removed after the file. */
  readonly tmp: string;
  /** The ext2 mount point (under `tmp`). */
  readonly fs: string;
  /** False when it could not be mounted (the tests skip; under CI=true mounting failed loudly). */
  readonly mounted: boolean;
}

/**
 * mountSecondsFs for the calling test file: made in its beforeAll (a scratch directory named by
 * `prefix`, its image and mount point inside), unmounted and removed in its afterAll. Read the
 * fields inside tests or hooks (they are set once beforeAll ran).
 */
export function secondsFsForFile(prefix: string): SecondsFs {
  const state = { tmp: "", fs: "", mounted: false };
  beforeAll(async () => {
    state.tmp = await mkdtemp(join(tmpdir(), prefix));
    state.fs = join(state.tmp, "fs");
    await mkdir(state.fs);
    state.mounted = mountSecondsFs(state.fs, join(state.tmp, "ext2.img"));
  });
  afterAll(async () => {
    if (state.mounted) unmountTmpfs(state.fs);
    await rm(state.tmp, { recursive: true, force: true });
  });
  return state;
}
