/**
 * Connections that outlive the request that authenticated them (the agent WebSocket, operators'
 * event streams) are re-checked against their token: one revoked (`ship-hub token revoke` writes
 * the database from another process, so the store is polled) or past its `exp` is closed. A token
 * is otherwise only checked at connect, and a revoked agent would keep reporting for days.
 */
import type { Logger } from "../../shared/log.js";
import type { StoreOps } from "../store/async-store.js";
import type { Principal } from "./tokens.js";

export interface LiveSession {
  /** The connection now runs on a renewed token. */
  renewed(principal: Pick<Principal, "jti" | "expires">): void;
  /** The connection closed on its own. */
  end(): void;
}

interface Entry {
  /**
   * The token the connection started with and the one it runs on now. Revoking any token of a
   * family revokes every renewal of it (`Store.revokeToken`), the current one included, so the
   * renewals in between need not be kept: kept, they grew by one per renewal for as long as the
   * connection lasted (an agent on 1-hour tokens: 48 a day, every one looked through each second).
   */
  jtis: Set<string>;
  readonly first: string;
  expires: number;
  close: (reason: string) => void;
}

export class LiveSessions {
  private readonly entries = new Set<Entry>();
  private readonly bySession = new WeakMap<LiveSession, Entry>();
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;

  constructor(
    private readonly store: StoreOps,
    private readonly log: Logger,
    private readonly now: () => number,
    private readonly checkMs: number,
  ) {}

  open(principal: Pick<Principal, "jti" | "expires" | "name">, close: (reason: string) => void): LiveSession {
    const entry: Entry = {
      jtis: new Set([principal.jti]),
      first: principal.jti,
      expires: principal.expires,
      close,
    };
    this.entries.add(entry);
    this.timer ??= setInterval(() => void this.check(), this.checkMs).unref();
    const session: LiveSession = {
      renewed: (next) => {
        entry.jtis = new Set([entry.first, next.jti]);
        entry.expires = next.expires;
      },
      end: () => this.remove(entry),
    };
    this.bySession.set(session, entry);
    return session;
  }

  /**
   * Of `sessions`, those whose token the store shows revoked or that have expired, read through
   * `t` (the transaction about to apply their messages): a message applied after `token revoke`
   * committed is refused, not taken until the next periodic check.
   */
  async endedIn(
    t: Pick<StoreOps, "revokedTokensInForce">,
    sessions: Iterable<LiveSession>,
  ): Promise<Map<LiveSession, string>> {
    const ended = new Map<LiveSession, string>();
    const asked = new Map<LiveSession, Entry>();
    for (const s of sessions) {
      const entry = this.bySession.get(s);
      if (entry) asked.set(s, entry);
    }
    if (asked.size === 0) return ended;
    const now = this.now();
    const revoked = new Set(await t.revokedTokensInForce(now));
    for (const [session, entry] of asked) {
      if ([...entry.jtis].some((jti) => revoked.has(jti))) ended.set(session, "token revoked");
      else if (entry.expires <= now) ended.set(session, "token expired");
    }
    return ended;
  }

  /** Closes a session `endedIn` found ended (once; a closed one is left alone). */
  close(session: LiveSession, reason: string): void {
    const entry = this.bySession.get(session);
    if (!entry || !this.entries.has(entry)) return;
    this.remove(entry);
    this.log.info("closing a session whose token ended", { jtis: [...entry.jtis], reason });
    entry.close(reason);
  }

  /** Closes every session whose token was revoked or has expired. */
  check(): Promise<void> {
    // Expiry needs no store, so it is not held up by one: while the database was unreachable a
    // read of revocations waited (postgres.js queues queries while it reconnects), no check ran
    // after it, and sessions whose token expired meanwhile stayed open for the whole outage.
    this.closeEnded(new Set(), this.now());
    // One read at a time: a slow database must not pile up overlapping queries.
    this.running ??= this.checkOnce().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  /**
   * A check that reads the store after this call: what a sender awaits before writing to live
   * sessions (the event stream), so none whose token was revoked before it is written to.
   */
  async fresh(): Promise<void> {
    await this.running;
    await this.check();
  }

  private async checkOnce(): Promise<void> {
    const now = this.now();
    let revoked: Set<string>;
    try {
      revoked = new Set(await this.store.revokedTokensInForce(now));
    } catch {
      return; // the store closed under us (the hub is shutting down) or is unreachable for now
    }
    this.closeEnded(revoked, now);
  }

  /** Closes the sessions whose token is among `revoked` or expired by `now`. */
  private closeEnded(revoked: ReadonlySet<string>, now: number): void {
    for (const entry of [...this.entries]) {
      const isRevoked = [...entry.jtis].some((jti) => revoked.has(jti));
      const reason = isRevoked ? "token revoked" : entry.expires <= now ? "token expired" : undefined;
      if (reason === undefined) continue;
      this.remove(entry);
      this.log.info("closing a session whose token ended", { jtis: [...entry.jtis], reason });
      entry.close(reason);
    }
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    this.entries.clear();
  }

  private remove(entry: Entry): void {
    this.entries.delete(entry);
    if (this.entries.size === 0) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
  }
}
