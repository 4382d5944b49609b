/**
 * libpq's URL forms the driver (postgres.js) does not read, turned into its options: a unix socket
 * directory as the host (`postgresql://%2Fvar%2Frun%2Fpostgresql/db`) or in the query
 * (`postgresql:///db?host=/var/run/postgresql`), and the connection keys libpq takes from the query
 * (`host`, `port`, `user`, `password`, `dbname`). The driver looked the encoded directory up as a
 * host name (ENOTFOUND), and sent query keys to the server as settings, which refused them
 * ("unrecognized configuration parameter host") or, with no host in the URL, connected to
 * localhost:5432 instead of the socket named.
 */

import { existsSync } from "node:fs";
import { userInfo } from "node:os";
import { join } from "node:path";
import { type PerHostOptions, perHostPassword, type Server } from "./per-host-password.js";
import { type PasswordLookup, passwordFromFile } from "./pgpass.js";

/** The URL the driver is given (those keys taken out) and the options that carry them. */
export interface DriverTarget {
  url: string;
  options: {
    /** For a URL of several hosts, `h1:5432,h2:5433`: each with its port (hostPorts). */
    host?: string;
    port?: number;
    user?: string;
    /** A function when read from the password file, per connection (and per host: per-host-password.ts). */
    pass?: string | PerHostOptions["pass"];
    socket?: PerHostOptions["socket"];
    database?: string;
    target_session_attrs?: typeof HUB_SESSION;
    /** Seconds each connection attempt may take (connectTimeout); 0: no limit. */
    connect_timeout: number;
  };
}

/** How long a connection attempt may take when neither the URL nor PGCONNECT_TIMEOUT says. */
export const DEFAULT_CONNECT_TIMEOUT_SECONDS = 10;

/**
 * libpq's connect_timeout, from the URL's `?connect_timeout=` or else PGCONNECT_TIMEOUT: whole
 * seconds, zero or negative for no limit, 1 read as 2 (libpq's minimum). The driver was always
 * given the hub's 10 s, so `connect_timeout=2` still waited 10 s on a silent server and `=0` gave
 * up after 10 s. A string naming the value (and where it came from) when it is not an integer, as
 * libpq refuses it ("invalid integer value").
 */
export function connectTimeout(url: string): number | string {
  const query = parseDatabaseUrl(url)?.searchParams.get("connect_timeout");
  if (query !== null && query !== undefined) {
    const seconds = timeoutSeconds(query);
    return typeof seconds === "number" ? seconds : `connect_timeout=${query} is ${seconds}`;
  }
  const env = process.env.PGCONNECT_TIMEOUT;
  if (!env) return DEFAULT_CONNECT_TIMEOUT_SECONDS;
  const seconds = timeoutSeconds(env);
  return typeof seconds === "number" ? seconds : `PGCONNECT_TIMEOUT is ${env}, ${seconds}`;
}

/** libpq's reading of a connect_timeout value, or what is wrong with it. */
function timeoutSeconds(value: string): number | string {
  // libpq's parse_int_param: an optional sign and digits, white space around them.
  if (!/^\s*[-+]?\d+\s*$/.test(value)) return "not a whole number of seconds (0 waits without a limit)";
  const seconds = Number(value.trim());
  // Past 2^31 ms Node fires a timer at once.
  if (seconds > 2_147_483) return "too many seconds (at most 2147483; 0 waits without a limit)";
  return seconds <= 0 ? 0 : Math.max(seconds, 2);
}

/** Where the authority's host part is in a URL's text: `h1:5432,h2:5433` of `postgres://u@h1:5432,h2:5433/db`. */
function hostSpan(url: string): { start: number; end: number } {
  const from = url.indexOf("//") + 2;
  const rest = url.slice(from);
  const end = from + (rest.search(/[/?#]/) === -1 ? rest.length : rest.search(/[/?#]/));
  const at = url.slice(from, end).lastIndexOf("@");
  return { start: at === -1 ? from : from + at + 1, end };
}

/**
 * The hosts a URL names: libpq's multi-host form lists them in the authority, separated by commas
 * (`postgresql://db1:5432,db2:5432/ship`); one entry for a URL of one host.
 */
export function urlHosts(url: string): string[] {
  const { start, end } = hostSpan(url);
  return url.slice(start, end).split(",");
}

/** libpq's port when a URL names none. */
const DEFAULT_PORT = 5432;

/**
 * Each server of a URL of several hosts, with its port as libpq reads it: the port written after
 * the host, else 5432 (PGPORT is not read for a list); `?port=` overrides them, one port for every
 * host or one per host. The driver gave a host with no port the first host's port or PGPORT, so
 * `db1:5433,db2` tried db2 on 5433 where psql tries 5432. A string when `?port=` does not match the
 * list (libpq: "could not match 2 port numbers to 3 hosts").
 */
export function hostPorts(url: string): Array<{ host: string; port: number }> | string {
  const entries = urlHosts(url).map((entry) => {
    const colon = entry.lastIndexOf(":");
    return colon === -1
      ? { host: entry, port: "" }
      : { host: entry.slice(0, colon), port: entry.slice(colon + 1) };
  });
  const query = parseDatabaseUrl(url)?.searchParams.get("port");
  const ports = query === null || query === undefined ? entries.map((e) => e.port) : query.split(",");
  if (ports.length !== 1 && ports.length !== entries.length)
    return `port=${query} names ${ports.length} ports for ${entries.length} hosts: give one port for every host, or one per host`;
  const bad = ports.find((port) => port !== "" && !/^\d{1,5}$/.test(port));
  if (bad !== undefined) return `port=${query} holds ${bad}, which is not a port number`;
  return entries.map((entry, i) => {
    const port = ports.length === 1 ? ports[0] : ports[i];
    return { host: entry.host, port: port ? Number(port) : DEFAULT_PORT };
  });
}

/**
 * A database URL parsed, a multi-host one read as its first host (as the driver does: the rest of
 * the URL is the same for every host); undefined when it does not parse, or names an empty or
 * malformed host in its list.
 */
export function parseDatabaseUrl(url: string): URL | undefined {
  const hosts = urlHosts(url);
  if (hosts.length === 1) {
    if (URL.canParse(url)) return new URL(url);
    const hostless = hostlessInQuery(url);
    return hostless === undefined ? undefined : new URL(hostless);
  }
  if (hosts.some((host) => host === "" || !URL.canParse(`postgres://${host}/`))) return undefined;
  const { start, end } = hostSpan(url);
  const first = `${url.slice(0, start)}${hosts[0]}${url.slice(end)}`;
  return URL.canParse(first) ? new URL(first) : undefined;
}

/**
 * A URL with a user, password or port but no host (`postgres://user:pw@:5433/db`), which libpq
 * reads as PGHOST's host (else its unix socket) and Node's URL parser refuses, written as the
 * same settings in libpq's query form (`postgres:///db?user=user&password=pw&port=5433`), which
 * both read; a setting the query already names is kept from the query, as libpq lets it override.
 * Undefined when the URL is not of this form, or a %-escape in it is malformed.
 */
function hostlessInQuery(url: string): string | undefined {
  const from = url.indexOf("//") + 2;
  const { start, end } = hostSpan(url);
  const authority = url.slice(from, end);
  const at = authority.lastIndexOf("@");
  const hostPort = authority.slice(at + 1);
  if (!/^(:\d*)?$/.test(hostPort) || start > end) return undefined;
  const userInfo = at === -1 ? "" : authority.slice(0, at);
  const colon = userInfo.indexOf(":");
  const rest = `${url.slice(0, from)}${url.slice(end)}`;
  if (!URL.canParse(rest)) return undefined;
  const parsed = new URL(rest);
  const settings: Array<[string, string]> = [
    ["user", colon === -1 ? userInfo : userInfo.slice(0, colon)],
    ["password", colon === -1 ? "" : userInfo.slice(colon + 1)],
    ["port", hostPort.slice(1)],
  ];
  try {
    for (const [key, value] of settings)
      if (value !== "" && !parsed.searchParams.has(key))
        parsed.searchParams.set(key, decodeURIComponent(value));
  } catch {
    return undefined;
  }
  return parsed.href;
}

/**
 * The session a hub needs of a URL with several hosts: the primary, which takes writes. libpq's
 * default (`any`) took the first that answered, a standby as well; and the driver's `read-write`
 * only checks default_transaction_read_only, which a hot standby reports as off.
 */
const HUB_SESSION = "primary" as const;

const MOVED_KEYS = ["host", "port", "user", "password", "dbname", "connect_timeout"] as const;

/** The socket directory a URL's host names (percent-encoded absolute path), if it does. */
function socketHost(parsed: URL): string | undefined {
  if (!parsed.hostname.startsWith("%2F") && !parsed.hostname.startsWith("%2f")) return undefined;
  try {
    return decodeURIComponent(parsed.hostname);
  } catch {
    return undefined;
  }
}

export function driverTarget(url: string): DriverTarget {
  const timeout = connectTimeout(url);
  // A bad value was refused with the URL (hub/cli/database-url.ts); here it only must not be NaN.
  const connect_timeout = typeof timeout === "number" ? timeout : DEFAULT_CONNECT_TIMEOUT_SECONDS;
  const parsed = parseDatabaseUrl(url);
  if (parsed === undefined) return { url, options: { connect_timeout } };
  const query = parsed.searchParams;
  const options: DriverTarget["options"] = { connect_timeout };
  const several = urlHosts(url).length > 1;
  // One host: the hub's start checks that it takes writes, and says so (postgres-store.ts).
  if (several) options.target_session_attrs = HUB_SESSION;
  query.delete("target_session_attrs");
  const socket = several ? undefined : socketHost(parsed);
  if (socket !== undefined) {
    options.host = socket;
    // The driver splits the host out of the URL text itself; a plain name keeps it from
    // decoding the directory into a path it then cuts at the first '/'.
    parsed.hostname = "localhost";
  }
  const host = query.get("host");
  if (host) options.host = host;
  const port = query.get("port") ?? (socket !== undefined && parsed.port ? parsed.port : null);
  if (port !== null && /^\d+$/.test(port)) options.port = Number(port);
  const user = query.get("user");
  if (user !== null) options.user = user;
  const password = query.get("password");
  if (password !== null) options.pass = password;
  const database = query.get("dbname");
  if (database !== null) options.database = database;
  // libpq decodes the path; the driver took `ship%20hub` as the database's name.
  else if (parsed.pathname.includes("%")) {
    try {
      options.database = decodeURIComponent(parsed.pathname.slice(1));
    } catch {}
  }
  if (!several && parsed.hostname === "" && options.host === undefined && !process.env.PGHOST)
    options.host = defaultSocketDir(
      options.port ?? Number(parsed.port || process.env.PGPORT || DEFAULT_PORT),
    );
  // libpq ignores sslmode on a unix socket (the server takes no TLS there); the driver tried TLS
  // and was reset, exit 1 restarted for ever, for a URL copied from a TCP one.
  const onSocket = options.host?.startsWith("/") === true;
  for (const key of onSocket ? [...MOVED_KEYS, "sslmode", "ssl"] : MOVED_KEYS) query.delete(key);
  if (!several) return { url: parsed.href, options: withFilePassword(parsed, options) };
  const servers = hostPorts(url);
  // The driver reads each entry's port from the host option, before its own default.
  if (typeof servers !== "string") {
    options.host = servers.map((s) => `${s.host}:${s.port}`).join(",");
    delete options.port;
  }
  return {
    url: withHost(url, urlHosts(url)[0] ?? "", parsed.search),
    options:
      typeof servers === "string"
        ? withFilePassword(parsed, options)
        : withHostPasswords(parsed, options, servers),
  };
}

/**
 * withFilePassword for a list of hosts: libpq reads the password file for the host it connects
 * to, so a password that differs per host is given per host (per-host-password.ts).
 */
function withHostPasswords(
  parsed: URL,
  options: DriverTarget["options"],
  servers: Server[],
): DriverTarget["options"] {
  if (options.pass !== undefined || parsed.password !== "" || process.env.PGPASSWORD) return options;
  // A socket directory in the list: the driver's own connection is kept (it is no TCP host).
  if (servers.some((s) => s.host.startsWith("/"))) return withFilePassword(parsed, options);
  const passwordOf = (s: Server) =>
    passwordFromFile(passwordLookup(parsed, { ...options, host: `${s.host}:${s.port}` })).password;
  const found = new Set(servers.map(passwordOf));
  // One password for every host: the driver's own connections are kept, and the file read again
  // for each (a password rotated there needs no restart). Lines that come to differ afterwards
  // are told apart only by a restart, which gives each host its own.
  if (found.size === 1) return { ...options, pass: () => passwordOf(servers[0] as Server) ?? "" };
  return { ...options, ...perHostPassword(servers, passwordOf) };
}

/**
 * Where libpq looks for the server's socket when a URL names no host (`postgresql:///ship`) and
 * PGHOST is unset: its compiled-in directory, /var/run/postgresql on Debian and Red Hat, /tmp in
 * PostgreSQL's own builds. The driver went to localhost over TCP, where pg_hba.conf usually asks
 * for a password that the socket's peer authentication does not.
 */
function defaultSocketDir(port: number): string {
  const dirs = ["/var/run/postgresql", "/tmp"];
  return dirs.find((dir) => existsSync(join(dir, `.s.PGSQL.${port}`))) ?? (dirs[0] as string);
}

/**
 * The password file's password (pgpass.ts) when the URL, its query and PGPASSWORD give none, read
 * for each new connection as libpq reads it: a password rotated in the file is used by the next
 * connection, with no hub restart (none there: empty, as the driver's own default).
 */
function withFilePassword(parsed: URL, options: DriverTarget["options"]): DriverTarget["options"] {
  if (options.pass !== undefined || parsed.password !== "" || process.env.PGPASSWORD) return options;
  const lookup = passwordLookup(parsed, options);
  return { ...options, pass: () => passwordFromFile(lookup).password ?? "" };
}

/** What the driver connects as, the first host of a list: the password file is searched for it. */
export function passwordLookup(parsed: URL, options: DriverTarget["options"]): PasswordLookup {
  const env = process.env;
  const first = (options.host ?? (parsed.hostname || env.PGHOST || "localhost")).split(",")[0] as string;
  const colon = first.startsWith("/") ? -1 : first.lastIndexOf(":");
  const user = options.user ?? (decodeURIComponent(parsed.username) || env.PGUSER || userInfo().username);
  return {
    host: colon === -1 ? first : first.slice(0, colon),
    port:
      colon === -1
        ? (options.port ?? Number(parsed.port || env.PGPORT || DEFAULT_PORT))
        : Number(first.slice(colon + 1)),
    database: options.database ?? (decodeURIComponent(parsed.pathname.slice(1)) || env.PGDATABASE || user),
    user,
  };
}

/**
 * passwordLookup for each host of a list (the driver's `host` option, `h1:p1,h2:p2`), in order:
 * libpq looks the password up for the host it connects to, which may be any of them.
 */
export function passwordLookups(parsed: URL, options: DriverTarget["options"]): PasswordLookup[] {
  const hosts = options.host?.split(",") ?? [];
  if (hosts.length < 2) return [passwordLookup(parsed, options)];
  return hosts.map((host) => passwordLookup(parsed, { ...options, host }));
}

/** The URL with its host list replaced by `host` and its query by `search`. */
function withHost(url: string, host: string, search: string): string {
  const { start, end } = hostSpan(url);
  const tail = url.slice(end);
  const pathEnd = tail.search(/[?#]/) === -1 ? tail.length : tail.search(/[?#]/);
  return `${url.slice(0, start)}${host}${tail.slice(0, pathEnd)}${search}`;
}

/**
 * Each server of a URL of several hosts as a URL of its own (its port as hostPorts reads it), to
 * ask each alone; the URL itself when it names one host.
 */
export function singleHostUrls(url: string): Array<{ server: string; url: string }> {
  const servers = hostPorts(url);
  if (typeof servers === "string" || servers.length === 1) return [{ server: describeTarget(url), url }];
  const parsed = parseDatabaseUrl(url);
  if (parsed === undefined) return [];
  for (const key of ["host", "port", "target_session_attrs"]) parsed.searchParams.delete(key);
  return servers.map(({ host, port }) => ({
    server: `${host}:${port}`,
    url: withHost(url, `${host}:${port}`, parsed.search),
  }));
}

/**
 * Where the URL points, for messages: `user@host:port/db`, or `user@/socket/dir:port/db` for a
 * unix socket. Never the password.
 */
export function describeTarget(url: string): string {
  const parsed = parseDatabaseUrl(url);
  if (parsed === undefined) throw new Error("not a database URL");
  const { options } = driverTarget(url);
  const name = options.user ?? (parsed.username ? decodeURIComponent(parsed.username) : "");
  const hosts = urlHosts(url);
  if (hosts.length > 1)
    return `${parsed.protocol}//${name ? `${name}@` : ""}${hosts.join(",")}${options.database === undefined ? parsed.pathname : `/${options.database}`}`;
  const host = options.host ?? parsed.hostname;
  const port = options.port ?? parsed.port;
  const database = options.database === undefined ? parsed.pathname : `/${options.database}`;
  return `${parsed.protocol}//${name ? `${name}@` : ""}${host}${port ? `:${port}` : ""}${database}`;
}
