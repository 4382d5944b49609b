/**
 * A full install index in columns (docs/install-index.md): one line of JSON — the index's scalars,
 * then `columns` (the layout's format, the entry count, the paths' byte length and a CRC-32 of what
 * follows), then `dirs` and the other small fields — a newline, and the entries as three blocks:
 * every path in UTF-8, each ended by a NUL; every sha256 as 64 hex characters; NUMBER_FIELDS
 * little-endian float64 per entry (size in bytes, mode bits, mtime in ms, inode, ctime in ms or NaN).
 * The blocks are read in place (IndexFiles): no object per entry, no JSON number parsed.
 *
 * An older ship reads the file as JSON and refuses it as damaged (the text after the line is not
 * JSON); it never reads it as an index without entries.
 */
import { endianness } from "node:os";
import { crc32 } from "node:zlib";
import * as z from "zod";
import { type EntryExtras, type IndexColumns, IndexFiles, NUMBER_FIELDS, numbersOf } from "./index-files.js";
import type { IndexedFile } from "./types.js";

/** The layout's format: a reader refuses a number it does not know rather than guess. */
export const COLUMNS_FORMAT = 1;

const SHA_CHARS = 64;
const NUMBER_BYTES = NUMBER_FIELDS * 8;

/**
 * The `columns` field's schema, built when a full index is first read, not as this module loads:
 * `--list-backups` loads it (through install-index.ts) and reads no full index, only the header's
 * scalars (install-index.ts, like the journal's schemas in journal.ts).
 */
function buildColumnsSchema() {
  return z.object({
    format: z.literal(COLUMNS_FORMAT),
    count: z.number().int().nonnegative(),
    pathBytes: z.number().int().nonnegative(),
    crc32: z.number().int().nonnegative(),
    extras: z.record(
      z.string(),
      z.object({ merged: z.boolean().optional(), installedSha256: z.string().optional() }).strict(),
    ),
  });
}

let builtColumns: ReturnType<typeof buildColumnsSchema> | undefined;
export function columnsSchema(): ReturnType<typeof buildColumnsSchema> {
  builtColumns ??= buildColumnsSchema();
  return builtColumns;
}
export type ColumnsHeader = z.infer<ReturnType<typeof buildColumnsSchema>>;

/** The byte that ends the header line; JSON.stringify never writes one inside it. */
const NEWLINE = 0x0a;

/** Where the header line ends in `bytes`, or -1: not this layout (a JSON index has no newline). */
export function headerEnd(bytes: Buffer): number {
  return bytes.indexOf(NEWLINE);
}

/** The entries' blocks and the `columns` field that describes them, for the header line. */
export function encodeColumns(files: IndexFiles): { header: ColumnsHeader; body: Buffer } {
  const paths: string[] = [];
  const shas: string[] = [];
  const numbers = new Float64Array(files.size * NUMBER_FIELDS);
  const extras: Record<string, EntryExtras> = {};
  let at = 0;
  for (const [rel, entry] of files) {
    paths.push(rel);
    shas.push(entry.sha256);
    numbers.set(numbersOf(entry), at);
    at += NUMBER_FIELDS;
    const extra = extrasOf(entry);
    if (extra !== undefined) extras[rel] = extra;
  }
  const pathBlock = Buffer.from(paths.length === 0 ? "" : `${paths.join("\0")}\0`, "utf8");
  const shaBlock = Buffer.from(shas.join(""), "latin1");
  const numberBlock = Buffer.alloc(numbers.length * 8);
  if (endianness() === "LE") numberBlock.set(new Uint8Array(numbers.buffer));
  else for (let i = 0; i < numbers.length; i++) numberBlock.writeDoubleLE(numbers[i] as number, i * 8);
  const body = Buffer.concat([pathBlock, shaBlock, numberBlock]);
  return {
    header: {
      format: COLUMNS_FORMAT,
      count: paths.length,
      pathBytes: pathBlock.length,
      crc32: crc32(body),
      extras,
    },
    body,
  };
}

function extrasOf(entry: IndexedFile): EntryExtras | undefined {
  if (entry.merged === undefined && entry.installedSha256 === undefined) return undefined;
  return {
    ...(entry.merged === undefined ? {} : { merged: entry.merged }),
    ...(entry.installedSha256 === undefined ? {} : { installedSha256: entry.installedSha256 }),
  };
}

/**
 * The entries of `body` as `header` describes them; a string saying what is wrong when they are
 * not (the caller names the file): torn, changed since it was written, or not written by this layout.
 */
export function decodeColumns(header: ColumnsHeader, body: Buffer): IndexFiles | string {
  const { count, pathBytes } = header;
  const expected = pathBytes + count * (SHA_CHARS + NUMBER_BYTES);
  if (body.length !== expected)
    return `its entries are ${body.length} bytes, not the ${expected} its header says`;
  if (crc32(body) !== header.crc32) return "its entries do not match the checksum its header records";
  const paths = count === 0 ? [] : body.toString("utf8", 0, pathBytes).split("\0");
  // Each path ends in a NUL: count paths, then the empty string after the last NUL.
  if (count > 0 && (paths.length !== count + 1 || paths.pop() !== ""))
    return "its paths are not as many as it says";
  const rows = new Map<string, number>();
  for (let row = 0; row < count; row++) {
    const rel = paths[row] as string;
    if (rel === "" || rows.has(rel)) return `its path #${row + 1} is empty or twice`;
    rows.set(rel, row);
  }
  const sha256 = body.toString("latin1", pathBytes, pathBytes + count * SHA_CHARS);
  const from = pathBytes + count * SHA_CHARS;
  const numbers = new Float64Array(count * NUMBER_FIELDS);
  if (endianness() === "LE") new Uint8Array(numbers.buffer).set(body.subarray(from));
  else for (let i = 0; i < numbers.length; i++) numbers[i] = body.readDoubleLE(from + i * 8);
  const extras = new Map<number, EntryExtras>();
  for (const rel in header.extras) {
    const row = rows.get(rel);
    if (row === undefined) return `its extra fields name ${rel}, which it has no entry for`;
    extras.set(row, header.extras[rel] as EntryExtras);
  }
  return new IndexFiles({ paths, rows, sha256, numbers, extras } satisfies IndexColumns);
}
