/**
 * Whether the server a database URL names takes TLS at all. The driver (postgres.js) asks it
 * (PostgreSQL's SSLRequest) and, told "N" under sslmode=require, starts TLS all the same: the
 * server reads the handshake as a startup packet and hangs up, which the driver reports as
 * "Client network socket disconnected before secure TLS connection was established (ECONNRESET)",
 * the same words as a network cutting the connection. Asking again tells the two apart.
 */
import { connect } from "node:net";
import { parseDatabaseUrl, urlHosts } from "./postgres-url.js";

/** SSLRequest: length 8, then the request code 1234.5679. */
const SSL_REQUEST = Buffer.from([0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f]);

/** The URL's `sslmode=…` (or the driver's `ssl=…`) when it insists on TLS; undefined otherwise. */
export function tlsInsistedOn(url: string): string | undefined {
  const query = parseDatabaseUrl(url)?.searchParams;
  if (query === undefined) return undefined;
  const key = query.has("sslmode") ? "sslmode" : "ssl";
  const mode = query.get(key);
  return mode === null || ["disable", "false", "prefer"].includes(mode) ? undefined : `${key}=${mode}`;
}

/**
 * True when the server at the URL's host and port answers the SSLRequest with "N"; undefined
 * when it cannot tell (several hosts or a socket path in the URL, no answer within `timeoutMs`, or
 * any other answer).
 */
export async function serverRefusesTls(url: string, timeoutMs = 5_000): Promise<boolean | undefined> {
  const parsed = parseDatabaseUrl(url);
  if (parsed === undefined || urlHosts(url).length > 1) return undefined;
  if (parsed.searchParams.has("host") || parsed.hostname === "") return undefined;
  const host = parsed.hostname.replace(/^\[(.*)\]$/, "$1");
  const port = Number(parsed.port || 5432);
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (answer: boolean | undefined) => {
      socket.destroy();
      resolve(answer);
    };
    socket.setTimeout(timeoutMs, () => done(undefined));
    socket.once("error", () => done(undefined));
    socket.once("connect", () => socket.write(SSL_REQUEST));
    socket.once("data", (data) => done(data[0] === 0x4e ? true : undefined));
  });
}
