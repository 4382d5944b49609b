/**
 * libpq's URL forms the driver (postgres.js) does not read, turned into its options: a unix socket
 * directory as the host (`postgresql://%2Fvar%2Frun%2Fpostgresql/db`) or in the query
 * (`postgresql:///db?host=/var/run/postgresql`), and the connection keys libpq takes from the query
 * (`host`, `port`, `user`, `password`, `dbname`). The driver looked the encoded directory up as a
 * host name (ENOTFOUND), and sent query keys to the server as settings, which refused them
 * ("unrecognized configuration parameter host") or, with no host in the URL, connected to
 * localhost:5432 instead of the socket named.
 */

/** The URL the driver is given (those keys taken out) and the options that carry them. */
export interface DriverTarget {
  url: string;
  options: {
    host?: string;
    port?: number;
    user?: string;
    pass?: string;
    database?: string;
    target_session_attrs?: typeof HUB_SESSION;
  };
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

/**
 * A database URL parsed, a multi-host one read as its first host (as the driver does: the rest of
 * the URL is the same for every host); undefined when it does not parse, or names an empty or
 * malformed host in its list.
 */
export function parseDatabaseUrl(url: string): URL | undefined {
  const hosts = urlHosts(url);
  if (hosts.length === 1) return URL.canParse(url) ? new URL(url) : undefined;
  if (hosts.some((host) => host === "" || !URL.canParse(`postgres://${host}/`))) return undefined;
  const { start, end } = hostSpan(url);
  const first = `${url.slice(0, start)}${hosts[0]}${url.slice(end)}`;
  return URL.canParse(first) ? new URL(first) : undefined;
}

/**
 * The session a hub needs of a URL with several hosts: the primary, which takes writes. libpq's
 * default (`any`) took the first that answered, a standby as well; and the driver's `read-write`
 * only checks default_transaction_read_only, which a hot standby reports as off.
 */
const HUB_SESSION = "primary" as const;

const MOVED_KEYS = ["host", "port", "user", "password", "dbname"] as const;

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
  const parsed = parseDatabaseUrl(url);
  if (parsed === undefined) return { url, options: {} };
  const query = parsed.searchParams;
  const options: DriverTarget["options"] = {};
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
  // libpq ignores sslmode on a unix socket (the server takes no TLS there); the driver tried TLS
  // and was reset, exit 1 restarted for ever, for a URL copied from a TCP one.
  const onSocket = options.host?.startsWith("/") === true;
  for (const key of onSocket ? [...MOVED_KEYS, "sslmode", "ssl"] : MOVED_KEYS) query.delete(key);
  if (!several) return { url: parsed.href, options };
  // The driver reads the host list from the URL's text, which URL (one host) cannot hold.
  const { end } = hostSpan(url);
  const tail = url.slice(end);
  const pathEnd = tail.search(/[?#]/) === -1 ? tail.length : tail.search(/[?#]/);
  return { url: `${url.slice(0, end)}${tail.slice(0, pathEnd)}${parsed.search}`, options };
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
