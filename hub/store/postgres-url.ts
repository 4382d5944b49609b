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
  options: { host?: string; port?: number; user?: string; pass?: string; database?: string };
}

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
  if (!URL.canParse(url)) return { url, options: {} };
  const parsed = new URL(url);
  const query = parsed.searchParams;
  const options: DriverTarget["options"] = {};
  const socket = socketHost(parsed);
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
  if (!onSocket && !MOVED_KEYS.some((key) => query.has(key))) return { url, options };
  for (const key of onSocket ? [...MOVED_KEYS, "sslmode", "ssl"] : MOVED_KEYS) query.delete(key);
  return { url: parsed.href, options };
}

/**
 * Where the URL points, for messages: `user@host:port/db`, or `user@/socket/dir:port/db` for a
 * unix socket. Never the password.
 */
export function describeTarget(url: string): string {
  const parsed = new URL(url);
  const { options } = driverTarget(url);
  const name = options.user ?? (parsed.username ? decodeURIComponent(parsed.username) : "");
  const host = options.host ?? parsed.hostname;
  const port = options.port ?? parsed.port;
  const database = options.database === undefined ? parsed.pathname : `/${options.database}`;
  return `${parsed.protocol}//${name ? `${name}@` : ""}${host}${port ? `:${port}` : ""}${database}`;
}
