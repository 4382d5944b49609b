/**
 * The entries of an install index, by app path: a full index's columns (index-columns.ts) read in
 * place, with the entries set or removed since (a head's changes, an update's finalize) over them.
 * A parsed record of 20,000 entries cost an update ~35 ms of main-thread CPU to build and look up
 * (round 52); the columns are read in ~7 ms and a lookup builds at most the one entry it returns.
 * Map-like on purpose: callers ask `get`/`has`/`sha256Of` and never hold an entry as the index's own
 * (an entry returned is a copy; `set` it to change the index).
 */
import type { IndexedFile } from "./types.js";

/** The numbers stored per file, in this order (index-columns.ts writes them as little-endian float64). */
export const NUMBER_FIELDS = 5;
const SIZE = 0;
const MODE = 1;
const MTIME = 2;
const INO = 3;
/** NaN: the entry has no ctime (an index written before ctimes were kept). */
const CTIME = 4;

/** The optional fields of a few entries (merged configs), kept apart from the columns. */
export type EntryExtras = Pick<IndexedFile, "merged" | "installedSha256">;

/** A full index's entries as stored: row `i` is `paths[i]`, its numbers and its sha256. */
export interface IndexColumns {
  paths: readonly string[];
  rows: ReadonlyMap<string, number>;
  /** 64 lowercase hex characters per row. */
  sha256: string;
  /** NUMBER_FIELDS per row. */
  numbers: Float64Array;
  extras: ReadonlyMap<number, EntryExtras>;
}

/** Marks a path the columns hold as removed since. */
const REMOVED = null;

export class IndexFiles implements Iterable<[string, IndexedFile]> {
  readonly #columns: IndexColumns | undefined;
  readonly #over = new Map<string, IndexedFile | typeof REMOVED>();
  #size: number;

  constructor(columns?: IndexColumns) {
    this.#columns = columns;
    this.#size = columns?.paths.length ?? 0;
  }

  /** An index's entries from a record (the layout before columns, a head's changes, tests). */
  static of(record: Readonly<Record<string, IndexedFile>>): IndexFiles {
    const files = new IndexFiles();
    for (const rel in record) files.set(rel, record[rel] as IndexedFile);
    return files;
  }

  get size(): number {
    return this.#size;
  }

  has(rel: string): boolean {
    const over = this.#over.get(rel);
    if (over !== undefined) return over !== REMOVED;
    return this.#columns?.rows.has(rel) === true;
  }

  /** A copy of the entry of `rel`: changing it changes nothing until it is `set`. */
  get(rel: string): IndexedFile | undefined {
    const over = this.#over.get(rel);
    if (over !== undefined) return over ?? undefined;
    const columns = this.#columns;
    const row = columns?.rows.get(rel);
    return columns === undefined || row === undefined ? undefined : entryAt(columns, row);
  }

  /** The sha256 `rel` was installed with, without building its entry (the source's comparison). */
  sha256Of(rel: string): string | undefined {
    const over = this.#over.get(rel);
    if (over !== undefined) return over?.sha256;
    const row = this.#columns?.rows.get(rel);
    return row === undefined ? undefined : shaAt(this.#columns as IndexColumns, row);
  }

  set(rel: string, entry: IndexedFile): void {
    if (!this.has(rel)) this.#size++;
    this.#over.set(rel, entry);
  }

  delete(rel: string): boolean {
    if (!this.has(rel)) return false;
    this.#size--;
    if (this.#columns?.rows.has(rel) === true) this.#over.set(rel, REMOVED);
    else this.#over.delete(rel);
    return true;
  }

  *keys(): IterableIterator<string> {
    for (const [rel] of this.#rows()) yield rel;
    for (const [rel, entry] of this.#over) if (entry !== REMOVED) yield rel;
  }

  *[Symbol.iterator](): IterableIterator<[string, IndexedFile]> {
    const columns = this.#columns;
    if (columns !== undefined) for (const [rel, row] of this.#rows()) yield [rel, entryAt(columns, row)];
    for (const [rel, entry] of this.#over) if (entry !== REMOVED) yield [rel, entry];
  }

  /**
   * The entries as one object, as the index kept them before columns: what JSON.stringify writes,
   * so an index or a backup record serialized whole never loses its entries silently.
   */
  toJSON(): Record<string, IndexedFile> {
    return Object.fromEntries(this);
  }

  /** The entries of merged files (the few with a base copy), without a pass over every entry. */
  *merged(): IterableIterator<[string, IndexedFile]> {
    const columns = this.#columns;
    if (columns !== undefined)
      for (const [row, extras] of columns.extras) {
        const rel = columns.paths[row] as string;
        if (extras.merged === true && !this.#over.has(rel)) yield [rel, entryAt(columns, row)];
      }
    for (const [rel, entry] of this.#over) if (entry?.merged === true) yield [rel, entry];
  }

  /** The rows of the columns not set or removed since, with their paths. */
  *#rows(): IterableIterator<[string, number]> {
    const columns = this.#columns;
    if (columns === undefined) return;
    const over = this.#over;
    const { paths } = columns;
    for (let row = 0; row < paths.length; row++) {
      const rel = paths[row] as string;
      if (over.size === 0 || !over.has(rel)) yield [rel, row];
    }
  }

  /**
   * Marks unverified (ctimeMs `unverified`) every entry `vouches` refuses, in place: the racy rule
   * applied as the index is read (install-index.ts). Rows are judged on their numbers, no entry built.
   */
  unverifyUnless(
    vouches: (mtimeMs: number, ctimeMs: number | undefined) => boolean,
    unverified: number,
  ): void {
    const columns = this.#columns;
    if (columns !== undefined) {
      const { numbers } = columns;
      for (let at = 0; at < numbers.length; at += NUMBER_FIELDS) {
        const ctime = numbers[at + CTIME] as number;
        if (!vouches(numbers[at + MTIME] as number, Number.isNaN(ctime) ? undefined : ctime))
          numbers[at + CTIME] = unverified;
      }
    }
    for (const entry of this.#over.values())
      if (entry !== REMOVED && !vouches(entry.mtimeMs, entry.ctimeMs)) entry.ctimeMs = unverified;
  }
}

function shaAt(columns: IndexColumns, row: number): string {
  return columns.sha256.slice(row * 64, row * 64 + 64);
}

function entryAt(columns: IndexColumns, row: number): IndexedFile {
  const { numbers } = columns;
  const at = row * NUMBER_FIELDS;
  const ctimeMs = numbers[at + CTIME] as number;
  const entry: IndexedFile = {
    sha256: shaAt(columns, row),
    size: numbers[at + SIZE] as number,
    mode: numbers[at + MODE] as number,
    mtimeMs: numbers[at + MTIME] as number,
    ino: numbers[at + INO] as number,
  };
  if (!Number.isNaN(ctimeMs)) entry.ctimeMs = ctimeMs;
  const extras = columns.extras.get(row);
  if (extras !== undefined) Object.assign(entry, extras);
  return entry;
}

/** The numbers of `entry` as a row stores them. */
export function numbersOf(entry: IndexedFile): [number, number, number, number, number] {
  return [entry.size, entry.mode, entry.mtimeMs, entry.ino, entry.ctimeMs ?? Number.NaN];
}
