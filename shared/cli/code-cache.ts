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
 * same length, which is what the header is for. A cache the bundle's owner did not write, or that
 * others may write, is ignored: it holds code that would run. Made after the command ran, so it
 * holds every function that command compiled; written to a temporary file and renamed, never in
 * place; a directory we may not write (a user running a root-installed ship) just means no cache.
 */

import { isAscii } from "node:buffer";
import {
  type BigIntStats,
  closeSync,
  constants,
  fstatSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { createRequire } from "node:module";
import { dirname } from "node:path";
import { Script } from "node:vm";
import { isNotInBundle } from "./not-in-bundle.js";

const MAGIC = "ship-v8-code-cache 1";

export type CacheOutcome = "used" | "written" | "rejected-rewritten" | "unwritable";

export interface CachedModule<T> {
  exports: T;
  /** Set once `settle` ran: whether the cache was used, or (re)written, or could not be written. */
  cache: () => CacheOutcome;
  /** Writes the cache if it was missing or refused; call after the work, so it holds what ran. */
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

/** The cache's data when it was made for exactly this bundle by its owner; undefined otherwise. */
function readCache(cacheFile: string, bundle: BigIntStats): Buffer | undefined {
  let fd: number | undefined;
  try {
    // O_NONBLOCK: a FIFO (or a device) in the cache's place must not block the open forever; it
    // is then refused as not a regular file. For a regular file the flag changes nothing.
    fd = openSync(cacheFile, constants.O_RDONLY | constants.O_NONBLOCK);
    const stat = fstatSync(fd, { bigint: true });
    if (!stat.isFile() || stat.uid !== bundle.uid || (stat.mode & 0o022n) !== 0n) return undefined;
    const data = readFileSync(fd);
    const header = Buffer.from(`${identity(bundle)}\n`);
    if (data.length <= header.length || !data.subarray(0, header.length).equals(header)) return undefined;
    return data.subarray(header.length);
  } catch {
    // Whatever is in the way only costs the cache.
    return undefined;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

function writeCache(cacheFile: string, bundle: BigIntStats, data: Buffer): boolean {
  const tmp = `${cacheFile}.${process.pid}.tmp`;
  try {
    writeFileSync(tmp, Buffer.concat([Buffer.from(`${identity(bundle)}\n`), data]), { mode: 0o644 });
    renameSync(tmp, cacheFile);
    return true;
  } catch {
    rmSync(tmp, { force: true });
    return false;
  }
}

/**
 * Loads `bundleFile` (CommonJS) with the code cache `<bundleFile>.<cacheKey>.v8cache`. One cache per
 * command (`cacheKey`), so each holds what that command compiles and no more.
 */
export function loadWithCodeCache<T>(bundleFile: string, cacheKey: string): CachedModule<T> {
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
  const cacheFile = `${bundleFile}.${cacheKey}.v8cache`;
  const cachedData = readCache(cacheFile, stat);
  const script = new Script(`(function (exports, require, module, __filename, __dirname) {${source}\n})`, {
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
  return {
    exports: module.exports,
    cache: () => outcome,
    settle: () => {
      if (cachedData !== undefined && script.cachedDataRejected !== true) return;
      const written = writeCache(cacheFile, stat, script.createCachedData());
      outcome = !written ? "unwritable" : cachedData === undefined ? "written" : "rejected-rewritten";
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
): Promise<number | undefined> {
  const cli = loadWithCodeCache<{ runCli: (argv: string[]) => Promise<number> }>(bundleFile, cacheKey);
  let code: number;
  try {
    code = await cli.exports.runCli(argv);
  } catch (error) {
    if (isNotInBundle(error)) return undefined;
    throw error;
  }
  cli.settle();
  return code;
}
