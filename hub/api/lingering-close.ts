/**
 * Closing a connection whose request body is still arriving (refused before it was read: no
 * token, a wrong role, too large, …). Node answers, then closes the socket as soon as the answer
 * is handed to the kernel; the client's bytes still arriving make the kernel reset the connection,
 * and a client that is still writing meets EPIPE and drops the connection before it read the
 * answer — it saw a reset, not the 401/403/413 saying why (one run in six under load here).
 * RFC 9112 §9.6 ("the TCP reset problem") asks for a staged close: half-close after the answer,
 * read on and discard until the client closes or for a short while, then close. nginx does the
 * same (`lingering_close`). The while is short and fixed, so a client sending without end still
 * cannot make the hub read its body for long.
 */
import type { IncomingMessage, RequestListener, ServerResponse } from "node:http";
import type { Socket } from "node:net";

/** How long (ms) the hub reads on and discards after such an answer before it closes. */
export const LINGER_MS = 1000;

/** `app`, with a staged close for connections Node closes after answering before the body was in. */
export function lingerAfterUnreadBody(app: RequestListener): RequestListener {
  return (req: IncomingMessage, res: ServerResponse) => {
    // "prefinish" comes before Node's own "finish" handler, which closes the connection.
    res.once("prefinish", () => {
      if (!req.complete) closeInStages(req.socket, res);
    });
    app(req, res);
  };
}

/** Replaces, for this answer only, the close Node makes after it (`destroySoon`). */
function closeInStages(socket: Socket, res: ServerResponse): void {
  socket.destroySoon = () => {
    if (socket.destroyed) return;
    // FIN after the answer: the client reads it, and its own close ends the wait.
    socket.end();
    const timer = setTimeout(() => socket.destroy(), LINGER_MS);
    timer.unref();
    socket.once("end", () => socket.destroy());
    socket.once("close", () => clearTimeout(timer));
  };
  // A connection Node keeps open (it reads the rest of the body itself) closes as usual later.
  res.once("finish", () => {
    Reflect.deleteProperty(socket, "destroySoon");
  });
}
