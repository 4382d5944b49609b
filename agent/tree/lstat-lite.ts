/**
 * lstat for the tree walks (a release directory's and the app's: 20,000 calls each per update)
 * without Node's Stats object. Node 20's lstatSync turns the kernel's answer into a Stats holding
 * four Date objects: 13-17 % of each walk's CPU (measured on 20,000 files), and garbage. Here
 * the same numbers are read from the binding lstatSync itself calls, and the timestamps are
 * computed with Node's own formula (sec * 1e3 + nsec / 1e6), so mtimeMs and ctimeMs are the very
 * doubles lstatSync gives: stamps taken by either agree (stat index, install index).
 *
 * The binding is not a public API: it is used only when it answers exactly as lstatSync does on a
 * first probe, and never under Node's permission model (which lstatSync enforces and the binding
 * does not). Anywhere else, or on any doubt, this is lstatSync.
 */
import { constants, lstatSync } from "node:fs";

/** The fields the walks read. */
export interface LiteStat {
  dev: number;
  mode: number;
  ino: number;
  /** How many names (hard links) the entry has. */
  nlink: number;
  size: number;
  mtimeMs: number;
  ctimeMs: number;
}

type RawLstat = (path: string, useBigint: false, req: undefined, throwIfNoEntry: boolean) => unknown;

/** Node's stat array: dev, mode, nlink, uid, gid, rdev, blksize, ino, size, blocks, then (sec, nsec) × 4. */
const DEV = 0;
const MODE = 1;
const NLINK = 2;
const INO = 7;
const SIZE = 8;
const MTIME_SEC = 12;
const CTIME_SEC = 14;

let raw: RawLstat | null | undefined;

/**
 * The file-type bits, read once. In the CLI's CommonJS bundles `constants.S_IFMT` is a property
 * load from Node's `fs` module object, which is in dictionary mode: a hash lookup per read, and the
 * predicates below run two or three times per entry of each walk (~100,000 calls an update of the
 * bench's app: the app walk alone took ~2.6 ms of CPU more with the lookups, 20,000 files).
 */
const { S_IFMT, S_IFDIR, S_IFREG, S_IFLNK, S_IFSOCK, S_IFIFO, S_IFCHR, S_IFBLK } = constants;

/**
 * The entry at `path`, never following a symlink. As lstatSync: undefined when it does not exist
 * (ENOENT) and `throwIfNoEntry` is false; any other failure throws lstatSync's own error.
 * `into`: an object to fill and return instead of a new one, for a walk that reads each stat before
 * the next (a new object per entry, with its numbers boxed, was most of a walk's garbage).
 */
export function lstatLite(path: string, throwIfNoEntry: true, into?: LiteStat): LiteStat;
export function lstatLite(path: string, throwIfNoEntry: false, into?: LiteStat): LiteStat | undefined;
export function lstatLite(path: string, throwIfNoEntry: boolean, into?: LiteStat): LiteStat | undefined {
  const binding = raw === undefined ? probe() : raw;
  // A NUL byte is refused by lstatSync's validation; the binding would cut the path there.
  if (binding === null || path.includes("\0")) {
    const st = fromStats(path, throwIfNoEntry);
    return st === undefined || into === undefined ? st : Object.assign(into, st);
  }
  const values = binding(path, false, undefined, throwIfNoEntry);
  return values === undefined ? undefined : fromValues(values as Float64Array, into);
}

/**
 * lstatLite, or undefined for whatever stands in the way, as fs-ops' lstatOrUndefined: for the
 * per-file looks of `--rollback` (is it still ship's file, how many names has it, may it be read, is
 * the saved copy there), four of them per restored file: each lstatSync built a Stats with four Date
 * objects, ~5× the instructions of the call itself, and hot enough for TurboFan to compile Node's
 * Stats code in a 0.1 s command (docs/benchmarks-history.md, round 52: ~2–10 ms of CPU of a 200-file
 * rollback's ~135).
 */
export function lstatLiteOrUndefined(path: string): LiteStat | undefined {
  try {
    return lstatLite(path, false);
  } catch {
    return undefined;
  }
}

/** What a backup's saved.json checks a copy against, as exact as BigIntStats gives it. */
export interface LiteStatNs {
  mode: number;
  size: number;
  ino: bigint;
  mtimeNs: bigint;
  ctimeNs: bigint;
}

type RawBigLstat = (path: string, useBigint: true, req: undefined, throwIfNoEntry: false) => unknown;
let rawBig: RawBigLstat | null | undefined;

/**
 * A bigint lstat as LiteStatNs, or undefined for whatever stands in the way (fs-ops'
 * lstatBigOrUndefined, without its BigIntStats: a bigint per field and four Date objects, for each
 * saved copy a listing or a rollback checks). From the same binding, with Node's own formula
 * (sec * 1e9 + nsec); lstatSync's BigIntStats when the binding does not answer as it does.
 */
export function lstatLiteNsOrUndefined(path: string): LiteStatNs | undefined {
  try {
    const binding = rawBig === undefined ? probeBig() : rawBig;
    if (binding === null || path.includes("\0")) return fromBigStats(path);
    const values = binding(path, true, undefined, false);
    return values === undefined ? undefined : fromBigValues(values as BigInt64Array);
  } catch {
    return undefined;
  }
}

function fromBigStats(path: string): LiteStatNs | undefined {
  const st = lstatSync(path, { bigint: true, throwIfNoEntry: false });
  if (st === undefined) return undefined;
  return {
    mode: Number(st.mode),
    size: Number(st.size),
    ino: st.ino,
    mtimeNs: st.mtimeNs,
    ctimeNs: st.ctimeNs,
  };
}

function fromBigValues(v: BigInt64Array): LiteStatNs {
  return {
    mode: Number(v[MODE]),
    size: Number(v[SIZE]),
    ino: v[INO] as bigint,
    mtimeNs: (v[MTIME_SEC] as bigint) * 1_000_000_000n + (v[MTIME_SEC + 1] as bigint),
    ctimeNs: (v[CTIME_SEC] as bigint) * 1_000_000_000n + (v[CTIME_SEC + 1] as bigint),
  };
}

/** probe's check for the bigint call: the binding must give what lstatSync's BigIntStats gives for "/". */
function probeBig(): RawBigLstat | null {
  rawBig = null;
  const binding = raw === undefined ? probe() : raw;
  if (binding === null) return rawBig;
  try {
    const candidate = binding as unknown as RawBigLstat;
    const expected = fromBigStats("/");
    const values = candidate("/", true, undefined, false);
    if (expected === undefined || !(values instanceof BigInt64Array)) return rawBig;
    const got = fromBigValues(values);
    if ((Object.keys(expected) as (keyof LiteStatNs)[]).every((k) => got[k] === expected[k]))
      rawBig = candidate;
  } catch {
    rawBig = null;
  }
  return rawBig;
}

/** A LiteStat to pass to lstatLite as `into` (its fields start as doubles, as lstatLite writes them). */
export function emptyStat(): LiteStat {
  return { dev: 0.5, mode: 0, ino: 0.5, nlink: 0.5, size: 0.5, mtimeMs: 0.5, ctimeMs: 0.5 };
}

/**
 * `n` as an integer V8 keeps inside the object it is stored in, when it is one (int32): the walks'
 * numbers come out of their reused stat as doubles, and an object built from them holds each as a
 * 16-byte number object of its own. A scan's 20,000 entries live through the whole update, so every
 * young-generation collection copied those boxes one by one. Any other number is given back as it is.
 */
export function inlineInteger(n: number): number {
  const int = n | 0;
  return int === n ? int : n;
}

/** Whether a LiteStat is a directory, a regular file or a symlink (mode's file type). */
export function isDirectoryMode(mode: number): boolean {
  return (mode & S_IFMT) === S_IFDIR;
}
export function isFileMode(mode: number): boolean {
  return (mode & S_IFMT) === S_IFREG;
}
export function isSymlinkMode(mode: number): boolean {
  return (mode & S_IFMT) === S_IFLNK;
}

/** What a special entry (not a file, directory or symlink) is, for a message: "a socket", "a FIFO", "a device". */
export function specialKind(mode: number): string | undefined {
  switch (mode & S_IFMT) {
    case S_IFSOCK:
      return "a socket";
    case S_IFIFO:
      return "a FIFO";
    case S_IFCHR:
    case S_IFBLK:
      return "a device";
    default:
      return undefined;
  }
}

function fromStats(path: string, throwIfNoEntry: boolean): LiteStat | undefined {
  const st = lstatSync(path, { throwIfNoEntry });
  if (st === undefined) return undefined;
  return {
    dev: st.dev,
    mode: st.mode,
    ino: st.ino,
    nlink: st.nlink,
    size: st.size,
    mtimeMs: st.mtimeMs,
    ctimeMs: st.ctimeMs,
  };
}

/** Read at once: the binding fills one shared array on every call. */
function fromValues(v: Float64Array, into: LiteStat | undefined): LiteStat {
  if (into !== undefined) {
    into.dev = v[DEV] as number;
    into.mode = v[MODE] as number;
    into.ino = v[INO] as number;
    into.nlink = v[NLINK] as number;
    into.size = v[SIZE] as number;
    into.mtimeMs = (v[MTIME_SEC] as number) * 1e3 + (v[MTIME_SEC + 1] as number) / 1e6;
    into.ctimeMs = (v[CTIME_SEC] as number) * 1e3 + (v[CTIME_SEC + 1] as number) / 1e6;
    return into;
  }
  return {
    dev: v[DEV] as number,
    mode: v[MODE] as number,
    ino: v[INO] as number,
    nlink: v[NLINK] as number,
    size: v[SIZE] as number,
    // Node's msFromTimeSpec, operation for operation: the same double as Stats.mtimeMs.
    mtimeMs: (v[MTIME_SEC] as number) * 1e3 + (v[MTIME_SEC + 1] as number) / 1e6,
    ctimeMs: (v[CTIME_SEC] as number) * 1e3 + (v[CTIME_SEC + 1] as number) / 1e6,
  };
}

/**
 * Decides once per process whether the binding is usable: it must give what lstatSync gives for
 * "/". Not when process.binding would print its deprecation warning (--pending-deprecation).
 */
function probe(): RawLstat | null {
  raw = null;
  try {
    const proc = process as unknown as { binding?: (name: string) => unknown; permission?: unknown };
    if (proc.permission !== undefined || typeof proc.binding !== "function") return raw;
    const pending = [...process.execArgv, process.env.NODE_OPTIONS ?? ""].some((a) =>
      a.includes("--pending-deprecation"),
    );
    if (pending || process.env.NODE_PENDING_DEPRECATION === "1") return raw;
    const path = "/";
    const fs = proc.binding("fs") as { lstat?: unknown } | undefined;
    if (typeof fs?.lstat !== "function") return raw;
    const candidate = fs.lstat.bind(fs) as RawLstat;
    const expected = fromStats(path, false);
    const values = candidate(path, false, undefined, false);
    if (expected === undefined || !(values instanceof Float64Array)) return raw;
    const got = fromValues(values, undefined);
    const same = (Object.keys(expected) as (keyof LiteStat)[]).every((k) => Object.is(got[k], expected[k]));
    if (same) raw = candidate;
  } catch {
    raw = null;
  }
  return raw;
}

/** Which lstat the walks use (for tests): undefined before the first call. */
export function lstatLiteSource(): "binding" | "lstatSync" | undefined {
  return raw === undefined ? undefined : raw === null ? "lstatSync" : "binding";
}

/** For tests: forget the probe's verdict, or force the lstatSync path. */
export function resetLstatLite(useBinding: boolean | undefined = undefined): void {
  raw = useBinding === false ? null : undefined;
  rawBig = useBinding === false ? null : undefined;
}
