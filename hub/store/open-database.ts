/**
 * Opening the PostgreSQL database a hub command was given, with errors a person can act on: one
 * line naming where the URL came from and the server it points at (never the password), and the
 * exit code the CLI gives bad input (2) when the URL itself is wrong (unknown database, user or
 * password) versus a failure (1) when the server could not be reached.
 */
import { BadInputError, errorMessage } from "../../shared/errors.js";
import { errnoCode, fsErrorText } from "../../shared/fs-errors.js";
import { type PasswordLookup, passwordFilePath, passwordFromFile } from "./pgpass.js";
import { describeAnswers } from "./postgres-hosts.js";
import {
  NoPrimary,
  NoSchema,
  openPostgresStore,
  type PostgresStore,
  type PostgresStoreOptions,
  ReadOnlyDatabase,
} from "./postgres-store.js";
import { serverRefusesTls, tlsInsistedOn } from "./postgres-tls-probe.js";
import {
  connectTimeout,
  DEFAULT_CONNECT_TIMEOUT_SECONDS,
  describeTarget,
  driverTarget,
  parseDatabaseUrl,
  passwordLookups,
} from "./postgres-url.js";
import { NotHubDatabase, SchemaTooNew, shownTables } from "./schema-guard.js";

/** Where a database URL came from: the flag, the environment variable, or hub.toml's key. */
export interface DatabaseSource {
  url: string;
  file: string;
  key: string;
  /** Set when the URL's sslmode came from this environment variable, not from the URL. */
  tlsFrom?: string;
}

/** `postgres://user@host:port/db` with the password (and query) left out, for messages and logs. */
export function describeDatabaseUrl(url: string): string {
  try {
    return describeTarget(url);
  } catch {
    return "(unparsable URL)";
  }
}

/** The database cannot be reached: not the user's input, so exit 1. */
export class DatabaseUnreachable extends Error {
  constructor(message: string) {
    super(message);
    this.name = "DatabaseUnreachable";
  }
}

function codeOf(error: unknown): string {
  const code = typeof error === "object" && error !== null ? (error as { code?: unknown }).code : undefined;
  return typeof code === "string" ? code : "";
}

/** Connects and migrates; every failure becomes one line that names the server, never the password. */
export async function openDatabase(
  source: DatabaseSource,
  options: Pick<PostgresStoreOptions, "answerTimeoutMs"> = {},
): Promise<PostgresStore> {
  const where = describeDatabaseUrl(source.url);
  try {
    return await openPostgresStore(source.url, options);
  } catch (error) {
    // Not a passing failure (exit 1 has systemd start it again every few seconds for ever):
    // only upgrading this hub helps.
    if (error instanceof SchemaTooNew)
      throw BadInputError.single(
        source.file,
        source.key,
        `PostgreSQL at ${where} holds hub schema ${error.found}, newer than this ship-hub's (${error.known}): a newer ship-hub migrated it; upgrade ship-hub here`,
      );
    if (error instanceof NotHubDatabase) {
      throw BadInputError.single(
        source.file,
        source.key,
        `PostgreSQL at ${where} holds tables that are not ship-hub's (${shownTables(error.tables)}), so the hub created nothing there: give the hub a database of its own (createdb -O USER ship_hub) and name it in the URL`,
      );
    }
    if (error instanceof NoSchema)
      throw BadInputError.single(
        source.file,
        source.key,
        `PostgreSQL at ${where} has none of the schemas of its search_path (${error.searchPath}), so the hub has nowhere to create its tables: CREATE SCHEMA … AUTHORIZATION USER, or set a search_path naming one that exists`,
      );
    if (error instanceof ReadOnlyDatabase)
      throw BadInputError.single(
        source.file,
        source.key,
        error.standby
          ? `PostgreSQL at ${where} is a standby (in recovery, read-only), and the hub writes to its database: point the URL at the primary, or list every server (postgresql://USER@db1:5432,db2:5432/DB) and the hub connects to whichever is the primary`
          : `PostgreSQL at ${where} takes no writes (default_transaction_read_only is on for this database or user), and the hub writes to its database: ALTER DATABASE … SET default_transaction_read_only = off (or ALTER ROLE)`,
      );
    // A server of the list refused the URL itself (its user, password, database or a setting):
    // no failover changes that, so it is a setting to fix (exit 2), as for a single host. Which
    // server refused, the pool's error or the survey's, was a race, and the survey's was exit 1.
    const refusal =
      error instanceof NoPrimary
        ? error.answers.find((a) => a.refused && refusesUrl(a.refused.code, a.refused.reason))
        : undefined;
    if (error instanceof NoPrimary && refusal !== undefined)
      throw BadInputError.single(
        source.file,
        source.key,
        `PostgreSQL at ${where} refused: ${scrub(describeAnswers(error.answers), source.url)}${refusal.refused?.code === "28P01" ? noPassword(source.url) : ""}`,
      );
    // Passing, perhaps: a failover under way (exit 1, started again).
    if (error instanceof NoPrimary)
      throw new DatabaseUnreachable(
        `cannot use PostgreSQL at ${where} from ${source.key || source.file}: ${error.message}`,
      );
    const code = codeOf(error);
    const reason = errorMessage(error).split("\n")[0] ?? "";
    // 42501 while creating the schema: since PostgreSQL 15 only the database's owner may create
    // tables in `public`, so a database made by another user (`createdb` as postgres) refuses the
    // hub's user. A setting to change, not an outage to wait out.
    if (code === "42501")
      throw BadInputError.single(
        source.file,
        source.key,
        `PostgreSQL at ${where} refused: ${scrub(reason, source.url)}: the hub's user may not create its tables there; make it the database's owner (createdb -O USER, or ALTER DATABASE … OWNER TO USER)`,
      );
    // Class 28 (authentication) and 3D000 (no such database): the URL is wrong, not the network.
    // So is a `?key=value` the server does not take: the driver passes the URL's query on as
    // connection settings, and the server refuses an unknown one or a bad value at connect.
    if (code === "ERR_INVALID_URL" || refusesUrl(code, reason))
      throw BadInputError.single(
        source.file,
        source.key,
        `PostgreSQL at ${where} refused: ${scrub(reason, source.url)}${badSetting(code, reason) ? " (a ?key=value in the URL)" : ""}${code === "28P01" ? noPassword(source.url) : ""}`,
      );
    // A certificate this host does not trust, or for another name: a setting here (the CA, the
    // host name, the sslmode), which no restart changes. An expired one stays exit 1: the server's
    // renewal fixes it.
    const tls = tlsInsistedOn(source.url);
    if (tls !== undefined && UNTRUSTED_CERTIFICATE.has(code))
      throw BadInputError.single(
        source.file,
        source.key,
        `PostgreSQL at ${where} presented a certificate this host does not trust (${scrub(reason, source.url)}, ${code}) under ${tls}: ${
          code === "ERR_TLS_CERT_ALTNAME_INVALID"
            ? "connect by a host name the certificate holds"
            : "name the CA that signed it in NODE_EXTRA_CA_CERTS in the hub's environment"
        }, or set sslmode=require (encrypted, the server not verified)`,
      );
    // TLS asked of a server without it: the driver's words are those of a network reset (exit 1,
    // restarted for ever), but only a setting on one side or the other will change it.
    if (tls !== undefined && code === "ECONNRESET" && (await serverRefusesTls(source.url)) === true)
      throw BadInputError.single(
        source.file,
        source.key,
        `PostgreSQL at ${where} does not take TLS connections (it answered the TLS request with "N"), but ${source.tlsFrom === undefined ? "the URL asks" : `${source.tlsFrom} asks`} for ${tls}: turn ssl on in the server's postgresql.conf, or set sslmode=disable (or prefer) on a network you trust`,
      );
    throw new DatabaseUnreachable(
      `cannot use PostgreSQL at ${where} from ${source.key || source.file}: ${unreachableText(error, code, scrub(reason, source.url), source.url)}`,
    );
  }
}

/**
 * The server asked for a password and none was given: not in the URL, PGPASSWORD or libpq's
 * password file (pgpass.ts), or that file was not read (its mode).
 */
function noPassword(url: string): string {
  const parsed = parseDatabaseUrl(url);
  const { options } = driverTarget(url);
  // A string: one password for every host, given (a function: per host, from the file).
  if (
    parsed === undefined ||
    typeof options.pass === "string" ||
    parsed.password !== "" ||
    process.env.PGPASSWORD
  )
    return "";
  // Of a list of hosts, any may be the one that refused: each host the file has no line for is
  // named, not only the first (whose line may be there while the one connected to has none).
  const lookups = passwordLookups(parsed, options);
  const missing = lookups.filter((lookup) => passwordFromFile(lookup).password === undefined);
  if (missing.length === 0) return "";
  const { ignored } = passwordFromFile(missing[0] as PasswordLookup);
  const hosts = lookups.length > 1 ? ` for ${missing.map((l) => `${l.host}:${l.port}`).join(", ")}` : "";
  return `: no password was given${hosts}: none in the URL (percent-encoded), in PGPASSWORD, or for ${missing.map(describeLookup).join(" or ")} in ${passwordFilePath()} (lines HOST:PORT:DATABASE:USER:PASSWORD, chmod 600)${ignored ? `; ${ignored}` : ""}`;
}

function describeLookup(lookup: PasswordLookup): string {
  return `${lookup.host}:${lookup.port}:${lookup.database}:${lookup.user}`;
}

/** Node's codes for a server certificate it could not verify (not for one that expired). */
const UNTRUSTED_CERTIFICATE = new Set([
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "SELF_SIGNED_CERT_IN_CHAIN",
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  "UNABLE_TO_GET_ISSUER_CERT",
  "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
  "ERR_TLS_CERT_ALTNAME_INVALID",
]);

/**
 * Class 28 (authentication) and 3D000 (no such database): the URL is wrong, not the network. So is
 * a `?key=value` the server does not take (badSetting).
 */
function refusesUrl(code: string, reason: string): boolean {
  return code.startsWith("28") || code === "3D000" || badSetting(code, reason);
}

/** A connection setting from the URL's query the server refused (42704, 22023 at connect). */
function badSetting(code: string, reason: string): boolean {
  return (
    (code === "42704" && reason.startsWith("unrecognized configuration parameter")) ||
    (code === "22023" && reason.startsWith("invalid value for parameter"))
  );
}

/**
 * Why the server could not be reached, in words: "connection refused (ECONNREFUSED)" rather than
 * the driver's "connect ECONNREFUSED 10.0.0.5:5432" (the server is named before it already).
 */
function unreachableText(error: unknown, code: string, reason: string, url: string): string {
  // A unix socket: "no such file or directory" named no file; the socket's path says where to look.
  const address = (error as { address?: unknown }).address;
  if (
    (code === "ENOENT" || code === "ECONNREFUSED") &&
    typeof address === "string" &&
    address.startsWith("/")
  )
    return `no server listening on the socket ${address} (${code}): is PostgreSQL running, with this socket directory and port?`;
  if (errnoCode(error) !== undefined) return fsErrorText(error);
  if (code === "CONNECT_TIMEOUT") {
    const seconds = connectTimeout(url);
    return `no answer within ${typeof seconds === "number" ? seconds : DEFAULT_CONNECT_TIMEOUT_SECONDS} s (${code})`;
  }
  return code && !reason.includes(code) ? `${reason} (${code})` : reason;
}

/**
 * Driver messages may quote the URL; its password must not reach a terminal or a log. Masked where
 * it stands as a whole (as in `user:PASSWORD@host`), as written in the URL or decoded, and only in
 * the driver's words: masked wherever its letters occurred, a password "p" made our "socket
 * directory and port?" read "***ort?", and "postgres" made "/var/run/***ql", each showing the
 * password to whoever read the line.
 */
function scrub(text: string, url: string): string {
  const written = parseDatabaseUrl(url)?.password ?? "";
  let decoded = written;
  try {
    decoded = decodeURIComponent(written);
  } catch {}
  let scrubbed = text;
  for (const password of new Set([written, decoded]).values()) {
    if (password === "") continue;
    const escaped = password.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
    scrubbed = scrubbed.replace(new RegExp(`(?<![\\p{L}\\p{N}])${escaped}(?![\\p{L}\\p{N}])`, "gu"), "***");
  }
  return scrubbed;
}
