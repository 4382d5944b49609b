/**
 * The HTTP server's connection timeouts (keep-alive's idle wait, `server.timeout` mid-request),
 * judged after the input that arrived (shared/after-input.ts says why for the hub's other timers).
 *
 * Node runs due timers before it reads the sockets. After the hub stalled past a keep-alive
 * connection's timeout (a long synchronous step, a slow disk under SQLite, a loaded machine), the
 * request a client had sent on that connection in time was still unread when the timeout ran: Node
 * destroyed the connection under it and the client got ECONNRESET for a request the hub never read
 * (a POST, which no client sends again by itself). With a `timeout` listener Node leaves the
 * socket to it: this one closes it in the check phase, after the poll phase read what had come,
 * unless something had (Node then parses it and sets the request's own timeout).
 */
import type { Server } from "node:http";
import type { Socket } from "node:net";

export function timeoutsAfterInput(server: Server): void {
  server.on("timeout", (socket: Socket) => {
    const read = socket.bytesRead;
    setImmediate(() => {
      if (socket.bytesRead === read) socket.destroy();
    });
  });
}
