import { type Request, type Response, Router } from "express";
import type { ApiDeps } from "../api/deps.js";
import { principalOf, requireRole } from "../auth/require-role.js";
import type { AsyncStore, EventCursor } from "../store/async-store.js";

/** How often the hub looks for newly committed audit events while any page is listening. */
const WATCH_MS = 250;
/** A comment line keeps idle proxies from closing the stream. */
const HEARTBEAT_MS = 15_000;
/** Events read per query while catching up. */
const READ_LIMIT = 1000;

/**
 * `GET /api/v1/stream`: server-sent events announcing audit events as they commit, so open
 * dashboards redraw at once instead of polling. Every state change on the hub is an audit event,
 * so an event's id is the whole signal. The page reads it with fetch() and its bearer header
 * (EventSource cannot send one, and a token in the URL would reach logs). One reader serves every
 * listener, and it only runs while someone listens.
 *
 * It follows the store's commit-ordered cursor (`readEventsAfter`), never "the largest id": on
 * PostgreSQL ids are handed out before commit, so an event can commit after a larger id was seen,
 * and a hub of a cluster sees other hubs' events only that way. Each message carries the id of
 * the last event read (which changes with every new event, smaller or not) and the opaque cursor
 * as its SSE id.
 */
export class EventStream {
  private readonly listeners = new Set<Response>();
  private cursor: EventCursor | undefined;
  private lastId = 0;
  private watcher: NodeJS.Timeout | undefined;
  private heartbeat: NodeJS.Timeout | undefined;
  private reading: Promise<void> | undefined;
  private starting: Promise<void> | undefined;
  private again = false;

  constructor(private readonly deps: Pick<ApiDeps, "tokens" | "sessions"> & { store: AsyncStore }) {}

  /**
   * Reads what committed since the last look and tells every listener, now rather than at the next
   * poll. Safe to call any time (overlapping calls fold into one more read); a cluster's
   * LISTEN/NOTIFY on new events calls it.
   */
  wake(): Promise<void> {
    if (this.listeners.size === 0 || this.cursor === undefined) return Promise.resolve();
    if (this.reading) {
      this.again = true;
      return this.reading;
    }
    this.reading = this.readNew().finally(() => {
      this.reading = undefined;
      if (this.again) {
        this.again = false;
        void this.wake();
      }
    });
    return this.reading;
  }

  private async readNew(): Promise<void> {
    try {
      for (;;) {
        const start = this.cursor;
        if (start === undefined) return;
        const { events, cursor } = await this.deps.store.readEventsAfter(start, READ_LIMIT);
        this.cursor = cursor;
        const last = events.at(-1);
        if (last) {
          this.lastId = last.id;
          // A stream whose token was revoked is closed first, not told of what happened since.
          await this.deps.sessions.fresh();
          for (const res of this.listeners) this.send(res);
        }
        if (events.length < READ_LIMIT) return;
      }
    } catch {
      // The store closed under us (hub shutting down) or is unreachable for now: try again later.
    }
  }

  private send(res: Response): void {
    const id = this.cursor === undefined ? "" : `id: ${this.cursor}\n`;
    res.write(`event: changed\n${id}data: ${JSON.stringify({ id: this.lastId })}\n\n`);
  }

  private async start(): Promise<void> {
    const { store } = this.deps;
    // The cursor first: an event committing between the two reads is then announced, not lost.
    this.cursor = await store.latestEventCursor();
    this.lastId = (await store.listEvents({ limit: 1 }))[0]?.id ?? 0;
    this.watcher = setInterval(() => void this.wake(), WATCH_MS);
    this.heartbeat = setInterval(() => {
      for (const res of this.listeners) res.write(": keep-alive\n\n");
    }, HEARTBEAT_MS);
    this.watcher.unref();
    this.heartbeat.unref();
  }

  private stop(): void {
    clearInterval(this.watcher);
    clearInterval(this.heartbeat);
    this.watcher = undefined;
    this.cursor = undefined;
    this.starting = undefined;
  }

  router(): Router {
    const router = Router();
    router.get("/stream", requireRole(this.deps.tokens, "operator"), async (req: Request, res: Response) => {
      // Two first listeners at once must share one reader.
      this.starting ??= this.start();
      await this.starting;
      res.status(200).set({
        "content-type": "text/event-stream; charset=utf-8",
        "cache-control": "no-store",
        "x-accel-buffering": "no",
      });
      res.flushHeaders();
      this.listeners.add(res);
      this.send(res);
      const session = this.deps.sessions.open(principalOf(res), () => {
        this.listeners.delete(res);
        res.end();
      });
      req.on("close", () => {
        session.end();
        this.listeners.delete(res);
        if (this.listeners.size === 0) this.stop();
      });
    });
    return router;
  }
}
