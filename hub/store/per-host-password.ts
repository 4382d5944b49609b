/**
 * The password of a URL of several hosts looked up for the host actually connected to, as libpq
 * looks up its password file per host. The driver (postgres.js) picks the host itself and asks
 * for the password with no word of which one, so the hub was given the first host's password for
 * every host, and a password file with a line per host was refused on any host but the first.
 *
 * The driver's `socket` option lets the hub open each connection itself: it takes the hosts in
 * turn (the driver, given a socket, no longer does), and the host of each connection is kept in
 * the async context its socket is made in, where the driver's password request then runs.
 *
 * The driver opens a cancel request's connection through `socket` too, so it would go to the next
 * host in turn rather than the one running the query (where it must go). The hub never cancels a
 * query (it stops waiting for an unanswered one, answer-deadline.ts), so none is sent; a caller that
 * starts using `query.cancel()` must route it to the query's own host first.
 */
import { AsyncLocalStorage } from "node:async_hooks";
import { Socket } from "node:net";

export interface Server {
  host: string;
  port: number;
}

/** The driver's options that make the password follow the host. */
export interface PerHostOptions {
  socket: () => Socket;
  pass: () => string;
}

export function perHostPassword(
  servers: Server[],
  passwordOf: (server: Server) => string | undefined,
): PerHostOptions {
  const connecting = new AsyncLocalStorage<Server>();
  let next = 0;
  return {
    socket() {
      const server = servers[next++ % servers.length] as Server;
      // enterWith, not run: the driver's TLS socket, if it asks for TLS, is made after this call
      // returns, in the context this call leaves behind; with run() it would not know the host.
      connecting.enterWith(server);
      const socket = new Socket();
      socket.connect(server.port, server.host);
      // The driver names the server in its errors, and TLS checks the certificate, by these.
      return Object.assign(socket, { host: server.host, port: server.port });
    },
    pass() {
      return passwordOf(connecting.getStore() ?? (servers[0] as Server)) ?? "";
    },
  };
}
