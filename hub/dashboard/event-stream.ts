import { type Request, type Response, Router } from "express";
import type { ApiDeps } from "../api/deps.js";
import { HeldPerToken } from "../auth/held-per-token.js";
import { countedElsewhere, principalOf, requireRole } from "../auth/require-role.js";
import { HubRequestError } from "../errors.js";
import type { AsyncStore, EventCursor } from "../store/async-store.js";

/** How often the hub looks for newly committed audit events while any page is listening. */
const WATCH_MS = 250;
/** A comment line keeps idle proxies from closing the stream. */
const HEARTBEAT_MS = 15_000;
/** Events read per query while catching up. */
const READ_LIMIT = 1000;
/**
 * Streams one token may hold open. Each holds a socket (a file descriptor) for as long as the
 * client likes: one operator token opened 3,000 and would have run the hub out of descriptors,
 * agents' connections with them. A browser holds at most 6 connections per hub anyway.
 */
export const MAX_STREAMS_PER_TOKEN = 20;

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
  /** Open streams per token id (jti). */
  private readonly perToken = new HeldPerToken(MAX_STREAMS_PER_TOKEN);
  /** Listeners written to while their last message was still unsent: told the latest once it drains. */
  private readonly owed = new Set<Response>();
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

  /**
   * Each message only says "the newest event is now N", so one a listener has not read yet is
   * worth nothing once a newer one exists. A reader that stops reading (or reads slowly) is not
   * queued a message per poll for as long as it stays connected (the buffer grew by every poll,
   * without bound): while its socket is full it is owed one message, the latest, sent on drain.
   */
  private send(res: Response): void {
    if (res.writableNeedDrain) {
      this.owed.add(res);
      return;
    }
    const id = this.cursor === undefined ? "" : `id: ${this.cursor}\n`;
    res.write(`event: changed\n${id}data: ${JSON.stringify({ id: this.lastId })}\n\n`);
  }

  private keepAlive(res: Response): void {
    // A full socket shows the connection is not idle; the owed message follows on drain.
    if (!res.writableNeedDrain) res.write(": keep-alive\n\n");
  }

  private async start(): Promise<void> {
    const { store } = this.deps;
    // The cursor first: an event committing between the two reads is then announced, not lost.
    this.cursor = await store.latestEventCursor();
    this.lastId = (await store.listEvents({ limit: 1 }))[0]?.id ?? 0;
    this.watcher = setInterval(() => void this.wake(), WATCH_MS);
    this.heartbeat = setInterval(() => {
      for (const res of this.listeners) this.keepAlive(res);
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
      const { jti } = principalOf(res);
      // Counted before the first await, so requests arriving together cannot all pass the check.
      const give = this.perToken.take(jti);
      if (give === undefined)
        throw new HubRequestError(
          429,
          `this token holds ${this.perToken.count(jti)} event streams already (at most ${MAX_STREAMS_PER_TOKEN}); close one, or use another token`,
        );
      countedElsewhere(res);
      let counted = true;
      req.on("close", () => {
        counted = false;
        give();
      });
      // Two first listeners at once must share one reader. A start that failed (the store could not
      // be read) is not kept: kept, it refused every later stream until the hub restarted.
      this.starting ??= this.start().catch((error: unknown) => {
        this.stop();
        throw error;
      });
      await this.starting;
      // Gone while the reader started: never listed (its close has fired already). The reader
      // idles until the next listener leaves; stopping it here could stop it under one arriving.
      if (!counted) return;
      res.status(200).set({
        "content-type": "text/event-stream; charset=utf-8",
        "cache-control": "no-store",
        "x-accel-buffering": "no",
      });
      res.flushHeaders();
      this.listeners.add(res);
      res.on("drain", () => {
        if (this.owed.delete(res)) this.send(res);
      });
      this.send(res);
      const session = this.deps.sessions.open(principalOf(res), () => {
        this.listeners.delete(res);
        this.owed.delete(res);
        res.end();
      });
      req.on("close", () => {
        session.end();
        this.listeners.delete(res);
        this.owed.delete(res);
        if (this.listeners.size === 0) this.stop();
      });
    });
    return router;
  }
}
