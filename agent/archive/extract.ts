/**
 * Safe extraction of release archives (.tar.gz, .tgz, .tar) into a fresh staging directory.
 * Streams with bounded memory; on any refusal or error the staging directory is left empty,
 * and only after every write in flight has finished.
 *
 * Given what the app holds (install index + stat), files whose bytes the app already has are left
 * out of staging: the archive is still read whole and every entry checked and hashed, but an update
 * writes only what changed. The result then lists the whole release, and `materialize` writes any
 * left-out file on demand (a second pass over the archive, each file checked against its hash).
 */
import { createReadStream } from "node:fs";
import { mkdtemp, readdir, rename, rm } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { Readable, Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { createGunzip } from "node:zlib";
import { Parser, type ReadEntry } from "tar";
import { ReleaseChangedError, ShipError, VerificationError } from "../../shared/errors.js";
import { makeDirs } from "../../shared/make-dirs.js";
import { MANIFEST_FILENAME } from "../../shared/manifest/schema.js";
import { countedReadStream } from "../download/counted-read.js";
import type { ProgressCallback } from "../download/progress.js";
import type { AppHolds } from "../sources/app-holds.js";
import type { ReleaseListing } from "../sources/types.js";
import { describeRelease } from "../tree/release-tree.js";
import { ArchiveFormatError } from "./archive-format-error.js";
import { HeldFiles, type LeftOut } from "./held-files.js";
import { type ExtractLimits, resolveLimits } from "./limits.js";
import { exactEntryMtime, type PaxMtime, paxMtimeOf } from "./pax-mtime.js";
import { stripSingleTopDir } from "./strip-top-dir.js";
import { symlinkEscape } from "./symlink-landing.js";
import { TreeWriter } from "./tree-writer.js";
import { ignoredEntryError, type SparseHeader, sparseEntryError, sparseHeaderOf } from "./unread-entries.js";

export type { ExtractLimits } from "./limits.js";

/** Read and inflate in large chunks: per-chunk overhead (callbacks, parser slices, GC) dominates at 16 KiB. */
const READ_CHUNK_BYTES = 256 * 1024;

export interface ExtractOptions extends ExtractLimits {
  /** Files keep the archive's mtimes (a source's keep_mtimes); by default they get the time of writing. */
  keepMtimes?: boolean;
  /** What the app holds byte for byte: such files are left out of `destDir` (see the module comment). */
  appHolds?: AppHolds;
  /**
   * Told the bytes of an archive given by path read so far, and its size (a StreamedArchive's
   * caller counts its own body). A 500 MB archive takes tens of seconds on a small host.
   */
  onProgress?: ProgressCallback;
}

export interface ExtractResult {
  /** Regular files of the release (hard links included), written or left out. */
  files: number;
  /** Bytes of file content, written or left out. */
  bytes: number;
  /** Regular files left out because the app holds them (0 without `appHolds`). */
  leftOut: number;
  /** The whole release, when files were left out (then `destDir` holds only part of it). */
  listing?: ReleaseListing;
  /** Writes left-out files (release paths) into `destDir`, each checked against the listing. */
  materialize?: (rels: readonly string[]) => Promise<void>;
  /**
   * sha256 of every regular file (hard links included) by path relative to the final release root
   * (after the top-directory strip), hashed as it streamed to disk. Symlinks are left out.
   */
  hashes: Map<string, string>;
}

/**
 * An archive extracted while it is still arriving (a download): the first pass reads `body`, so
 * nothing waits for the whole file to land and nothing reads it back. Second passes (left-out
 * files needed after all) read the complete file `complete()` names once it is there.
 */
export interface StreamedArchive {
  /** The archive's bytes in order, as they arrive; destroyed with an error if the transfer fails. */
  body: Readable;
  /** Names the archive in errors. */
  label: string;
  /**
   * Called once the body has been read to its end: resolves with the path of the complete archive
   * once its bytes are verified, or rejects (the extraction then fails and `destDir` is emptied).
   */
  complete: () => Promise<string>;
}

/**
 * Extract `archive` (a path, or a StreamedArchive) into `destDir` (created if missing, refused
 * unless empty). A single top-level directory holding update-manifest.yaml is stripped so the
 * manifest lands at the root. Hostile or corrupt archives throw VerificationError (exit 2) and
 * leave `destDir` empty.
 */
export async function extractArchive(
  archive: string | StreamedArchive,
  destDir: string,
  options?: ExtractOptions,
): Promise<ExtractResult> {
  const created = (await makeDirs(destDir)) !== undefined;
  if (!created && (await readdir(destDir)).length > 0) {
    throw new Error(`staging directory ${destDir} is not empty`);
  }
  const held = options?.appHolds === undefined ? undefined : new HeldFiles(options.appHolds);
  const first: ArchiveInput =
    typeof archive === "string"
      ? { label: basename(archive), open: () => readArchive(archive, options?.onProgress) }
      : { label: archive.label, open: () => archive.body };
  const run = new ExtractionRun(first, destDir, options, { held });
  try {
    await run.unpack();
    const archivePath = typeof archive === "string" ? archive : await archive.complete();
    if (held !== undefined && held.owed.size > 0) {
      const owed = new Map([...held.owed].map(([path, sha256]) => [path, { to: path, sha256 }]));
      await writeFromArchive(archivePath, destDir, owed, options, held.links);
    }
    await run.checkSymlinks();
    const place = run.writer.manifestPlace.verdict();
    if (!place.ok) throw new VerificationError(run.label, place.reason);
    const stripped = place.top === undefined ? undefined : await stripSingleTopDir(destDir);
    const hashes = stripped === undefined ? run.writer.hashes : underTopDir(run.writer.hashes, stripped);
    const { files, bytes } = run.writer;
    if (held !== undefined)
      for (const path of held.owed.keys()) hashes.set(releasePath(path, stripped), held.owed.get(path) ?? "");
    const leftOut =
      held === undefined
        ? new Map<string, LeftOut & { path: string }>()
        : await settleLeftOut(archivePath, destDir, held, stripped, hashes, options);
    if (held === undefined || leftOut.size === 0) return { files, bytes, hashes, leftOut: 0 };
    const listing = await listingOf(destDir, hashes, leftOut);
    const materialize = async (rels: readonly string[]) => {
      const moves = new Map<string, { to: string; sha256: string }>();
      for (const rel of rels) {
        // A staged file that went missing since (the planner removes a staged path of the wrong
        // type) is written again from the archive as well: the listing knows its hash.
        const file = leftOut.get(rel);
        const entry = listing.files.get(rel);
        const sha256 = file?.sha256 ?? (entry?.type === "file" ? entry.sha256 : undefined);
        if (sha256 === undefined)
          throw new Error(`${rel} is not a regular file of the release in ${destDir}`);
        moves.set(file?.path ?? (stripped === undefined ? rel : `${stripped}/${rel}`), { to: rel, sha256 });
      }
      await writeFromArchive(archivePath, destDir, moves, options, held.links);
      for (const rel of rels) leftOut.delete(rel);
    };
    return { files, bytes, hashes, leftOut: leftOut.size, listing, materialize };
  } catch (err) {
    await run.drained();
    await clearDir(destDir, created);
    throw err;
  }
}

/** Where an archive path lands once the top directory `stripped` (if any) was stripped. */
function releasePath(path: string, stripped: string | undefined): string {
  return stripped === undefined ? path : path.slice(stripped.length + 1);
}

/**
 * The left-out files by release path. A file judged under a top-directory guess the end proved
 * wrong is judged again at its real path, and written now unless the app holds it there too.
 */
async function settleLeftOut(
  archivePath: string,
  destDir: string,
  held: HeldFiles,
  stripped: string | undefined,
  hashes: Map<string, string>,
  options: ExtractOptions | undefined,
): Promise<Map<string, LeftOut & { path: string }>> {
  const leftOut = new Map<string, LeftOut & { path: string }>();
  const rewrite = new Map<string, { to: string; sha256: string }>();
  for (const [path, file] of held.leftOut) {
    const rel = releasePath(path, stripped);
    if (rel === file.rel || held.holds(rel, file.sha256)) leftOut.set(rel, { ...file, rel, path });
    else rewrite.set(path, { to: rel, sha256: file.sha256 });
  }
  if (rewrite.size > 0) {
    await writeFromArchive(archivePath, destDir, rewrite, options, held.links);
    for (const { to, sha256 } of rewrite.values()) hashes.set(to, sha256);
  }
  return leftOut;
}

/** The whole release: what is staged (scanned, hashes known) plus the files left out. */
async function listingOf(
  destDir: string,
  hashes: ReadonlyMap<string, string>,
  leftOut: ReadonlyMap<string, LeftOut>,
): Promise<ReleaseListing> {
  const staged = await describeRelease(destDir, { knownHashes: hashes, exclude: [] });
  const files = staged.files;
  for (const [rel, file] of leftOut) {
    files.set(rel, { type: "file", sha256: file.sha256, size: file.size, mode: file.mode });
  }
  return { files, dirs: staged.dirs ?? new Map() };
}

/**
 * A second pass over the archive writing only `moves` (archive path → where it goes under
 * `destDir`, and the sha256 it must have), with the targets of any hard links among them. Written
 * into a sibling directory first, then renamed into place; nothing is placed unless it hashes as
 * expected (the archive may have changed since the first pass).
 */
async function writeFromArchive(
  archivePath: string,
  destDir: string,
  moves: ReadonlyMap<string, { to: string; sha256: string }>,
  options: ExtractOptions | undefined,
  links: ReadonlyMap<string, string>,
): Promise<void> {
  const only = new Set(moves.keys());
  for (const path of only) {
    const target = links.get(path);
    if (target !== undefined) only.add(target);
  }
  const tmp = await mkdtemp(`${destDir}.more-`);
  const input = { label: basename(archivePath), open: () => readArchive(archivePath) };
  const run = new ExtractionRun(input, tmp, options, { only });
  try {
    // The first pass read this archive whole and accepted every entry, so a refusal now (or a file
    // that is gone) means its bytes changed since: a local archive replaced while the run went on.
    // Not bad input (exit 2) but a release that moved under the run (exit 1), as a local directory's is.
    await run.unpack().catch((err: unknown) => {
      throw err instanceof VerificationError
        ? new ReleaseChangedError(
            archivePath,
            `changed since this run first read it (${err.message}); the next run tries again`,
          )
        : err;
    });
    for (const [path, { to, sha256 }] of moves) {
      if (run.writer.hashes.get(path) !== sha256) {
        throw new ReleaseChangedError(
          `${basename(archivePath)}: entry ${JSON.stringify(path)}`,
          "is not what it was when the archive was first read; the next run tries again",
        );
      }
      await makeDirs(dirname(join(destDir, to)));
      await rename(join(tmp, path), join(destDir, to));
    }
  } finally {
    await run.drained();
    await rm(tmp, { recursive: true, force: true });
  }
}

/** Where a pass reads the archive from, and the name errors give it. */
interface ArchiveInput {
  label: string;
  open: () => Readable;
}

function readArchive(path: string, onProgress?: ProgressCallback): Readable {
  return onProgress === undefined
    ? createReadStream(path, { highWaterMark: READ_CHUNK_BYTES })
    : countedReadStream(path, onProgress, READ_CHUNK_BYTES);
}

class ExtractionRun {
  readonly writer: TreeWriter;
  private readonly abort = new AbortController();
  private chain: Promise<void> = Promise.resolve();
  private packed = 0;
  readonly label: string;
  private readonly keepMtimes: boolean;

  constructor(
    private readonly input: ArchiveInput,
    private readonly root: string,
    options: ExtractOptions = {},
    pass: { held?: HeldFiles | undefined; only?: ReadonlySet<string> } = {},
  ) {
    this.label = input.label;
    const { keepMtimes, appHolds: _, ...limits } = options;
    this.keepMtimes = keepMtimes === true;
    this.writer = new TreeWriter(
      root,
      resolveLimits(limits),
      this.label,
      () => this.packed,
      this.abort.signal,
      {
        keepMtimes: keepMtimes === true,
        ...(pass.held === undefined ? {} : { held: pass.held }),
        ...(pass.only === undefined ? {} : { only: pass.only }),
      },
    );
  }

  async unpack(): Promise<void> {
    const source = this.input.open();
    const { gzipped, looksLike, input } = await sniffGzip(source).catch((err: Error) => {
      source.destroy();
      throw asArchiveError(this.label, err);
    });
    return new Promise<void>((resolve, reject) => {
      const signal = this.abort.signal;
      // We decompress ourselves rather than letting the parser do it: its inflater ignores
      // backpressure, so a bomb would pile up in memory before any ratio check could run.
      const parser = new Parser({ strict: true, zstd: false, brotli: false });
      const fail = (err: unknown) => {
        if (signal.aborted) return;
        this.abort.abort(err);
        input.destroy();
        source.destroy();
        reject(err);
      };
      // The extended header read last (its text comes just before its entry): the exact time
      // keep_mtimes gives the entry, where node-tar's Date holds milliseconds.
      let header: PaxMtime | undefined;
      // Sparse records in the header read last: its entry's bytes are not the file (unread-entries.ts).
      let sparse: SparseHeader | undefined;
      parser.on("meta", (text: string) => {
        if (this.keepMtimes) header = paxMtimeOf(text) ?? header;
        sparse = sparseHeaderOf(text) ?? sparse;
      });
      const refuse = (entry: ReadEntry, error: Error) => {
        entry.resume();
        this.chain = this.chain.then(() => Promise.reject(error)).catch(fail);
      };
      parser.on("ignoredEntry", (entry: ReadEntry) => {
        const error = ignoredEntryError(this.label, entry);
        if (error !== undefined) refuse(entry, error);
      });
      parser.on("entry", (entry: ReadEntry) => {
        const mtimeNs = exactEntryMtime(header, entry.mtime);
        const sparseHeader = sparse;
        header = undefined;
        sparse = undefined;
        if (sparseHeader !== undefined)
          return refuse(entry, sparseEntryError(this.label, entry, sparseHeader));
        // Entries are written strictly in order: a symlink must exist before we judge what follows it.
        this.chain = this.chain
          .then(() => (signal.aborted ? void entry.resume() : this.writer.write(entry, mtimeNs)))
          .catch(fail);
      });
      const sink = parserSink(parser, this.label);
      // The bytes' kind as tar read them: all zeros is a tar archive with no entry at all.
      const kind = () => looksLike ?? (sink.onlyZeros ? "no entries" : undefined);
      parser.on("error", (err: Error) => fail(asArchiveError(this.label, err, kind())));
      parser.on("end", () => {
        void this.chain.then(async () => {
          if (signal.aborted) return;
          // Small files may still be being written: the extraction ends when they have landed.
          await this.writer
            .settle()
            .then(() => this.writer.finishTimes())
            .then(() => {
              if (!signal.aborted) resolve();
            }, fail);
        });
      });
      input.on("data", (chunk: Buffer | string) => {
        this.packed += chunk.length;
      });
      const stages = gzipped
        ? pipeline(input, createGunzip({ chunkSize: READ_CHUNK_BYTES }), sink.stream)
        : pipeline(input, sink.stream);
      stages.catch((err: Error) => fail(asArchiveError(this.label, err, kind())));
    });
  }

  /** Every write of this run has finished (or failed); safe to delete what it made. */
  drained(): Promise<void> {
    return this.chain.then(() => this.writer.drained());
  }

  async checkSymlinks(): Promise<void> {
    for (const [name, parts] of this.writer.symlinks) {
      const why = await symlinkEscape(this.root, parts);
      if (why !== undefined) {
        throw new VerificationError(`${this.label}: entry ${JSON.stringify(name)}`, `symlink ${why}`);
      }
    }
  }
}

/**
 * A writable end for the tar parser that honours its backpressure, and whether every byte it was
 * given so far was zero (what `tar -cf x.tar -T /dev/null` writes: tar's end blocks and nothing else).
 */
function parserSink(parser: Parser, label: string): { stream: Writable; readonly onlyZeros: boolean } {
  let first = true;
  let zeros = 0;
  let onlyZeros = true;
  const stream = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      // A real archive's first byte (a name's) is not zero: this looks at one byte of it.
      if (onlyZeros) {
        onlyZeros = !chunk.some((byte) => byte !== 0);
        zeros += chunk.length;
      }
      if (first && chunk[0] === 0x1f && chunk[1] === 0x8b) {
        // The parser would silently inflate a second layer we do not measure.
        return callback(new ArchiveFormatError(label, "nested compression is not supported"));
      }
      first = false;
      if (parser.write(chunk)) callback();
      else parser.once("drain", () => callback());
    },
    final(callback) {
      parser.end();
      callback();
    },
  });
  return {
    stream,
    get onlyZeros() {
      return onlyZeros && zeros > 0;
    },
  };
}

/** The hashes of the files under `top/`, keyed as they are once `top` was stripped. */
function underTopDir(hashes: ReadonlyMap<string, string>, top: string): Map<string, string> {
  const prefix = `${top}/`;
  const rebased = new Map<string, string>();
  for (const [rel, sha256] of hashes) {
    if (rel.startsWith(prefix)) rebased.set(rel.slice(prefix.length), sha256);
  }
  return rebased;
}

/**
 * Whether `source` starts with gzip's magic number, and a stream of all its bytes (the ones read
 * to find out included). Works the same for a file and for a download still arriving.
 */
async function sniffGzip(
  source: Readable,
): Promise<{ gzipped: boolean; looksLike: string | undefined; input: Readable }> {
  const chunks = source[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  const seen: Buffer[] = [];
  let length = 0;
  while (length < 2) {
    const next = await chunks.next();
    if (next.done === true) break;
    seen.push(next.value);
    length += next.value.length;
  }
  const head = Buffer.concat(seen);
  async function* all(): AsyncGenerator<Buffer> {
    try {
      if (head.length > 0) yield head;
      for (let next = await chunks.next(); next.done !== true; next = await chunks.next()) yield next.value;
    } finally {
      // Destroys `source` when the extraction stops early.
      await chunks.return?.();
    }
  }
  return {
    gzipped: head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b,
    looksLike: notTarKind(head),
    input: Readable.from(all(), { objectMode: false, highWaterMark: READ_CHUNK_BYTES }),
  };
}

/** Formats an operator may hand ship instead of a tar archive, by their magic bytes (each format's spec). */
const OTHER_FORMATS: [magic: number[], what: string][] = [
  [[0x50, 0x4b, 0x03, 0x04], "a zip archive"],
  [[0x50, 0x4b, 0x05, 0x06], "an empty zip archive"],
  [[0x42, 0x5a, 0x68], "bzip2-compressed (.bz2)"],
  [[0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00], "xz-compressed (.xz)"],
  [[0x28, 0xb5, 0x2f, 0xfd], "zstd-compressed (.zst)"],
  [[0x37, 0x7a, 0xbc, 0xaf, 0x27, 0x1c], "a 7z archive"],
];

/** What the first bytes say the file is when it is surely not a (gzipped) tar; undefined otherwise. */
function notTarKind(head: Buffer): string | undefined {
  // tar's own word for 0 bytes is "Unrecognized archive format", as for garbage.
  if (head.length === 0) return "empty";
  if (/^(\uFEFF)?\s*<(!doctype|html|\?xml|head|body)\b/i.test(head.subarray(0, 512).toString("utf8")))
    return "page";
  return OTHER_FORMATS.find(([magic]) => magic.every((byte, i) => head[i] === byte))?.[1];
}

/**
 * tar's "TAR_BAD_ARCHIVE: Unrecognized archive format" without its code. What the file is instead,
 * when its first bytes say so, is named with what ship reads: an HTML or XML page (a login, error
 * or directory-listing page a server answered 200 with), a zip, a bzip2/xz/zstd-compressed tar:
 * "unrecognized archive format" alone sent operators looking for a damaged archive.
 */
function asArchiveError(label: string, err: Error, looksLike?: string): ShipError {
  if (err instanceof ShipError) return err;
  // tar read it as an archive, of its end blocks alone: nothing is damaged, nothing was packed.
  if (looksLike === "no entries")
    return new ArchiveFormatError(
      label,
      `is an empty tar archive: no entries at all, not even ${MANIFEST_FILENAME} (packed from an empty directory or file list?)`,
    );
  const said = err.message.replace(/^TAR_[A-Z_]+: /, "");
  const why =
    looksLike === undefined
      ? said
      : looksLike === "page"
        ? "it is an HTML or XML page (a login, error or listing page?), not an archive"
        : looksLike === "empty"
          ? "it is empty (0 bytes): an upload or copy that wrote nothing?"
          : `it is ${looksLike}; ship reads tar archives, gzip-compressed or not (.tar.gz, .tgz, .tar): repack it with tar -czf`;
  return new ArchiveFormatError(label, `not a valid tar archive: ${why}`);
}

async function clearDir(dir: string, created: boolean): Promise<void> {
  if (created) {
    await rm(dir, { recursive: true, force: true });
    return;
  }
  for (const name of await readdir(dir)) {
    await rm(join(dir, name), { recursive: true, force: true });
  }
}
