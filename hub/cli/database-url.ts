import { BadInputError } from "../../shared/errors.js";
import { DATABASE_URL_SCHEME, databaseUrlProblem, type HubConfig } from "../config/schema.js";
import type { DatabaseSource } from "../store/open-database.js";
import { connectTimeout, hostPorts, parseDatabaseUrl, urlHosts } from "../store/postgres-url.js";

export const DATABASE_URL_ENV = "SHIP_HUB_DATABASE_URL";

/**
 * The PostgreSQL URL a hub command was given, and where it came from (flag, then environment,
 * then hub.toml), so an error can name the place the user has to change. With one, `serve` and
 * `token create|revoke|list` use that database instead of the data dir's SQLite file.
 */
export function databaseUrlOf(
  flag: string | undefined,
  config: HubConfig,
  configFile: string | undefined,
): DatabaseSource | undefined {
  // Given but empty or not a PostgreSQL URL is a mistake to name, not a quiet fall back to SQLite.
  const source = givenSource(flag, config, configFile);
  return source === undefined ? undefined : withLibpqEnvironment(source);
}

function givenSource(
  flag: string | undefined,
  config: HubConfig,
  configFile: string | undefined,
): DatabaseSource | undefined {
  if (flag !== undefined) return checked(flag, "--database-url");
  const env = process.env[DATABASE_URL_ENV];
  // An empty variable reads as unset, as shells and systemd's Environment= use it.
  if (env) return checked(env, DATABASE_URL_ENV);
  if (config.database_url) {
    const file = configFile ?? "hub.toml";
    const problem = tlsSettingProblem(config.database_url);
    if (problem !== undefined) throw BadInputError.single(file, "database_url", problem);
    return { url: config.database_url, file, key: "database_url" };
  }
  return undefined;
}

/** libpq's TLS variables the driver does not read, and what each would have given. */
const UNREAD_TLS_VARIABLES: Record<string, string> = {
  PGSSLROOTCERT: "the CA to check the server against: name it in NODE_EXTRA_CA_CERTS instead",
  PGSSLCERT: "a client certificate, which it does not support: log in with a password",
  PGSSLKEY: "a client key, which it does not support: log in with a password",
  PGSSLCRL: "a revocation list, which it does not support",
  PGSSLCRLDIR: "a revocation list, which it does not support",
};

/**
 * libpq's environment variables an operator sets for psql, which the driver ignored: PGSSLMODE
 * (the driver reads only the URL's sslmode, so PGSSLMODE=verify-full connected in plain text) is
 * taken into the URL when the URL has none, as libpq does; the TLS files and a read-only
 * PGTARGETSESSIONATTRS would not do what they say, so they are refused by name, exit 2. The driver
 * reads PGHOST, PGPORT, PGUSER, PGPASSWORD, PGDATABASE and PGAPPNAME itself.
 */
function withLibpqEnvironment(source: DatabaseSource): DatabaseSource {
  const env = process.env;
  for (const [name, what] of Object.entries(UNREAD_TLS_VARIABLES))
    if (env[name])
      throw BadInputError.single(
        name,
        "",
        `is set, but ship-hub's PostgreSQL driver does not read it (${what}); unset it in the hub's environment`,
      );
  const timeout = connectTimeout(source.url);
  // The URL's own connect_timeout was checked with the URL; this one is the environment's.
  if (typeof timeout === "string" && env.PGCONNECT_TIMEOUT)
    throw BadInputError.single("PGCONNECT_TIMEOUT", "", timeout.replace(/^PGCONNECT_TIMEOUT /, ""));
  const listed = withHostList(source);
  if (listed !== source) return withLibpqEnvironment(listed);
  const portProblem = envPortProblem(source.url);
  if (portProblem !== undefined) throw BadInputError.single("PGPORT", "", portProblem);
  const session = env.PGTARGETSESSIONATTRS;
  if (session && !HUB_SESSIONS.includes(session))
    throw BadInputError.single("PGTARGETSESSIONATTRS", "", sessionProblem(session));
  const mode = env.PGSSLMODE;
  const query = parseDatabaseUrl(source.url)?.searchParams;
  if (!mode || query === undefined || query.has("sslmode") || query.has("ssl")) return source;
  if (!SSL_MODES.includes(mode))
    throw BadInputError.single("PGSSLMODE", "", `is ${mode}, not one of ${SSL_MODES.join(", ")}`);
  const [beforeFragment, fragment] = source.url.split("#", 2);
  const url = `${beforeFragment}${beforeFragment?.includes("?") ? "&" : "?"}sslmode=${mode}${fragment === undefined ? "" : `#${fragment}`}`;
  return { ...source, url, tlsFrom: "PGSSLMODE" };
}

/**
 * PGHOST naming several servers (`db1,db2`, as libpq reads it) for a URL that names none, written
 * into the URL as its list of hosts (each with PGPORT's port, one for all or one per host), so the
 * hub treats it as that list: it looks for the primary among them, asks each alone when none
 * answers as one, and names them in its messages. The driver tried the list itself, but the hub
 * took it for one server: a standby first in it was "a standby: list every server" (exit 2).
 */
function withHostList(source: DatabaseSource): DatabaseSource {
  const hosts = process.env.PGHOST;
  const parsed = parseDatabaseUrl(source.url);
  if (
    !hosts?.includes(",") ||
    parsed === undefined ||
    parsed.hostname !== "" ||
    parsed.searchParams.has("host")
  )
    return source;
  const names = hosts.split(",");
  const ports = (process.env.PGPORT ?? "").split(",");
  if (ports.length > 1 && ports.length !== names.length)
    throw BadInputError.single(
      "PGPORT",
      "",
      `names ${ports.length} ports for the ${names.length} hosts of PGHOST: give one port for every host, or one per host`,
    );
  const list = names
    .map((name, i) => {
      const port = ports.length === 1 ? ports[0] : ports[i];
      return port ? `${name}:${port}` : name;
    })
    .join(",");
  // The parsed form: a user or port before the empty host is in its query (parseDatabaseUrl).
  const start = parsed.href.indexOf("//") + 2;
  const url = `${parsed.href.slice(0, start)}${list}${parsed.href.slice(start)}`;
  const problem = databaseUrlProblem(url) ?? tlsSettingProblem(url);
  if (problem !== undefined)
    throw BadInputError.single("PGHOST", "", `is ${hosts}: the database URL it completes ${problem}`);
  return { ...source, url };
}

/**
 * PGPORT for a URL of one host that names no port, as libpq refuses it: a list of ports ("could
 * not match 2 port numbers to 1 hosts") or not a port. The driver read the first number in it
 * (`5433,5434` as 5433, `54x` as 54) and connected elsewhere, or named a port nobody wrote.
 */
function envPortProblem(url: string): string | undefined {
  const port = process.env.PGPORT;
  const parsed = parseDatabaseUrl(url);
  if (
    !port ||
    parsed === undefined ||
    urlHosts(url).length > 1 ||
    parsed.port !== "" ||
    parsed.searchParams.has("port")
  )
    return undefined;
  const ports = port.split(",");
  if (ports.length > 1)
    return `is ${port}: ${ports.length} ports for the one host of the database URL (list the hosts in PGHOST or the URL, one port each)`;
  const number = Number(port.trim());
  if (!/^\s*\d+\s*$/.test(port) || number < 1 || number > 65535)
    return `is ${port}, not a port number (1-65535)`;
  return undefined;
}

function sessionProblem(session: string): string {
  return READ_ONLY_SESSIONS.includes(session)
    ? `target_session_attrs=${session} asks for a read-only server, but the hub writes to its database: leave it out (with several hosts the hub picks the primary) or write primary`
    : `target_session_attrs=${session} is not one of ${[...HUB_SESSIONS, ...READ_ONLY_SESSIONS].join(", ")}`;
}

/**
 * libpq's target_session_attrs a hub can work with: every one is read as `primary` (postgres-url.ts);
 * the others pick a server that refuses the hub's writes.
 */
const HUB_SESSIONS = ["any", "read-write", "primary"];
const READ_ONLY_SESSIONS = ["read-only", "standby", "prefer-standby"];

/** What libpq's sslmode means, and what the driver (postgres.js) does with each. */
const SSL_MODES = ["disable", "allow", "prefer", "require", "verify-ca", "verify-full"];
/**
 * libpq's TLS file settings the driver does not read: it passed them to the server as settings
 * (sslrootcert too, even =system, which it also reads as verify-full).
 */
const UNREAD_TLS_FILES: Record<string, string> = {
  sslcert: "a client certificate",
  sslkey: "a client key",
  sslpassword: "a client key's password",
  sslcrl: "a revocation list",
  sslcrldir: "a revocation list",
};

/**
 * A TLS setting in the URL's query that would not do what libpq's documentation says. The driver
 * took any unknown sslmode as verify-full, and sent sslrootcert=FILE (and the client certificate
 * settings) to the server as connection settings, which refused them as unknown ("unrecognized
 * configuration parameter sslrootcert"), as if the server lacked something.
 */
function tlsSettingProblem(url: string): string | undefined {
  const query = parseDatabaseUrl(url)?.searchParams;
  if (query === undefined) return undefined;
  const servers = urlHosts(url).length > 1 ? hostPorts(url) : undefined;
  if (typeof servers === "string") return servers;
  const session = query.get("target_session_attrs");
  if (session !== null && !HUB_SESSIONS.includes(session)) return sessionProblem(session);
  const timeout = query.has("connect_timeout") ? connectTimeout(url) : undefined;
  if (typeof timeout === "string") return timeout;
  const mode = query.get("sslmode");
  if (mode !== null && !SSL_MODES.includes(mode))
    return `sslmode=${mode} is not one of ${SSL_MODES.join(", ")}`;
  const rootCert = query.get("sslrootcert");
  if (rootCert !== null)
    return `sslrootcert=${rootCert} is not read by ship-hub's PostgreSQL driver: sslmode=verify-full checks the server against the system's CAs; name another CA file in NODE_EXTRA_CA_CERTS in the hub's environment`;
  for (const [key, what] of Object.entries(UNREAD_TLS_FILES))
    if (query.has(key))
      return `${key} (${what}) is not supported by ship-hub's PostgreSQL driver: log in with a password, and TLS (sslmode=verify-full) for the connection`;
  return undefined;
}

/** The URL itself is never echoed: it may carry a password. */
function checked(url: string, file: string): DatabaseSource {
  const problem =
    url === "" ? `is empty: ${DATABASE_URL_SCHEME}` : (databaseUrlProblem(url) ?? tlsSettingProblem(url));
  if (problem !== undefined)
    throw BadInputError.single(
      file,
      "",
      problem === DATABASE_URL_SCHEME ? `is not accepted: ${problem}` : problem,
    );
  return { url, file, key: "" };
}

/**
 * A warning when `--database-url` carries a password: a command line is readable by every local
 * user (`ps`, /proc/PID/cmdline) for as long as the process runs, which for `serve` is its life.
 */
export function passwordOnCommandLine(flag: string | undefined): string | undefined {
  const url = flag === undefined ? undefined : parseDatabaseUrl(flag);
  if (url === undefined) return undefined;
  if (url.password === "" && !url.searchParams.has("password")) return undefined;
  return `--database-url holds a password, which every local user can read in the process list (ps) while ship-hub runs; set ${DATABASE_URL_ENV} or hub.toml database_url (chmod 600) instead`;
}
