/**
 * Safe extraction of release archives (.tar.gz, .tgz, .tar) into a fresh staging directory.
 * Streams with bounded memory; on any refusal or error the staging directory is left empty,
 * and only after every write in flight has finished.
 */
import { createReadStream } from "node:fs";
import { mkdir, open, readdir, rm } from "node:fs/promises";
import { basename, join } from "node:path";
import { Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { createGunzip } from "node:zlib";
import { Parser, type ReadEntry } from "tar";
import { ShipError, VerificationError } from "../../shared/errors.js";
import { type ExtractLimits, resolveLimits } from "./limits.js";
import { stripSingleTopDir } from "./strip-top-dir.js";
import { symlinkEscape } from "./symlink-landing.js";
import { TreeWriter } from "./tree-writer.js";

export type { ExtractLimits } from "./limits.js";

export interface ExtractOptions extends ExtractLimits {
  /** Files keep the archive's mtimes (a source's keep_mtimes); by default they get the time of writing. */
  keepMtimes?: boolean;
}

export interface ExtractResult {
  /** Regular files written (hard links included). */
  files: number;
  /** Bytes of file content written. */
  bytes: number;
  /**
   * sha256 of every regular file (hard links included) by path relative to the final release root
   * (after the top-directory strip), hashed as it streamed to disk. Symlinks are left out.
   */
  hashes: Map<string, string>;
}

/**
 * Extract `archivePath` into `destDir` (created if missing, refused unless empty). A single
 * top-level directory holding update-manifest.yaml is stripped so the manifest lands at the root.
 * Hostile or corrupt archives throw VerificationError (exit 2) and leave `destDir` empty.
 */
export async function extractArchive(
  archivePath: string,
  destDir: string,
  options?: ExtractOptions,
): Promise<ExtractResult> {
  const created = (await mkdir(destDir, { recursive: true })) !== undefined;
  if (!created && (await readdir(destDir)).length > 0) {
    throw new Error(`staging directory ${destDir} is not empty`);
  }
  const run = new ExtractionRun(archivePath, destDir, options);
  try {
    await run.unpack();
    await run.checkSymlinks();
    const stripped = await stripSingleTopDir(destDir);
    const hashes = stripped === undefined ? run.writer.hashes : underTopDir(run.writer.hashes, stripped);
    return { files: run.writer.files, bytes: run.writer.bytes, hashes };
  } catch (err) {
    await run.drained();
    await clearDir(destDir, created);
    throw err;
  }
}

class ExtractionRun {
  readonly writer: TreeWriter;
  private readonly abort = new AbortController();
  private chain: Promise<void> = Promise.resolve();
  private packed = 0;
  private readonly label: string;

  constructor(
    private readonly archivePath: string,
    private readonly root: string,
    options: ExtractOptions = {},
  ) {
    this.label = basename(archivePath);
    const { keepMtimes, ...limits } = options;
    this.writer = new TreeWriter(
      root,
      resolveLimits(limits),
      this.label,
      () => this.packed,
      this.abort.signal,
      keepMtimes,
    );
  }

  async unpack(): Promise<void> {
    const gzipped = await startsWithGzipMagic(this.archivePath);
    return new Promise<void>((resolve, reject) => {
      const signal = this.abort.signal;
      const input = createReadStream(this.archivePath);
      // We decompress ourselves rather than letting the parser do it: its inflater ignores
      // backpressure, so a bomb would pile up in memory before any ratio check could run.
      const parser = new Parser({ strict: true, zstd: false, brotli: false });
      const fail = (err: unknown) => {
        if (signal.aborted) return;
        this.abort.abort(err);
        input.destroy();
        reject(err);
      };
      parser.on("entry", (entry: ReadEntry) => {
        // Entries are written strictly in order: a symlink must exist before we judge what follows it.
        this.chain = this.chain
          .then(() => (signal.aborted ? void entry.resume() : this.writer.write(entry)))
          .catch(fail);
      });
      parser.on("error", (err: Error) => fail(asArchiveError(this.label, err)));
      parser.on("end", () => {
        void this.chain.then(() => {
          if (!signal.aborted) resolve();
        });
      });
      input.on("data", (chunk: Buffer | string) => {
        this.packed += chunk.length;
      });
      const sink = parserSink(parser, this.label);
      const stages = gzipped ? pipeline(input, createGunzip(), sink) : pipeline(input, sink);
      stages.catch((err: Error) => fail(asArchiveError(this.label, err)));
    });
  }

  /** Every write of this run has finished (or failed); safe to delete what it made. */
  drained(): Promise<void> {
    return this.chain;
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

/** A writable end for the tar parser that honours its backpressure. */
function parserSink(parser: Parser, label: string): Writable {
  let first = true;
  return new Writable({
    write(chunk: Buffer, _encoding, callback) {
      if (first && chunk[0] === 0x1f && chunk[1] === 0x8b) {
        // The parser would silently inflate a second layer we do not measure.
        return callback(new VerificationError(label, "nested compression is not supported"));
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

async function startsWithGzipMagic(path: string): Promise<boolean> {
  const fh = await open(path, "r");
  try {
    const { buffer, bytesRead } = await fh.read(Buffer.alloc(2), 0, 2, 0);
    return bytesRead === 2 && buffer[0] === 0x1f && buffer[1] === 0x8b;
  } finally {
    await fh.close();
  }
}

function asArchiveError(label: string, err: Error): ShipError {
  if (err instanceof ShipError) return err;
  return new VerificationError(label, `not a valid tar archive: ${err.message}`);
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
