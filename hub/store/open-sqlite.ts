/**
 * Opening the single hub's SQLite store in its data dir, with errors that name the flag or hub.toml
 * key the operator has to change: a data dir that cannot be created, a --db in a missing directory,
 * a directory or a file that is not a SQLite database are bad input (exit 2), not a bare driver error.
 */
import { constants, type Stats } from "node:fs";
import { access, chmod, open, stat, writeFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import Database from "better-sqlite3";
import { nonRegularKind } from "../../shared/bounded-read.js";
import { creationErrorText, fileCreationError } from "../../shared/creatable-file.js";
import { appDirAccessProblem, whoRuns } from "../../shared/dir-access.js";
import { BadInputError } from "../../shared/errors.js";
import { fsErrorText } from "../../shared/fs-errors.js";
import type { Logger } from "../../shared/log.js";
import { makeDirs } from "../../shared/make-dirs.js";
import type { NamedBy } from "../../shared/named-file.js";
import type { AsyncStore } from "./async-store.js";
import { NotHubDatabase, SchemaTooNew, shownTables } from "./schema-guard.js";
import { sqliteAsyncStore } from "./sqlite-async-store.js";
import { checkSqliteSchema, SqliteStore } from "./sqlite-store.js";

export interface SqliteLocation {
  dataDir: string;
  /** Default <dataDir>/hub.db. */
  dbFile?: string;
  /** Where dataDir and dbFile were named; default the flags. */
  namedBy?: { dataDir: NamedBy; dbFile: NamedBy };
  /** Where a lock held by another process is told (the hub's log). */
  log?: Logger | undefined;
  /** How long a store call waits for such a lock before it fails (default 5 s). */
  lockWaitMs?: number | undefined;
}

// What the operator's path caused, as opposed to a database that failed while in use.
const PATH_ERRORS = new Set(["SQLITE_CANTOPEN", "SQLITE_NOTADB", "SQLITE_READONLY", "SQLITE_PERM"]);

/** The unit the README installs the hub as, named when its ReadWritePaths= leaves a path out. */
const HUB_UNIT = "ship-hub.service";
const READ_WRITE = constants.R_OK | constants.W_OK;

const FLAGS = { dataDir: { file: "--data-dir", key: "" }, dbFile: { file: "--db", key: "" } };

/**
 * Refuses a data dir that is not a directory and a database file whose directory is missing, before
 * anything is created (the secret is generated into the data dir before the store is opened).
 */
export async function checkSqliteLocation(location: SqliteLocation): Promise<void> {
  const namedBy = location.namedBy ?? FLAGS;
  const dataDir = await stat(location.dataDir).catch(() => undefined);
  if (dataDir !== undefined && !dataDir.isDirectory())
    throw BadInputError.single(
      namedBy.dataDir.file,
      namedBy.dataDir.key,
      `${location.dataDir} is not a directory`,
    );
  // Before the secret is generated into it: a data dir the hub's user may not create (or use) was
  // "cannot create directory …: permission denied", exit 1, naming neither flag nor key.
  const unusable = await appDirAccessProblem(location.dataDir, HUB_UNIT);
  if (unusable !== undefined) throw BadInputError.single(namedBy.dataDir.file, namedBy.dataDir.key, unusable);
  if (location.dbFile === undefined) return;
  const db = await stat(location.dbFile).catch(() => undefined);
  if (db?.isDirectory())
    throw BadInputError.single(namedBy.dbFile.file, namedBy.dbFile.key, `${location.dbFile} is a directory`);
  const notDatabase = db === undefined ? undefined : await notSqliteProblem(location.dbFile, db);
  if (notDatabase !== undefined)
    throw BadInputError.single(namedBy.dbFile.file, namedBy.dbFile.key, `${location.dbFile} ${notDatabase}`);
  const refused = db !== undefined && db.size > 0 ? schemaProblem(location.dbFile) : undefined;
  if (refused !== undefined) throw BadInputError.single(namedBy.dbFile.file, namedBy.dbFile.key, refused);
  const parent = dirname(location.dbFile);
  // The data dir is created on start; any other directory must exist.
  if (
    db === undefined &&
    resolve(parent) !== resolve(location.dataDir) &&
    !(await stat(parent).catch(() => undefined))
  )
    throw BadInputError.single(
      namedBy.dbFile.file,
      namedBy.dbFile.key,
      `the directory of ${location.dbFile} does not exist`,
    );
  // SQLite writes its -wal and -shm beside the database: a directory the hub's user may not write
  // was refused only after the data dir and its secret were made.
  const parentProblem =
    resolve(parent) === resolve(location.dataDir) ? undefined : await appDirAccessProblem(parent, HUB_UNIT);
  if (parentProblem !== undefined)
    throw BadInputError.single(
      namedBy.dbFile.file,
      namedBy.dbFile.key,
      `${location.dbFile}: ${parentProblem}`,
    );
  // Where the data dir is not made yet, the file is tried once that is made (makeDataDir says why not).
  const uncreatable =
    db === undefined && (await stat(parent).catch(() => undefined)) !== undefined
      ? await fileCreationError(location.dbFile)
      : undefined;
  if (uncreatable !== undefined)
    throw BadInputError.single(
      namedBy.dbFile.file,
      namedBy.dbFile.key,
      `${location.dbFile} cannot be created: ${creationErrorText(uncreatable)}`,
    );
  const denied =
    db === undefined ? undefined : await access(location.dbFile, READ_WRITE).catch((e: unknown) => e);
  if (denied !== undefined)
    throw BadInputError.single(
      namedBy.dbFile.file,
      namedBy.dbFile.key,
      `${location.dbFile}: ${whoRuns()} may not read and write it (${fsErrorText(denied)})`,
    );
}

/** What every SQLite database file starts with (the file format's 16-byte header string). */
const SQLITE_HEADER = Buffer.from("SQLite format 3\0", "latin1");

/**
 * Why an existing `--db` (or hub.toml `db`) cannot be the hub's database, before anything is made:
 * a pipe or a device read as SQLite's bare "disk I/O error" (exit 1), and a file of other content
 * was refused only after the data dir and its secret were created. An empty file is a new database
 * to SQLite; one the hub cannot read is left for the open to report.
 */
async function notSqliteProblem(file: string, info: Stats): Promise<string | undefined> {
  const kind = nonRegularKind(info);
  if (kind !== undefined) return `is ${kind}, not a SQLite database file`;
  if (info.size === 0) return undefined;
  // O_NONBLOCK: a FIFO swapped in since the stat must not hold the start.
  const handle = await open(file, constants.O_RDONLY | constants.O_NONBLOCK).catch(() => undefined);
  if (handle === undefined) return undefined;
  try {
    const head = Buffer.alloc(SQLITE_HEADER.length);
    const { bytesRead } = await handle.read(head, 0, head.length, 0);
    return bytesRead === head.length && head.equals(SQLITE_HEADER)
      ? undefined
      : "is not a SQLite database (it holds other data): name the hub's database, or a new or empty file";
  } finally {
    await handle.close();
  }
}

/**
 * Why an existing database is not this hub's to migrate, read without writing (before the data dir
 * and its secret are made): another application's tables, or a newer hub's schema. Opened for
 * writing but only read: a read-only connection to a WAL database leaves a -wal and -shm beside it,
 * which the last writable connection removes as it closes. One SQLite cannot open is left for the
 * open to report.
 */
function schemaProblem(file: string): string | undefined {
  let db: Database.Database;
  try {
    db = new Database(file, { fileMustExist: true });
  } catch {
    return undefined;
  }
  try {
    checkSqliteSchema(db);
    return undefined;
  } catch (error) {
    return schemaRefusal(error, file);
  } finally {
    db.close();
  }
}

/** The one line for a database the hub refuses to migrate, naming the file; undefined for other errors. */
function schemaRefusal(error: unknown, file: string): string | undefined {
  if (error instanceof SchemaTooNew)
    return `${file} holds hub schema ${error.found}, newer than this ship-hub's (${error.known}): a newer ship-hub migrated it; upgrade ship-hub here`;
  if (error instanceof NotHubDatabase)
    return `${file} holds tables that are not ship-hub's (${shownTables(error.tables)}), so the hub wrote nothing there: name the hub's database, or a new or empty file`;
  return undefined;
}

/**
 * The data dir, made owner-only where missing. What the checks before cannot foresee without making
 * it — a kernel filesystem (/proc, /sys) that refuses new directories, a file on the way — is bad
 * input naming the flag or key (exit 2): it was "cannot create directory /sys/x: operation not
 * permitted", exit 1, and in /proc a start that hung without a word.
 */
export async function makeDataDir(dataDir: string, by: NamedBy = FLAGS.dataDir): Promise<void> {
  try {
    await makeDirs(dataDir, 0o700);
  } catch (error) {
    throw BadInputError.single(
      by.file,
      by.key,
      `cannot create the data dir ${dataDir}: ${creationErrorText(error)}`,
    );
  }
}

export async function openSqliteStore(location: SqliteLocation): Promise<AsyncStore> {
  const namedBy = location.namedBy ?? FLAGS;
  await makeDataDir(location.dataDir, namedBy.dataDir);
  const file = location.dbFile ?? join(location.dataDir, "hub.db");
  // A new database is made owner-only, as the secret is (SQLite gives its -wal and -shm files the
  // database file's mode): it holds what the API masks for people (webhook URLs and headers in
  // release manifests) and agents' reports, and a `--db` outside the data dir was 0644, readable by
  // every local user. An empty file is a new database to SQLite; one that exists is left as it is,
  // and any other failure is the open's to report.
  await writeFile(file, "", { flag: "wx", mode: 0o600 }).catch(() => undefined);
  await closeToOthers(file);
  let sqlite: SqliteStore;
  try {
    sqlite = new SqliteStore(file);
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    // better-sqlite3 throws a TypeError without a code when the file's directory does not exist.
    const refused = schemaRefusal(error, file);
    if (refused !== undefined) throw BadInputError.single(namedBy.dbFile.file, namedBy.dbFile.key, refused);
    if (error instanceof TypeError || (typeof code === "string" && PATH_ERRORS.has(code)))
      throw BadInputError.single(
        namedBy.dbFile.file,
        namedBy.dbFile.key,
        `cannot open the SQLite database ${file}: ${(error as Error).message}`,
      );
    throw error;
  }
  const artifacts = join(location.dataDir, "artifacts");
  // Made 700 since artifacts can hold their configs' secrets; one an older hub made (0755, each
  // artifact 0644) stayed readable by every local user after the upgrade. Closing the directory
  // closes the files in it. Not there yet, or not the hub's to change: left as it is.
  await chmod(artifacts, 0o700).catch(() => undefined);
  return sqliteAsyncStore(sqlite, artifacts, { log: location.log, lockWaitMs: location.lockWaitMs });
}

/**
 * A database an older hub made (0644, and its -wal and -shm with it) stayed readable by every local
 * user after the upgrade, in a data dir left 755 too: the webhook URLs and headers the API masks,
 * agents' reports. Its bits for others are dropped before SQLite opens it (the -wal and -shm it
 * makes take the database's mode); the group's are left, which a backup job may read through. Not
 * the hub's to change (another owner): left as it is.
 */
async function closeToOthers(file: string): Promise<void> {
  for (const path of [file, `${file}-wal`, `${file}-shm`]) {
    const found = await stat(path).catch(() => undefined);
    if (found === undefined || !found.isFile() || (found.mode & 0o007) === 0) continue;
    await chmod(path, found.mode & 0o770).catch(() => undefined);
  }
}
