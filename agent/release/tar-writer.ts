/**
 * Writes a tar stream whose bytes depend only on the entries given: fixed mtime, uid/gid 0, empty
 * owner names, the modes passed in, no atime/ctime. node-tar's Pack copies what the disk says
 * (modes, order, times), so the headers are encoded here with its Header/Pax classes instead.
 */
import { createReadStream } from "node:fs";
import { readFile, stat } from "node:fs/promises";
import { Header, Pax } from "tar";
import { MANIFEST_FILENAME } from "../../shared/manifest/schema.js";
import type { ProgressCallback } from "../download/progress.js";
import { ReleaseFailedError } from "./errors.js";

const BLOCK = 512;

export type ArchiveEntry =
  | { type: "Directory"; path: string }
  /**
   * `source` is a file to stream, or the bytes themselves (the generated manifest). `listed`: the
   * file's inode and change time when it was listed, to tell a file written in place at the same
   * size while it was packed (a database still open) from one left alone.
   */
  | {
      type: "File";
      path: string;
      source: string | Buffer;
      size: number;
      executable: boolean;
      listed?: { ino: number; ctimeMs: number };
    }
  | { type: "SymbolicLink"; path: string; target: string };

/**
 * A file changed while it was packed (a log still written, a build step rewriting it, a database
 * written in place at the same size): its header already promised the size it had when listed, and
 * its bytes may be half old, half new. Exit 1, as a failed step: nothing is wrong with the input,
 * and a build once the tree is settled works. It was "internal error:" naming the path inside the
 * archive; written in place at the same size it went out torn, exit 0.
 */
export class FileChangedError extends ReleaseFailedError {
  constructor(
    readonly path: string,
    how: string,
  ) {
    super(
      path,
      `${how}; no archive was written: build again once nothing writes into the release directory, or leave the file out (.gitignore, a skip rule in ${MANIFEST_FILENAME}, or --include only what ships)`,
    );
    this.name = "FileChangedError";
  }
}

const resized = (listed: number, grew: boolean): string =>
  `${grew ? "grew" : "shrank"} while it was packed (it had ${listed} bytes when listed)`;

function modeOf(entry: ArchiveEntry): number {
  if (entry.type === "File") return entry.executable ? 0o755 : 0o644;
  return entry.type === "Directory" ? 0o755 : 0o777;
}

function headerBlocks(entry: ArchiveEntry, mtime: Date): Buffer[] {
  const fields = {
    path: entry.type === "Directory" ? `${entry.path}/` : entry.path,
    type: entry.type,
    mode: modeOf(entry),
    uid: 0,
    gid: 0,
    uname: "",
    gname: "",
    size: entry.type === "File" ? entry.size : 0,
    mtime,
    linkpath: entry.type === "SymbolicLink" ? entry.target : "",
  };
  const block = Buffer.alloc(BLOCK);
  const header = new Header(fields);
  header.encode(block);
  if (!header.needPax) return [block];
  // Paths or link targets too long for ustar travel in a PAX header carrying only those fields.
  const pax = new Pax({ path: fields.path, linkpath: fields.linkpath || undefined, mtime });
  return [pax.encode(), block];
}

/** Files up to this size are read whole (one buffer of their size); larger ones stream. */
const WHOLE_READ_MAX = 1 << 20;

async function* fileBody(entry: Extract<ArchiveEntry, { type: "File" }>): AsyncGenerator<Buffer> {
  const { source } = entry;
  // The file on disk, as the operator knows it (the generated manifest is bytes, and cannot change).
  const where = typeof source === "string" ? source : entry.path;
  let written = 0;
  // A stream without an end allocates a full highWaterMark buffer per read: 1 MiB for each of
  // 20,000 small files was most of a release build's time, in garbage collection.
  const chunks =
    typeof source !== "string"
      ? [source]
      : entry.size <= WHOLE_READ_MAX
        ? [await readFile(source)]
        : createReadStream(source, { highWaterMark: WHOLE_READ_MAX, end: entry.size });
  for await (const chunk of chunks) {
    const buf = chunk as Buffer;
    written += buf.length;
    if (written > entry.size) throw new FileChangedError(where, resized(entry.size, true));
    yield buf;
  }
  if (written !== entry.size) throw new FileChangedError(where, resized(entry.size, false));
  // Read whole at its listed size, yet written meanwhile: its bytes may be torn.
  if (typeof source === "string" && entry.listed !== undefined) {
    const now = await stat(source).catch(() => undefined);
    if (now?.ino !== entry.listed.ino || now.ctimeMs !== entry.listed.ctimeMs)
      throw new FileChangedError(
        where,
        "was written to while it was packed, at the same size (in place, or replaced)",
      );
  }
  const pad = (BLOCK - (entry.size % BLOCK)) % BLOCK;
  if (pad > 0) yield Buffer.alloc(pad);
}

/**
 * The tar stream of `entries` in the order given (callers sort them), with bounded memory.
 * `onProgress` is told the file bytes written so far, of all the files' bytes.
 */
export async function* tarStream(
  entries: readonly ArchiveEntry[],
  mtime: Date,
  onProgress?: ProgressCallback,
): AsyncGenerator<Buffer> {
  let total = 0;
  for (const entry of entries) if (entry.type === "File") total += entry.size;
  let done = 0;
  for (const entry of entries) {
    yield* headerBlocks(entry, mtime);
    if (entry.type !== "File") continue;
    let fileDone = 0;
    for await (const chunk of fileBody(entry)) {
      yield chunk;
      // The padding after the file's bytes is not counted.
      const counted = Math.min(chunk.length, entry.size - fileDone);
      fileDone += counted;
      done += counted;
      if (counted > 0) onProgress?.(done, total);
    }
  }
  yield Buffer.alloc(BLOCK * 2);
}
