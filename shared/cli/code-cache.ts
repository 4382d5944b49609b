/**
 * Runs a CommonJS bundle through a V8 code cache kept beside it (issue 11: `ship --rollback` within
 * 2× of `node -e 0`). Node 20 has no code cache for ES modules (module.enableCompileCache came in
 * 22.1), and compiling the bundle's code — zod, commander, ours — is a good third of a quick
 * command; with the cache V8 deserializes what the last run of the same command compiled instead.
 *
 * A cache is used only for the very bundle it was made from: the file name carries the bundle's
 * content hash (the build names it), and the cache's header repeats the bundle's identity (size,
 * inode, device, mtime and ctime in ns: any rewrite changes the ctime) and Node's version and arch.
 * V8 itself refuses data from another V8 or other flags; it would NOT notice another source of the
 * same length, which is what the header is for. Nor does a release V8 check the payload: a few
 * bytes changed in it (a bad block, a stray write) abort Node ("Fatal error … unreachable code",
 * SIGTRAP, or SIGSEGV) on this and every later run, so the header also carries the payload's length
 * and CRC-32, checked before V8 sees a byte; a mismatch is no cache (rewritten). A cache the
 * bundle's owner or the user running it did not write, or that others may write, is ignored: it
 * holds code that would run. Made after the command ran, so it holds every function that command
 * compiled; written to a temporary file and renamed, never in place; a directory we may not write
 * (a user running a root-installed ship) just means no cache.
 *
 * Where: beside the bundle, or in `$CACHE_DIRECTORY` when that is set (systemd sets it from the
 * units' CacheDirectory=). The units run ship as user ship from a package root owns, where no cache
 * could be written: every timer run and daemon start compiled the whole bundle. A cache there is
 * used only by its writer's own processes (its owner must be the user running ship, or the bundle's
 * owner), so user ship can put no code into root's or anyone else's ship; and only a directory that
 * user owns and no one else may write is taken (else the bundle's side, as without it).
 */

import { isAscii } from "node:buffer";
import {
  type BigIntStats,
  closeSync,
  constants,
  fstatSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { createRequire } from "node:module";
import { basename, dirname, isAbsolute, join } from "node:path";
import { Script } from "node:vm";
import { crc32 } from "node:zlib";
import { mapBundleStackTraces } from "./bundle-stack-traces.js";
import { isNotInBundle } from "./not-in-bundle.js";

// 2: the header ends in the payload's length and CRC-32. A version-1 file (no checksum) does not
// match the header, so it is no cache and is rewritten once.
const MAGIC = "ship-v8-code-cache 2";

export type CacheOutcome = "used" | "written" | "rejected-rewritten" | "unwritable" | "bundle-replaced";

export interface CachedModule<T> {
  exports: T;
  /** Set once `settle` ran: whether the cache was used, or (re)written, or could not be written. */
  cache: () => CacheOutcome;
  /**
   * Writes the cache if it was missing or refused; call after the work, so it holds what ran. Once:
   * a later call does nothing. Nothing is written when the bundle at its path is no longer the one
   * that ran (an upgrade replaced it meanwhile).
   */
  settle: () => void;
}

function identity(stat: BigIntStats): string {
  return [
    MAGIC,
    process.version,
    process.arch,
    stat.size,
    stat.ino,
    stat.dev,
    stat.mtimeNs,
    stat.ctimeNs,
  ].join(" ");
}

/**
 * The payload's checksum. zlib's CRC-32 (native; zlib.crc32 is in Node >= 20.15, engines says
 * >= 20.18.1) rather than node:crypto (~4–8 ms of CPU to load, kept off `--rollback`) or a checksum
 * in JS: measured here over 650 KB, loading node:zlib ~1.0 ms plus ~1.3 ms of CRC against ~5 ms for a
 * word-wise FNV-1a loop still running cold in the interpreter. A CRC-32 catches every burst of up to
 * 32 bits and any other damage but one in 2^32; with the length beside it, a truncated or extended
 * file too. Not a defence against a writer on purpose: the owner and mode checks are that.
 */
function payloadSum(payload: Buffer): string {
  return `${payload.length} ${crc32(payload).toString(16).padStart(8, "0")}`;
}

function header(bundle: BigIntStats, payload: Buffer): Buffer {
  return Buffer.from(`${identity(bundle)} ${payloadSum(payload)}\n`);
}

/** What lies in the cache's place: nothing usable, this bundle's cache damaged, or its good payload. */
type CacheRead = { kind: "none" } | { kind: "damaged" } | { kind: "good"; data: Buffer };

/** The users whose caches may run here: the bundle's owner (who could change the bundle itself) and the user running it. */
function trustedOwner(stat: BigIntStats, bundle: BigIntStats): boolean {
  return stat.uid === bundle.uid || stat.uid === BigInt(process.geteuid?.() ?? -1);
}

/**
 * `$CACHE_DIRECTORY` (its first entry: systemd joins several with ':') when it is a directory of
 * the user running ship that no one else may write; otherwise undefined (the cache goes beside the
 * bundle). Checked on every start: a cache directory someone else may write could hold their code.
 */
function cacheDirectory(): string | undefined {
  const dir = process.env.CACHE_DIRECTORY?.split(":")[0];
  if (dir === undefined || !isAbsolute(dir)) return undefined;
  try {
    const stat = statSync(dir, { bigint: true });
    const mine = stat.uid === BigInt(process.geteuid?.() ?? -1);
    return stat.isDirectory() && mine && (stat.mode & 0o022n) === 0n ? dir : undefined;
  } catch {
    return undefined;
  }
}

/** The cache's file: `<bundle>.<key>.v8cache`, beside the bundle or in the cache directory. */
function cachePath(bundleFile: string, cacheKey: string, dir: string | undefined): string {
  const name = `${basename(bundleFile)}.${cacheKey}.v8cache`;
  return dir === undefined ? `${bundleFile}.${cacheKey}.v8cache` : join(dir, name);
}

/**
 * Removes the caches of this command made for other builds of the same bundle (`agent-<hash>.cjs`):
 * an upgrade replaces the package and the caches beside it, never those in the cache directory,
 * which would otherwise gain ~1 MB per command and upgrade.
 */
function pruneOtherBuilds(dir: string, bundleFile: string, cacheKey: string): void {
  const name = basename(bundleFile);
  const family = name.slice(0, name.lastIndexOf("-") + 1);
  const suffix = `.cjs.${cacheKey}.v8cache`;
  if (family === "") return;
  try {
    for (const file of readdirSync(dir))
      if (file.startsWith(family) && file.endsWith(suffix) && file !== `${name}.${cacheKey}.v8cache`)
        rmSync(join(dir, file), { force: true });
  } catch {
    // Only disk space is at stake.
  }
}

/** The cache's data when it was made for exactly this bundle by a trusted owner and is intact. */
function readCache(cacheFile: string, bundle: BigIntStats): CacheRead {
  let fd: number | undefined;
  try {
    // O_NONBLOCK: a FIFO (or a device) in the cache's place must not block the open forever; it
    // is then refused as not a regular file. For a regular file the flag changes nothing.
    fd = openSync(cacheFile, constants.O_RDONLY | constants.O_NONBLOCK);
    const stat = fstatSync(fd, { bigint: true });
    if (!stat.isFile() || !trustedOwner(stat, bundle) || (stat.mode & 0o022n) !== 0n) return { kind: "none" };
    const data = readFileSync(fd);
    const prefix = Buffer.from(`${identity(bundle)} `);
    if (!data.subarray(0, prefix.length).equals(prefix)) return { kind: "none" };
    // This bundle's cache from here on: whatever does not add up is damage.
    const end = data.indexOf(10, prefix.length);
    if (end === -1) return { kind: "damaged" };
    const payload = data.subarray(end + 1);
    const sum = data.subarray(prefix.length, end).toString("latin1");
    return sum === payloadSum(payload) && payload.length > 0
      ? { kind: "good", data: payload }
      : { kind: "damaged" };
  } catch {
    // Whatever is in the way only costs the cache.
    return { kind: "none" };
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

function writeCache(cacheFile: string, bundle: BigIntStats, data: Buffer): boolean {
  const tmp = `${cacheFile}.${process.pid}.tmp`;
  try {
    // "wx": a new file, never through a link someone left at that name.
    writeFileSync(tmp, Buffer.concat([header(bundle, data), data]), { mode: 0o644, flag: "wx" });
    renameSync(tmp, cacheFile);
    return true;
  } catch {
    rmSync(tmp, { force: true });
    return false;
  }
}

/** Whether `bundleFile` is still the file that was loaded (the same identity as the cache's header). */
function sameBundle(bundleFile: string, loaded: BigIntStats): boolean {
  try {
    return identity(statSync(bundleFile, { bigint: true })) === identity(loaded);
  } catch {
    return false;
  }
}

export interface LoadOptions {
  /** Stack traces name the sources of the bundle's linked map (`<bundleFile>.map`). */
  sourceMapped?: boolean;
}

/** What the bundle's text is wrapped in, as Node wraps a CommonJS module. */
const WRAPPER_HEAD = "(function (exports, require, module, __filename, __dirname) {";

/**
 * Loads `bundleFile` (CommonJS) with the code cache `<bundleFile>.<cacheKey>.v8cache`. One cache per
 * command (`cacheKey`), so each holds what that command compiles and no more.
 */
export function loadWithCodeCache<T>(
  bundleFile: string,
  cacheKey: string,
  options: LoadOptions = {},
): CachedModule<T> {
  const fd = openSync(bundleFile, "r");
  let source: string;
  let stat: BigIntStats;
  try {
    stat = fstatSync(fd, { bigint: true });
    // esbuild writes ASCII (non-ASCII characters escaped): read as such, V8 takes the bytes as they
    // are instead of decoding UTF-8 (a few ms of a rollback for a bundle of ~0.5 MB).
    const bytes = readFileSync(fd);
    source = bytes.toString(isAscii(bytes) ? "latin1" : "utf8");
  } finally {
    closeSync(fd);
  }
  const dir = cacheDirectory();
  const cacheFile = cachePath(bundleFile, cacheKey, dir);
  const found = readCache(cacheFile, stat);
  const cachedData = found.kind === "good" ? found.data : undefined;
  if (options.sourceMapped === true) mapBundleStackTraces(bundleFile, WRAPPER_HEAD.length);
  const script = new Script(`${WRAPPER_HEAD}${source}\n})`, {
    filename: bundleFile,
    ...(cachedData === undefined ? {} : { cachedData }),
  });
  const module = { exports: {} as T };
  const wrapper = script.runInThisContext() as (...args: unknown[]) => void;
  wrapper.call(
    module.exports,
    module.exports,
    createRequire(bundleFile),
    module,
    bundleFile,
    dirname(bundleFile),
  );
  let outcome: CacheOutcome = "used";
  let settled = false;
  return {
    exports: module.exports,
    cache: () => outcome,
    settle: () => {
      if (settled) return;
      settled = true;
      if (cachedData !== undefined && script.cachedDataRejected !== true) return;
      // A daemon outlives its bundle: an upgrade that replaced it under a running `ship agent` left
      // a cache named for a build no longer there (in the new package's directory, or in the cache
      // directory, where its prune removed the new build's cache).
      if (!sameBundle(bundleFile, stat)) {
        outcome = "bundle-replaced";
        return;
      }
      const written = writeCache(cacheFile, stat, script.createCachedData());
      if (written && dir !== undefined) pruneOtherBuilds(dir, bundleFile, cacheKey);
      // "rejected-rewritten": this bundle's cache was there but refused, by its checksum or by V8.
      const refused = cachedData !== undefined || found.kind === "damaged";
      outcome = !written ? "unwritable" : refused ? "rejected-rewritten" : "written";
    },
  };
}

/**
 * The bin's quick path: `runCli` of the bundle, then the cache settled. Resolves to the exit code, or
 * to undefined when the command turned out to need a mode the bundle leaves out (not-in-bundle.ts):
 * nothing was done, and the bin runs the whole CLI.
 */
export async function runCachedCli(
  bundleFile: string,
  cacheKey: string,
  argv: string[],
  options: LoadOptions & {
    /** Whether a run that ended with this code writes the cache (default: every run); `cli` is the bundle's exports. */
    settleAfter?: (code: number, cli: Readonly<Record<string, unknown>>) => boolean;
    /**
     * Given the bundle's exports and `settle` before the command runs, for a command that runs for
     * weeks (`ship agent`) to write its cache once it is under way rather than only at its end.
     */
    settleEarly?: (cli: Readonly<Record<string, unknown>>, settle: () => void) => void;
  } = {},
): Promise<number | undefined> {
  const cli = loadWithCodeCache<{ runCli: (argv: string[]) => Promise<number> } & Record<string, unknown>>(
    bundleFile,
    cacheKey,
    options,
  );
  options.settleEarly?.(cli.exports, cli.settle);
  let code: number;
  try {
    code = await cli.exports.runCli(argv);
  } catch (error) {
    if (isNotInBundle(error)) return undefined;
    throw error;
  }
  if (options.settleAfter?.(code, cli.exports) ?? true) cli.settle();
  return code;
}
