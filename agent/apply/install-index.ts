/**
 * The install index (<stateDir>/install-index.json): what the current release installed, with the
 * stat of each file right after install, so the next plan trusts a matching stat instead of hashing.
 *
 * Written in one of two layouts. Full: every entry under `files`. Head: a past full index kept
 * unchanged as the base (`base` names it, install-index.base-….json beside it) and only the entries
 * that differ from it (`changes`, and `dropped`): an update of 1 % of the app writes ~1 % of the
 * index instead of serializing, writing and fsyncing all of it (~4 MB at 20,000 files). The head is
 * the one file of record, replaced by rename as a full index is; a base is never written in place
 * (it is a hard link to the full index it was), so a head and its base always belong together.
 *
 * A full index is written in columns (index-columns.ts, docs/install-index.md): read in place, its
 * entries cost a few ms where a JSON object per file cost ~35 (round 52). One an older ship wrote,
 * `files` as a JSON object, is still read (and becomes the base of the next head until a fold).
 */
import { closeSync, linkSync, lstatSync, readSync, type Stats, statSync } from "node:fs";
import { readdir, rm } from "node:fs/promises";
import { dirname, join } from "node:path";
import * as z from "zod";
import { SAVED_INDEX_BASE_FILE } from "../backup/record-names.js";
import { faultPoint } from "../fault.js";
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
import { appDirMarkSchema, EMPTY_UNMARKED, markMismatch } from "./app-dir-mark.js";
import { columnsSchema, decodeColumns, encodeColumns, headerEnd } from "./index-columns.js";
import { IndexFiles } from "./index-files.js";
import type { IndexedFile, InstallIndex } from "./types.js";

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** A head's base: its name beside the head (or in a backup, SAVED_INDEX_BASE_FILE) and its size. */
function buildBaseRefSchema() {
  return z.object({
    name: z
      .string()
      .regex(/^install-index\.base-[0-9a-z]+\.json$/, "must be an install-index.base-….json name"),
    bytes: z.number().int().nonnegative(),
  });
}
type BaseRef = z.infer<ReturnType<typeof buildBaseRefSchema>>;

/** The scalars every index starts with: all that the header readers (readInstallIndexHeader) take. */
function headerShape() {
  return {
    version: z.string(),
    releaseId: z.string().optional(),
    source: z.string().optional(),
    installedAt: z.string(),
  };
}

/**
 * The index's schemas, built when an index is first read whole, not as this module loads: every
 * `--list-backups` loads it and reads only each app's header (headerOnlySchema): 68 zod schema
 * objects (with index-columns.ts') were built for nothing, of the 477 a listing built (issue 11).
 */
function buildSchemas() {
  const entriesSchema = z.custom<Record<string, unknown>>(isPlainObject, "must be an object");
  // `files` is checked by hand below: zod walking a 20,000-key record costs ~100x more than a loop.
  // A full index has `files`; a head has `base`, `changes` and `dropped` instead (the module's comment).
  const IndexHeaderSchema = z.object({
    ...headerShape(),
    statAtMs: z.number().optional(),
    appDirMark: appDirMarkSchema().optional(),
    files: entriesSchema.optional(),
    base: buildBaseRefSchema().optional(),
    changes: entriesSchema.optional(),
    dropped: z.array(z.string()).optional(),
    dirs: z.array(z.string()),
    dirModes: z.custom<Record<string, number>>(isModeRecord, "must map directories to modes").optional(),
    linked: z.record(z.string(), z.string()).optional(),
    unusedSections: z.record(z.string(), z.array(z.string())).optional(),
  });
  // A full index in columns: its header line (the scalars, `columns`, dirs…), then its entries.
  const ColumnsHeaderSchema = IndexHeaderSchema.omit({
    files: true,
    base: true,
    changes: true,
    dropped: true,
  }).extend({
    columns: columnsSchema(),
  });
  return { IndexHeaderSchema, ColumnsHeaderSchema };
}

let built: ReturnType<typeof buildSchemas> | undefined;
const schemas = (): ReturnType<typeof buildSchemas> => {
  built ??= buildSchemas();
  return built;
};

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

/**
 * Where an index's entries came from, by its `files` record: what writeInstallIndex needs to write
 * the next index as a head (the base and the entries already apart from it, or the full file's
 * identity, to take it as the base). Only readInstallIndex's results have one.
 */
type Origin =
  | { kind: "head"; base: BaseRef; changed: ReadonlySet<string>; baseEntries: number }
  | { kind: "full"; entries: number; file?: FileIdentity };
type FileIdentity = { dev: number; ino: number; size: number; mtimeMs: number };
const origins = new WeakMap<IndexFiles, Origin>();

/** Where a head's base is: `name` beside the live index, or the fixed name in a backup. */
type BaseAt = (name: string) => string;

/**
 * Where an index is read from: its base's place, and the way out a damaged one names (deleting the
 * live index; a backup's saved one cannot be restored).
 */
interface IndexPlace {
  baseAt: BaseAt;
  what: string;
}

/**
 * The index in `bytes`: a full index in columns, or JSON (a head, or a full index as an older ship
 * wrote it). JSON.stringify never writes a newline, so text with one is the columns' header line;
 * an index an operator pretty-printed has one too, and its first line then is no header of ours.
 */
function parseIndex(bytes: Buffer, path: string, place: IndexPlace): InstallIndex {
  const end = headerEnd(bytes);
  if (end >= 0 && isColumnsHeader(bytes, end)) return parseColumns(bytes, end, path, place.what);
  return parseJsonIndex(bytes.toString("utf8"), path, place);
}

function isColumnsHeader(bytes: Buffer, end: number): boolean {
  try {
    const head: unknown = JSON.parse(bytes.toString("utf8", 0, end));
    return isPlainObject(head) && "columns" in head;
  } catch {
    return false;
  }
}

function parseColumns(bytes: Buffer, end: number, path: string, what: string): InstallIndex {
  const { columns, ...header } = parseRecord(
    bytes.toString("utf8", 0, end),
    path,
    schemas().ColumnsHeaderSchema,
    what,
  );
  const files = decodeColumns(columns, bytes.subarray(end + 1));
  if (typeof files === "string") throw damagedRecord(path, what, files);
  unverifyIfRacy(files, header.statAtMs ?? Date.parse(header.installedAt), Date.now());
  origins.set(files, { kind: "full", entries: files.size });
  return { ...header, files } as InstallIndex;
}

function parseJsonIndex(text: string, path: string, { baseAt, what }: IndexPlace): InstallIndex {
  const {
    base,
    changes,
    dropped,
    files: record,
    ...header
  } = parseRecord(text, path, schemas().IndexHeaderSchema, what);
  const statAtMs = header.statAtMs ?? Date.parse(header.installedAt);
  const nowMs = Date.now();
  if (base === undefined) {
    if (record === undefined) throw damagedRecord(path, what, "it has neither files nor a base");
    checkIndexedFiles(record, path, what);
    const files = IndexFiles.of(record);
    unverifyIfRacy(files, statAtMs, nowMs);
    origins.set(files, { kind: "full", entries: files.size });
    return { ...header, files } as InstallIndex;
  }
  if (changes === undefined || dropped === undefined || record !== undefined)
    throw damagedRecord(path, what, "it names a base but not (only) its changes and dropped files");
  const baseIndex = readBase(baseAt(base.name), base.bytes, path, what);
  const all = baseIndex.files;
  const baseOrigin = origins.get(all);
  const baseEntries = baseOrigin?.kind === "full" ? baseOrigin.entries : 0;
  checkIndexedFiles(changes, path, what);
  const changedFiles = IndexFiles.of(changes);
  unverifyIfRacy(changedFiles, statAtMs, nowMs);
  const changed = new Set<string>(dropped);
  for (const rel of dropped) all.delete(rel);
  for (const [rel, entry] of changedFiles) {
    all.set(rel, entry);
    changed.add(rel);
  }
  origins.set(all, { kind: "head", base, changed, baseEntries });
  return { ...header, files: all } as InstallIndex;
}

/**
 * A head's base, a full index judged by its own `statAtMs` (its entries' stats were taken then).
 * Missing, of another size than the head recorded (torn, or another file put there) or damaged:
 * the index is damaged, naming the base — never read as a shorter index.
 */
function readBase(basePath: string, size: number, headPath: string, what: string): InstallIndex {
  let bytes: Buffer;
  try {
    bytes = readRecordBytesSync(basePath, what);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT")
      throw damagedRecord(headPath, what, `the base it names (${basePath}) is missing`);
    throw recordReadError(error, basePath);
  }
  // Named by the head: deleting the head is the way out (its base then goes with the next write).
  if (bytes.length !== size)
    throw damagedRecord(
      headPath,
      what,
      `its base ${basePath} is ${bytes.length} bytes, not the ${size} it recorded`,
    );
  // A base is a full index: one that names a base itself is refused (no chains to follow).
  return parseIndex(bytes, basePath, {
    what,
    baseAt: (name) => {
      throw damagedRecord(basePath, what, `it is a base but names a base itself (${name})`);
    },
  });
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
function unverifyIfRacy(files: IndexFiles, statAtMs: number, nowMs: number): void {
  files.unverifyUnless(
    (mtimeMs, ctimeMs) => stampVouches(mtimeMs, ctimeMs, statAtMs, nowMs),
    UNVERIFIED_CTIME,
  );
}

/**
 * Whether an entry whose stat was taken at `statAtMs` may vouch for its file by stat at `nowMs`: the
 * racy rule (racy-rule.ts) with the file system's granularity read from the ctime, so an update run
 * seconds after a first install on a fine file system does not hash the whole app again.
 */
export function entryVouches(entry: IndexedFile, statAtMs: number | undefined, nowMs: number): boolean {
  return stampVouches(entry.mtimeMs, entry.ctimeMs, statAtMs, nowMs);
}

function stampVouches(
  mtimeMs: number,
  ctime: number | undefined,
  statAtMs: number | undefined,
  nowMs: number,
): boolean {
  const ctimeMs = ctime ?? mtimeMs;
  return stillVouches(Math.max(mtimeMs, ctimeMs), statAtMs, nowMs, ctimeMs);
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

/** Built on the first header read: a listing builds these few, not the whole index's (buildSchemas). */
let headerOnly: z.ZodObject<ReturnType<typeof headerShape>> | undefined;
const headerOnlySchema = () => {
  headerOnly ??= z.object(headerShape());
  return headerOnly;
};

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
    const parsed = headerOnlySchema().safeParse(scalars);
    if (parsed.success) return withoutUndefined(parsed.data);
  }
  const index = await readInstallIndex(stateDir);
  return index === undefined ? undefined : headerOf(index);
}

/**
 * The header of an index saved in a backup (PREVIOUS_INDEX_FILE), from its first few kilobytes as
 * readInstallIndexHeader does; undefined when the file does not exist. A saved index is in either
 * layout (columns or JSON, docs/install-index.md): a reader that JSON.parsed it whole found no
 * version in a columns file, and `ship --check-only` after a killed rollback compared versions
 * instead of releases ("update available 1.0.0 -> sha256:…" where the run says up to date).
 */
export async function readSavedIndexHeader(path: string): Promise<IndexHeader | undefined> {
  const scalars = readScalarsSync(path);
  if (scalars === undefined) return undefined;
  if (scalars !== "read it all") {
    const parsed = headerOnlySchema().safeParse(scalars);
    if (parsed.success) return withoutUndefined(parsed.data);
  }
  const index = await readSavedIndexFile(path);
  return index === undefined ? undefined : headerOf(index);
}

/** The index's fields before `files` (undefined: no index; "read it all": not the layout writeInstallIndex makes). */
async function readIndexScalars(stateDir: string): Promise<unknown> {
  return readScalarsSync(indexPath(stateDir));
}

/**
 * The fields of the index at `path` before its entries, from its first few kilobytes: a full
 * index's scalars end at `,"files":{`, a head's (its base among them) at `,"changes":{`; neither
 * sequence can occur before that end in JSON.stringify's output (a quote inside a string is always
 * escaped), though either can after it, as an entry's key.
 */
function readScalarsSync(path: string): unknown {
  let prefix: string;
  try {
    const fd = openRecordSync(path, INDEX_WHAT);
    try {
      const buffer = Buffer.alloc(HEADER_PREFIX_BYTES);
      const bytesRead = readSync(fd, buffer, 0, buffer.length, 0);
      prefix = buffer.subarray(0, bytesRead).toString("utf8");
    } finally {
      closeSync(fd);
    }
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw recordReadError(error, path);
  }
  // The earlier of the two: an entry's key is an app path, so a file named `files` at the app's
  // root puts `,"files":{` among a head's changes (and `changes` one among a full index's files).
  const ends = [
    prefix.indexOf(',"files":{'),
    prefix.indexOf(',"changes":{'),
    prefix.indexOf(',"columns":{'),
  ].filter((at) => at > 0);
  const end = ends.length === 0 ? -1 : Math.min(...ends);
  if (end > 0) {
    try {
      return JSON.parse(`${prefix.slice(0, end)}}`) as unknown;
    } catch {
      // not the layout writeInstallIndex produces: read it all
    }
  }
  return "read it all";
}

let markOnly: z.ZodObject<{ appDirMark: z.ZodOptional<ReturnType<typeof appDirMarkSchema>> }> | undefined;
const markOnlySchema = () => {
  markOnly ??= z.object({ appDirMark: appDirMarkSchema().optional() });
  return markOnly;
};

/**
 * Why the live index no longer describes `appDir` (app-dir-mark.ts: the directory gone, emptied or
 * replaced since the index was written), as "<index> does not describe <app_dir>: <why>"; undefined
 * while it may, or with no index. From the header's first 4 KB: no entry is read.
 */
export async function indexMismatch(stateDir: string, appDir: string): Promise<string | undefined> {
  const path = indexPath(stateDir);
  const scalars = readScalarsSync(path);
  if (scalars === undefined) return undefined;
  const parsed = markOnlySchema().safeParse(scalars);
  let why = markMismatch(appDir, parsed.success ? parsed.data.appDirMark : undefined);
  // An index an older ship wrote (no mark) over an empty app_dir: emptied if it lists any file. Read
  // whole only then, which an up-to-date run over an app with files never pays.
  if (why === EMPTY_UNMARKED && ((await readInstallIndex(stateDir))?.files.size ?? 0) === 0) why = undefined;
  return why === undefined ? undefined : `${path} does not describe ${appDir}: ${why}`;
}

let baseOnly: z.ZodObject<{ base: ReturnType<typeof buildBaseRefSchema> }> | undefined;
const baseOnlySchema = () => {
  baseOnly ??= z.object({ base: buildBaseRefSchema() });
  return baseOnly;
};

/**
 * The base a saved or live index at `path` names (undefined: a full index, none there, or not
 * writeInstallIndex's layout — whose full read then says what is wrong). A backup links it beside
 * the saved index, and the backup's check wants its size.
 */
export function indexBaseOf(path: string): BaseRef | undefined {
  const parsed = baseOnlySchema().safeParse(readScalarsSync(path));
  return parsed.success ? parsed.data.base : undefined;
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

/**
 * Parses an index file saved in a backup, its base (if it is a head) the backup's
 * SAVED_INDEX_BASE_FILE beside it; undefined when the file does not exist. `what`: the way out a
 * damaged one names (by default the live index's; a restore's check names the backup's).
 */
export async function readSavedIndexFile(path: string, what = INDEX_WHAT): Promise<InstallIndex | undefined> {
  return readSavedIndexFileSync(path, what);
}

/** readSavedIndexFile for a check that is synchronous (saved-records.ts: one stat per record). */
export function readSavedIndexFileSync(path: string, what = INDEX_WHAT): InstallIndex | undefined {
  const bytes = readBytesIfPresentSync(path, what);
  if (bytes === undefined) return undefined;
  return parseIndex(bytes, path, { what, baseAt: () => join(dirname(path), SAVED_INDEX_BASE_FILE) });
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
    cached?.bytes.equals(bytes) === true
      ? cached.index
      : parseIndex(bytes, path, { what: INDEX_WHAT, baseAt: (name) => join(stateDir, name) });
  const after = statSync(path, { throwIfNoEntry: false });
  const unmoved = st !== undefined && after !== undefined && stampOf(after) === before;
  const trusted = unmoved && !isRacy(st, readAtMs);
  // A full index may become the next one's base only while it is this very file (identityOf).
  const origin = origins.get(index.files);
  if (origin?.kind === "full") origin.file = unmoved ? identityOf(st) : undefined;
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

function readBytesIfPresentSync(path: string, what = INDEX_WHAT): Buffer | undefined {
  try {
    return readRecordBytesSync(path, what);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw recordReadError(error, path);
  }
}

function identityOf(st: Stats): FileIdentity {
  return { dev: st.dev, ino: st.ino, size: st.size, mtimeMs: st.mtimeMs };
}

function sameFile(a: FileIdentity, b: FileIdentity): boolean {
  return a.dev === b.dev && a.ino === b.ino && a.size === b.size && a.mtimeMs === b.mtimeMs;
}

/**
 * A head holds at most one entry for every FOLD_RATIO of its base's: past that the index is written
 * full again (and becomes the next head's base), so a head stays a few percent of a full index and
 * a read never costs much more than a full one.
 */
const FOLD_RATIO = 8;

/**
 * Writes `index` as the install index. `changed`: the paths whose entries the caller set or removed
 * in the `files` that readInstallIndex returned (finalize's delta). With it, and while the base
 * stands, only the entries apart from the base are written (a head); otherwise the whole index.
 */
export async function writeInstallIndex(
  stateDir: string,
  index: InstallIndex | undefined,
  changed?: Iterable<string>,
): Promise<void> {
  if (index === undefined) {
    await rm(indexPath(stateDir), { force: true });
    await removeStaleBases(stateDir, undefined);
    return;
  }
  // Scalars first, `files` (or the base and `changes`) before `dirs`: readInstallIndexHeader reads
  // only the part before the entries.
  const {
    version,
    releaseId,
    source,
    installedAt,
    statAtMs,
    appDirMark,
    files,
    dirs,
    dirModes,
    linked,
    unusedSections,
  } = index;
  const scalars = {
    version,
    ...(releaseId === undefined ? {} : { releaseId }),
    ...(source === undefined ? {} : { source }),
    installedAt,
    ...(statAtMs === undefined ? {} : { statAtMs }),
    ...(appDirMark === undefined ? {} : { appDirMark }),
  };
  const rest = {
    dirs,
    ...(dirModes === undefined ? {} : { dirModes }),
    ...(linked === undefined ? {} : { linked }),
    ...(unusedSections === undefined ? {} : { unusedSections }),
  };
  const head = changed === undefined ? undefined : headOf(stateDir, files, changed);
  if (head === undefined) {
    // The scalars before `columns`, as before `files`: readInstallIndexHeader reads only those.
    const { header, body } = encodeColumns(files);
    const line = Buffer.from(`${JSON.stringify({ ...scalars, columns: header, ...rest })}\n`, "utf8");
    await writeFileAtomic(indexPath(stateDir), Buffer.concat([line, body]));
    origins.delete(files);
  } else {
    const changes: Record<string, IndexedFile> = {};
    const dropped: string[] = [];
    for (const rel of head.changed) {
      const entry = files.get(rel);
      if (entry === undefined) dropped.push(rel);
      else changes[rel] = entry;
    }
    await writeFileAtomic(
      indexPath(stateDir),
      JSON.stringify({ ...scalars, base: head.base, changes, dropped, ...rest }),
    );
    // Written again (it is not, today), the next head must carry these paths too.
    origins.set(files, {
      kind: "head",
      base: head.base,
      changed: head.changed,
      baseEntries: head.baseEntries,
    });
  }
  await removeStaleBases(stateDir, head?.base.name);
}

/**
 * The base and the paths apart from it for a head of `files` with `changed` set or removed, or
 * undefined when the index must be written full: `files` not read by readInstallIndex, too far
 * from its base (FOLD_RATIO), or a full index that is no longer the live file. That file becomes
 * the base under a second name (a hard link, nothing copied): ship only ever replaces the index by
 * rename, so the link keeps those bytes for as long as the head names them. The link is made in
 * the same directory before the head's rename: a crash between leaves an unnamed base, removed by
 * the next write (removeStaleBases), and the old index in place.
 */
function headOf(
  stateDir: string,
  files: IndexFiles,
  changed: Iterable<string>,
): { base: BaseRef; changed: Set<string>; baseEntries: number } | undefined {
  const origin = origins.get(files);
  if (origin === undefined) return undefined;
  const all = new Set(origin.kind === "head" ? origin.changed : []);
  for (const rel of changed) all.add(rel);
  const baseEntries = origin.kind === "head" ? origin.baseEntries : origin.entries;
  if (all.size * FOLD_RATIO > baseEntries) return undefined;
  if (origin.kind === "head") {
    // Still there at its size (one lstat): else the whole index, not a head naming a lost base.
    const base = lstatSync(join(stateDir, origin.base.name), { throwIfNoEntry: false });
    return base?.isFile() === true && base.size === origin.base.bytes
      ? { base: origin.base, changed: all, baseEntries }
      : undefined;
  }
  const live = indexPath(stateDir);
  const st = lstatSync(live, { throwIfNoEntry: false });
  if (origin.file === undefined || st === undefined || !sameFile(origin.file, identityOf(st)))
    return undefined;
  // Math.random, not node:crypto: the name only has to differ from the bases before it.
  const name = `install-index.base-${Date.now().toString(36)}${Math.floor(Math.random() * 2 ** 32).toString(36)}.json`;
  try {
    linkSync(live, join(stateDir, name));
  } catch {
    // A state directory on a file system without hard links: the whole index, as before.
    return undefined;
  }
  faultPoint("index:base-linked"); // a kill here leaves the base unnamed by any head, the old index live
  return { base: { name, bytes: st.size }, changed: all, baseEntries };
}

const BASE_NAME = /^install-index\.base-[0-9a-z]+\.json$/;

/**
 * Removes every base in `stateDir` but `keep` (the live head's): one a crash left unnamed, or the
 * one a full write or a rollback replaced. A backup holds its own link to the base its saved index
 * names (SAVED_INDEX_BASE_FILE), so none is needed here for it. Only space is at stake: a base that
 * will not go is left for the next write.
 */
export async function removeStaleBases(stateDir: string, keep: string | undefined): Promise<void> {
  let names: string[];
  try {
    names = await readdir(stateDir);
  } catch {
    return;
  }
  for (const name of names)
    if (name !== keep && BASE_NAME.test(name))
      await rm(join(stateDir, name), { force: true }).catch(() => undefined);
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
