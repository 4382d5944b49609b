/**
 * Opening the PostgreSQL database a hub command was given, with errors a person can act on: one
 * line naming where the URL came from and the server it points at (never the password), and the
 * exit code the CLI gives bad input (2) when the URL itself is wrong (unknown database, user or
 * password) versus a failure (1) when the server could not be reached.
 */
import { BadInputError, errorMessage } from "../../shared/errors.js";
import { openPostgresStore, type PostgresStore } from "./postgres-store.js";

/** Where a database URL came from: the flag, the environment variable, or hub.toml's key. */
export interface DatabaseSource {
  url: string;
  file: string;
  key: string;
}

/** `postgres://user@host:port/db` with the password (and query) left out, for messages and logs. */
export function describeDatabaseUrl(url: string): string {
  try {
    const u = new URL(url);
    const user = u.username ? `${decodeURIComponent(u.username)}@` : "";
    return `${u.protocol}//${user}${u.host}${u.pathname}`;
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
export async function openDatabase(source: DatabaseSource): Promise<PostgresStore> {
  const where = describeDatabaseUrl(source.url);
  try {
    return await openPostgresStore(source.url);
  } catch (error) {
    const code = codeOf(error);
    const reason = errorMessage(error).split("\n")[0] ?? "";
    // Class 28 (authentication) and 3D000 (no such database): the URL is wrong, not the network.
    if (code.startsWith("28") || code === "3D000" || code === "ERR_INVALID_URL")
      throw BadInputError.single(
        source.file,
        source.key,
        `PostgreSQL at ${where} refused: ${scrub(reason, source.url)}`,
      );
    const errno = code ? ` (${code})` : "";
    throw new DatabaseUnreachable(
      `cannot use PostgreSQL at ${where} from ${source.key || source.file}: ${scrub(reason, source.url)}${reason.includes(code) ? "" : errno}`,
    );
  }
}

/** Driver messages may quote the URL; its password must not reach a terminal or a log. */
function scrub(text: string, url: string): string {
  let password = "";
  try {
    password = decodeURIComponent(new URL(url).password);
  } catch {}
  return password ? text.split(password).join("***") : text;
}
