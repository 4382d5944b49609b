/**
 * Reading a file the operator named (a manifest, ship.toml, a token, a key) up to a bound.
 * `ship --test-manifest /dev/zero` (or a ship.toml that was a device, a FIFO fed for ever, a log
 * file given by mistake) read until Node gave up ("Invalid string length", or out of memory)
 * minutes later. A pipe (`--test-manifest /dev/stdin`, `<(…)`) still reads, within the bound.
 * A named pipe (mkfifo) does not: its open waited for a writer for ever, so a `ca_file`, a
 * `[trust]` key file, a `checksum` file or a `--config` naming one held the run (and its lock) with
 * no word, SIGTERM unheard while the open held Node's thread pool.
 */
import {
  closeSync,
  constants,
  fstatSync,
  openSync,
  readSync,
  realpathSync,
  type Stats,
  statSync,
} from "node:fs";
import { open } from "node:fs/promises";
import { kindOf, NotAFileError } from "./companion-file.js";
import { sizeText } from "./size-text.js";

/** The most ship reads of one such file: far above any real one (a big known_hosts is a few MB). */
export const NAMED_FILE_MAX_BYTES = 16 * 1024 * 1024;

/** A file past the bound; its message reads after the file's name ("… is larger than 16 MiB …"). */
export class TooLargeError extends Error {
  constructor(limit: number, kind: string | undefined, what: string) {
    const most = `${sizeText(limit)}, the most ship reads of ${what}`;
    super(
      kind === undefined ? `is larger than ${most}` : `is ${kind}, not a file, and gave more than ${most}`,
    );
  }
}

/** A non-regular file's kind in the words an operator knows it by; undefined for a regular file. */
export function nonRegularKind(info: Stats): string | undefined {
  if (info.isFile()) return undefined;
  if (info.isCharacterDevice() || info.isBlockDevice()) return "a device";
  if (info.isFIFO()) return "a pipe";
  if (info.isSocket()) return "a socket";
  return "not a regular file";
}

const CHUNK = 64 * 1024;

/**
 * The file's bytes, at most `limit` of them, else TooLargeError (`what`: "a manifest"). Open and
 * read errors are Node's: the callers put them in words (fsErrorText).
 */
export async function readUpTo(path: string, what: string, limit = NAMED_FILE_MAX_BYTES): Promise<Buffer> {
  const regular = readRegularFileUpTo(path, what, limit);
  if (regular !== undefined) return regular;
  refuseNamedPipe(path);
  const handle = await open(path, "r");
  try {
    const info = await handle.stat();
    const kind = nonRegularKind(info);
    if (kind === undefined && info.size > limit) throw new TooLargeError(limit, kind, what);
    const chunks: Buffer[] = [];
    let total = 0;
    for (;;) {
      const buffer = Buffer.allocUnsafe(Math.min(CHUNK, limit + 1 - total));
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, null);
      if (bytesRead === 0) break;
      chunks.push(buffer.subarray(0, bytesRead));
      total += bytesRead;
      if (total > limit) throw new TooLargeError(limit, kind, what);
    }
    return Buffer.concat(chunks, total);
  } finally {
    await handle.close();
  }
}

/**
 * A regular file's bytes, read synchronously: the open, fstat, reads and close of a ship.toml or a
 * manifest were each a round trip through libuv's thread pool, on every command's start. Undefined
 * for anything else (a pipe, a device, nothing there), which readUpTo reads as before: a FIFO's
 * open waits for its writer, and opening one only to look would hand that writer a reader that then
 * goes away. O_NONBLOCK: should a FIFO take the file's place between the stat and the open, the open
 * does not wait, and the fstat sends it the other way.
 */
function readRegularFileUpTo(path: string, what: string, limit: number): Buffer | undefined {
  let fd: number;
  try {
    if (!statSync(path).isFile()) return undefined;
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch {
    return undefined;
  }
  try {
    const info = fstatSync(fd);
    if (!info.isFile()) return undefined;
    if (info.size > limit) throw new TooLargeError(limit, undefined, what);
    const chunks: Buffer[] = [];
    let total = 0;
    for (;;) {
      const buffer = Buffer.allocUnsafe(Math.min(CHUNK, limit + 1 - total));
      const bytesRead = readSync(fd, buffer, 0, buffer.length, null);
      if (bytesRead === 0) break;
      chunks.push(buffer.subarray(0, bytesRead));
      total += bytesRead;
      if (total > limit) throw new TooLargeError(limit, undefined, what);
    }
    return Buffer.concat(chunks, total);
  } finally {
    closeSync(fd);
  }
}

/**
 * NotAFileError for a named pipe, before anything opens it. An anonymous pipe (`<(…)`, `… | ship
 * --config /dev/stdin`) has its writer already, and its open never waits: it has no path of its own
 * (realpath fails: /proc/self/fd/N links to `pipe:[…]`), and one named through an open descriptor
 * (/dev/stdin, /dev/fd/N, /proc/…/fd/N) was opened by the shell, which waited for its writer then.
 */
function refuseNamedPipe(path: string): void {
  let info: Stats;
  try {
    info = statSync(path);
  } catch {
    return; // the open says what is wrong, in the caller's words
  }
  if (!info.isFIFO() || /^\/(dev\/(fd\/|std)|proc\/)/.test(path)) return;
  try {
    realpathSync.native(path);
  } catch {
    return;
  }
  throw new NotAFileError(kindOf(info));
}
