import { type Request, type Response, Router } from "express";
import type { ApiDeps } from "../api/deps.js";
import { principalOf, requireRole } from "../auth/require-role.js";

/** How often the hub looks for a new audit event while any page is listening. */
const WATCH_MS = 250;
/** A comment line keeps idle proxies from closing the stream. */
const HEARTBEAT_MS = 15_000;

/**
 * `GET /api/v1/stream`: server-sent events announcing the newest audit-event id whenever it
 * changes, so open dashboards redraw at once instead of polling. Every state change on the hub is
 * an audit event, so the id is the whole signal. The page reads it with fetch() and its bearer
 * header (EventSource cannot send one, and a token in the URL would reach logs). One watcher query
 * serves every listener, and it only runs while someone listens.
 */
export function eventStreamRoutes(deps: Pick<ApiDeps, "store" | "tokens" | "sessions">): Router {
  const listeners = new Set<Response>();
  let newest = -1;
  let watcher: NodeJS.Timeout | undefined;
  let heartbeat: NodeJS.Timeout | undefined;

  const latestId = (): number => deps.store.listEvents({ limit: 1 })[0]?.id ?? 0;
  const send = (res: Response, id: number) =>
    res.write(`event: changed\ndata: ${JSON.stringify({ id })}\n\n`);

  const start = () => {
    newest = latestId();
    watcher = setInterval(() => {
      let id: number;
      try {
        id = latestId();
      } catch {
        // The store closed under us (hub shutting down): the sockets are closing too.
        stop();
        return;
      }
      if (id === newest) return;
      newest = id;
      for (const res of listeners) send(res, id);
    }, WATCH_MS);
    heartbeat = setInterval(() => {
      for (const res of listeners) res.write(": keep-alive\n\n");
    }, HEARTBEAT_MS);
    watcher.unref();
    heartbeat.unref();
  };
  const stop = () => {
    clearInterval(watcher);
    clearInterval(heartbeat);
    watcher = undefined;
  };

  const router = Router();
  router.get("/stream", requireRole(deps.tokens, "operator"), (req: Request, res: Response) => {
    res.status(200).set({
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-store",
      "x-accel-buffering": "no",
    });
    res.flushHeaders();
    if (listeners.size === 0) start();
    listeners.add(res);
    send(res, newest);
    const session = deps.sessions.open(principalOf(res), () => {
      listeners.delete(res);
      res.end();
    });
    req.on("close", () => {
      session.end();
      listeners.delete(res);
      if (listeners.size === 0) stop();
    });
  });
  return router;
}
