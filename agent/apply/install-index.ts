/**
 * The install index (<stateDir>/install-index.json): what the current release installed, with the
 * stat of each file right after install, so the next plan trusts a matching stat instead of hashing.
 */
import { closeSync, readSync, statSync } from "node:fs";
import { rm } from "node:fs/promises";
import { join } from "node:path";
import * as z from "zod";
import {
  damagedRecord,
  openRecordSync,
  parseRecord,
  readRecordBytesSync,
  readRecordText,
  recordReadError,
} from "../state/record-file.js";
import { stampOf } from "../tree/file-stamp.js";
import { ownerOnlyDir, writeFileAtomic } from "../tree/fs-ops.js";
import { isRacy, stillVouches } from "../tree/racy-rule.js";
import type { IndexedFile, InstallIndex } from "./types.js";

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

// `files` is checked by hand below: zod walking a 20,000-key record costs ~100x more than a loop.
const IndexHeaderSchema = z.object({
  version: z.string(),
  releaseId: z.string().optional(),
  source: z.string().optional(),
  installedAt: z.string(),
  statAtMs: z.number().optional(),
  files: z.custom<Record<string, unknown>>(isPlainObject, "must be an object"),
  dirs: z.array(z.string()),
  dirModes: z.custom<Record<string, number>>(isModeRecord, "must map directories to modes").optional(),
  linked: z.record(z.string(), z.string()).optional(),
  unusedSections: z.record(z.string(), z.array(z.string())).optional(),
});

/** A loop, not z.record: the index is read on every update (see isIndexedFile). */
function isModeRecord(value: unknown): boolean {
  if (!isPlainObject(value)) return false;
  for (const rel in value) if (typeof value[rel] !== "number") return false;
  return true;
}

/**
 * Validates one file entry by hand: a zod parse of a 20,000-entry record costs ~300 ms, a loop of
 * typeof checks a few, and this file is read on every update (written out field by field: a
 * callback per field showed up in profiles).
 */
function isIndexedFile(value: unknown): value is IndexedFile {
  if (typeof value !== "object" || value === null) return false;
  const entry = value as Record<string, unknown>;
  return (
    typeof entry.sha256 === "string" &&
    typeof entry.size === "number" &&
    typeof entry.mode === "number" &&
    typeof entry.mtimeMs === "number" &&
    typeof entry.ino === "number" &&
    (entry.ctimeMs === undefined || typeof entry.ctimeMs === "number") &&
    (entry.merged === undefined || typeof entry.merged === "boolean") &&
    (entry.installedSha256 === undefined || typeof entry.installedSha256 === "string")
  );
}

/** What an operator reads when the install index is damaged: what it is, and the way out. */
const INDEX_WHAT =
  "ship's record of what it installed in the app; delete it, and the next run installs the release again over the app (files ship did not install stay)";

function parseIndex(text: string, path: string): InstallIndex {
  const header = parseRecord(text, path, IndexHeaderSchema, INDEX_WHAT);
  const files = header.files;
  const statAtMs = header.statAtMs ?? Date.parse(header.installedAt);
  const nowMs = Date.now();
  // One pass checks each entry and applies the racy rule to it: a for-in over the 20,000 names of
  // a parsed record costs more than both tests, and two passes paid it twice.
  for (const rel in files) {
    const entry = files[rel];
    if (!isIndexedFile(entry)) throw damagedRecord(path, INDEX_WHAT, `its entry for ${rel} is malformed`);
    unverifyIfRacy(entry, statAtMs, nowMs);
  }
  return header as InstallIndex;
}

/**
 * A ctime no file has: an entry carrying it matches no stat, so its file is hashed (or staged)
 * before anything trusts it. A kept file the planner hashed enters the next index with a fresh stat
 * (prepare.ts keepInIndex); the other unverified entries are carried over as they are.
 */
export const UNVERIFIED_CTIME = -1;

/**
 * git's "racy" rule (racy-rule.ts) for the app's files: a stat taken within the file system's tick
 * of a write (whole seconds on ext2/ext3 with 128-byte inodes, 2 s on FAT) can miss a same-size
 * rewrite in that tick (a post_update hook, a migration, the app at its restart): it keeps size,
 * mtime, ctime and inode, and the entry would vouch for bytes the app no longer holds. So an entry
 * that had not settled by the index's `statAtMs` is marked unverified as the index is read; so is
 * every entry of an index whose writer's clock read later than ours does now (it judged "settled"
 * by a clock ahead). Costs time only: the next update hashes those of them it would have trusted
 * (the files the last update wrote, ~1 % of the app), once. An index from before `statAtMs` existed
 * is judged by `installedAt`, which its writer took right after the stats.
 */
function unverifyIfRacy(entry: IndexedFile, statAtMs: number, nowMs: number): void {
  if (!entryVouches(entry, statAtMs, nowMs)) entry.ctimeMs = UNVERIFIED_CTIME;
}

/**
 * Whether an entry whose stat was taken at `statAtMs` may vouch for its file by stat at `nowMs`: the
 * racy rule (racy-rule.ts) with the file system's granularity read from the ctime, so an update run
 * seconds after a first install on a fine file system does not hash the whole app again.
 */
export function entryVouches(entry: IndexedFile, statAtMs: number | undefined, nowMs: number): boolean {
  const ctimeMs = entry.ctimeMs ?? entry.mtimeMs;
  return stillVouches(Math.max(entry.mtimeMs, ctimeMs), statAtMs, nowMs, ctimeMs);
}

/** Throws naming the first entry that is not an IndexedFile. */
export function checkIndexedFiles(
  files: Record<string, unknown>,
  path: string,
  what: string,
): asserts files is Record<string, IndexedFile> {
  // for-in, not Object.entries: no [key, value] array per entry of a 20,000-entry record.
  for (const rel in files) {
    if (!isIndexedFile(files[rel])) throw damagedRecord(path, what, `its entry for ${rel} is malformed`);
  }
}

/** The index without its per-file part: what callers that only need the version read. */
export type IndexHeader = Pick<InstallIndex, "version" | "releaseId" | "source" | "installedAt">;

const HeaderOnlySchema = IndexHeaderSchema.pick({
  version: true,
  releaseId: true,
  source: true,
  installedAt: true,
});

/** Bytes read for the header: the scalars writeInstallIndex puts before `files` fit many times over. */
const HEADER_PREFIX_BYTES = 4096;

/**
 * The version (and release id) of the index, from its first few kilobytes: writeInstallIndex puts
 * the scalars before `files`, and `"files":` cannot occur earlier in JSON.stringify's output (a quote
 * inside a string is always escaped). A file written in another order is read in full instead.
 * Rollback, --list-backups and every run's state check read this; the 20,000-entry index is ~3 MB.
 */
export async function readInstallIndexHeader(stateDir: string): Promise<IndexHeader | undefined> {
  const scalars = await readIndexScalars(stateDir);
  if (scalars === undefined) return undefined;
  if (scalars !== "read it all") {
    const parsed = HeaderOnlySchema.safeParse(scalars);
    if (parsed.success) return withoutUndefined(parsed.data);
  }
  const index = await readInstallIndex(stateDir);
  return index === undefined ? undefined : headerOf(index);
}

/** The index's fields before `files` (undefined: no index; "read it all": not the layout writeInstallIndex makes). */
async function readIndexScalars(stateDir: string): Promise<unknown> {
  let prefix: string;
  try {
    const fd = openRecordSync(indexPath(stateDir), INDEX_WHAT);
    try {
      const buffer = Buffer.alloc(HEADER_PREFIX_BYTES);
      const bytesRead = readSync(fd, buffer, 0, buffer.length, 0);
      prefix = buffer.subarray(0, bytesRead).toString("utf8");
    } finally {
      closeSync(fd);
    }
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw recordReadError(error, indexPath(stateDir));
  }
  const end = prefix.indexOf(',"files":{');
  if (end > 0) {
    try {
      return JSON.parse(`${prefix.slice(0, end)}}`) as unknown;
    } catch {
      // not the layout writeInstallIndex produces: read it all
    }
  }
  return "read it all";
}

function headerOf(index: IndexHeader): IndexHeader {
  return withoutUndefined({
    version: index.version,
    releaseId: index.releaseId,
    source: index.source,
    installedAt: index.installedAt,
  });
}

function withoutUndefined(header: {
  version: string;
  releaseId?: string | undefined;
  source?: string | undefined;
  installedAt: string;
}): IndexHeader {
  const { releaseId, source, ...rest } = header;
  return {
    ...rest,
    ...(releaseId === undefined ? {} : { releaseId }),
    ...(source === undefined ? {} : { source }),
  };
}

export const INDEX_FILE = "install-index.json";

export function indexPath(stateDir: string): string {
  return join(stateDir, INDEX_FILE);
}

/** A file's text, or undefined when it does not exist; any other failure throws as it came. */
export async function readTextIfPresent(path: string, what?: string): Promise<string | undefined> {
  try {
    return await readRecordText(path, what);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw recordReadError(error, path);
  }
}

/** Parses an index file; undefined when the file does not exist (nothing installed by ship yet). */
export async function readIndexFile(path: string): Promise<InstallIndex | undefined> {
  const text = await readTextIfPresent(path);
  if (text === undefined) return undefined;
  return parseIndex(text, path);
}

/**
 * The last install index parsed, by path, with its bytes and the stat it had. One run reads the
 * index several times (the source's check and fetch, the planner, rollback); reading, decoding and
 * comparing its ~4 MB of text cost ~30 ms each time, so while the file's stat is unchanged the
 * parsed object is reused. ship only ever replaces the index by rename (a new inode); any write in
 * place moves ctime and mtime. As with the stat index (git's "racy" rule), a file changed within
 * RACY_MS (file-stamp.ts) of the read is never trusted by its stat: its timestamps may not have
 * moved yet. Such a file, or one whose stat moved, is read again, and its parse reused only when
 * the bytes are the very ones parsed: a stat can move without the content (a link to the file made
 * or removed moves its ctime; a rollback drops the backup's second name of the index it reinstates
 * for this reason, restore.ts, or the next run's emptying of the trash made the index racy and that
 * run read it whole at every use). So a changed, replaced or corrupt file is never served stale. Callers must not mutate the result, except after takeInstallIndex (finalize).
 */
let lastParsed: { path: string; stamp: string | undefined; bytes: Buffer; index: InstallIndex } | undefined;

/** What the current release installed into the app, or undefined before ship's first install. */
export async function readInstallIndex(stateDir: string): Promise<InstallIndex | undefined> {
  const path = indexPath(stateDir);
  const readAtMs = Date.now();
  const st = statSync(path, { throwIfNoEntry: false });
  const before = st === undefined ? undefined : stampOf(st);
  const cached = lastParsed?.path === path ? lastParsed : undefined;
  if (before !== undefined && cached?.stamp === before) return cached.index;
  // One synchronous read: fs/promises reads a 4 MB file chunk by chunk, ~3x slower.
  const bytes = readBytesIfPresentSync(path);
  if (bytes === undefined) {
    if (cached !== undefined) lastParsed = undefined;
    return undefined;
  }
  // Buffer.equals is a memcmp, a fraction of the decode and parse it saves.
  const index =
    cached?.bytes.equals(bytes) === true ? cached.index : parseIndex(bytes.toString("utf8"), path);
  const after = statSync(path, { throwIfNoEntry: false });
  const trusted =
    st !== undefined && !isRacy(st, readAtMs) && after !== undefined && stampOf(after) === before;
  // Untrusted stamp: the next read compares bytes instead of reusing by stat.
  lastParsed = { path, stamp: trusted ? before : undefined, bytes, index };
  return index;
}

/**
 * Hands `index` (as readInstallIndex returned it) to a caller that changes it in place: the cache
 * forgets it, so no later read is served the changed object for a file that still holds the old
 * bytes. finalize builds the next index from the last one this way: a copy of its 20,000-entry
 * `files` cost ~70 % of what parsing it does, and its garbage.
 */
export function takeInstallIndex(index: InstallIndex): InstallIndex {
  if (lastParsed?.index === index) lastParsed = undefined;
  return index;
}

function readBytesIfPresentSync(path: string): Buffer | undefined {
  try {
    return readRecordBytesSync(path, INDEX_WHAT);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw recordReadError(error, path);
  }
}

export async function writeInstallIndex(stateDir: string, index: InstallIndex | undefined): Promise<void> {
  if (index === undefined) await rm(indexPath(stateDir), { force: true });
  else {
    // Scalars first, `files` before `dirs`: readInstallIndexHeader reads only the part before `files`.
    const {
      version,
      releaseId,
      source,
      installedAt,
      statAtMs,
      files,
      dirs,
      dirModes,
      linked,
      unusedSections,
    } = index;
    const ordered = {
      version,
      ...(releaseId === undefined ? {} : { releaseId }),
      ...(source === undefined ? {} : { source }),
      installedAt,
      ...(statAtMs === undefined ? {} : { statAtMs }),
      files,
      dirs,
      ...(dirModes === undefined ? {} : { dirModes }),
      ...(linked === undefined ? {} : { linked }),
      ...(unusedSections === undefined ? {} : { unusedSections }),
    };
    await writeFileAtomic(indexPath(stateDir), JSON.stringify(ordered));
  }
}

/** Pristine release copies of merged files, by sha256: the base of the next three-way merge. */
export function basePath(stateDir: string, sha256: string): string {
  return join(stateDir, "base", sha256);
}

/**
 * Saves `text` as ship's copy of a merged config (basePath), for ship's eyes only: a release's
 * `config.toml` shipped 600 because it holds a password was copied here 644, in directories every
 * local user may enter. The directory is closed too (700), so copies an older ship left 644 are
 * out of reach from the first update that writes one.
 */
export async function writeBaseCopy(stateDir: string, sha256: string, text: string): Promise<void> {
  await ownerOnlyDir(join(stateDir, "base"));
  await writeFileAtomic(basePath(stateDir, sha256), text, true, 0o600);
}

/**
 * The bytes of ship's copy `path` of `rel` (basePath), by the rule for ship's own records: a FIFO in
 * its place made the update wait for a writer for ever, a directory was a bare "EISDIR", exit 1.
 * Anything but a file is `<path> is damaged, it is not a file: …`, exit 2, saying what deleting it does.
 */
export function readBaseCopy(path: string, rel: string): Buffer {
  return readRecordBytesSync(
    path,
    `ship's copy of ${rel} as a release shipped it, not yours: delete it and the merge goes on without it (every value of yours is kept, new keys are added)`,
  );
}
