/**
 * Waiting for hub.db's write lock without stopping the hub. better-sqlite3 is synchronous: with a
 * busy_timeout, a statement that finds the lock held (an operator's `sqlite3 hub.db` inside a
 * transaction, `VACUUM`, another `ship-hub` command writing) sleeps inside the call, and with it
 * the whole process: WebSocket pings, the API and the dashboard stalled 5 s per write, one write
 * after another, for as long as the lock was held. Here the database answers "busy" at once
 * (busy_timeout 0) and the wait is a timer: the event loop runs meanwhile.
 */
import type { Logger } from "../../shared/log.js";

/** How long one store call waits for the lock (from when it was asked) before it fails. */
export const DEFAULT_LOCK_WAIT_MS = 5000;
/** The longest pause between two tries: a lock let go is noticed within it. */
const LONGEST_PAUSE_MS = 250;
/** A wait this long is said (a moment's lock, another command's write, is not). */
const WARN_AFTER_MS = 1000;

/** SQLITE_BUSY and its extended codes (SQLITE_BUSY_SNAPSHOT, SQLITE_BUSY_RECOVERY …). */
export function isSqliteBusy(error: unknown): boolean {
  const code = typeof error === "object" && error !== null ? (error as { code?: unknown }).code : undefined;
  return typeof code === "string" && code.startsWith("SQLITE_BUSY");
}

/** The code of a store call that gave up waiting: the API's 503 and the agent channel's retry read it. */
export const LOCKED_CODE = "SQLITE_BUSY";

/** A store call that waited its time for the lock another process holds, and did nothing. */
export class DatabaseLocked extends Error {
  readonly code = LOCKED_CODE;
  constructor(
    readonly file: string,
    readonly seconds: number,
  ) {
    super(`${file} is locked by another process (waited ${seconds} s for its write lock)`);
    this.name = "DatabaseLocked";
  }
}

/** What the waiting needs of the database: a try at the write lock that never waits. */
export interface LockProbe {
  /** Whether the write lock can be had now (taken and let go at once). */
  writable(): boolean;
}

export interface LockWaitOptions {
  file: string;
  probe: LockProbe;
  log?: Logger | undefined;
  waitMs?: number;
  now?: () => number;
}

/**
 * Runs synchronous store calls, each again after a pause while it finds the database locked, until
 * its time (counted from when it was asked, so calls queued behind a waiting one do not wait again
 * in turn) runs out. A call must change nothing when it fails busy: one statement, or a transaction
 * (better-sqlite3 rolls one back when it throws). A lock held for a moment (another `ship-hub`
 * command's write) passes unsaid; one a call waits a second for is a warning, once, and the end of
 * it an INFO line.
 */
export class LockWait {
  private readonly waitMs: number;
  /**
   * Monotonic ms (the wait is a duration): on the wall clock, one stepped forward while a call
   * waited refused it at once as past its wait, and one set back an hour held it (and every call
   * queued behind it) for the hour while the lock stayed held.
   */
  readonly now: () => number;
  /** Since when a lock has been met; undefined while none is. */
  private lockedSince: number | undefined;
  private warned = false;
  private refused = 0;

  constructor(private readonly options: LockWaitOptions) {
    this.waitMs = options.waitMs ?? DEFAULT_LOCK_WAIT_MS;
    this.now = options.now ?? (() => performance.now());
  }

  async run<T>(call: () => T, askedAt: number = this.now()): Promise<T> {
    return this.retry(async () => {
      const value = call();
      this.passed();
      return value;
    }, askedAt);
  }

  /**
   * `attempt` again after a pause each time it fails busy, as run does; the pause is outside it, so
   * an attempt that takes the connection's turn gives the turn up while it waits: reads (which WAL
   * lets go on beside another process's write lock) are not held behind a write that waits.
   */
  async retry<T>(attempt: () => Promise<T>, askedAt: number = this.now()): Promise<T> {
    for (let tries = 0; ; tries++) {
      try {
        return await attempt();
      } catch (error) {
        if (!isSqliteBusy(error)) throw error;
        this.lockedSince ??= this.now();
        const waited = this.now() - askedAt;
        if (waited >= Math.min(WARN_AFTER_MS, this.waitMs)) this.warn();
        if (waited >= this.waitMs) {
          this.refused++;
          throw new DatabaseLocked(this.options.file, Math.round(this.waitMs / 100) / 10);
        }
        await pause(Math.min(2 ** tries * 5, LONGEST_PAUSE_MS, this.waitMs - waited));
      }
    }
  }

  /**
   * A call went through: while a lock is known the lock is asked about. On the connection's turn
   * (the probe takes the write lock and lets it go), never inside a transaction of its own caller.
   */
  passed(): void {
    this.mayBeOver();
  }

  private warn(): void {
    if (this.warned) return;
    this.warned = true;
    this.options.log?.warn(
      "the hub's database is locked by another process (a sqlite3 shell or a tool inside a write transaction?): the hub goes on answering; each write waits for the lock, and one that waits past the limit is refused (the API answers 503 with Retry-After, agents send it again)",
      { file: this.options.file, waitSeconds: this.waitMs / 1000 },
    );
  }

  /** After a call that went through while a lock was known: a read does, so the lock is asked about. */
  private mayBeOver(): void {
    if (this.lockedSince === undefined || !this.options.probe.writable()) return;
    if (this.warned)
      this.options.log?.info("the hub's database takes writes again", {
        file: this.options.file,
        lockedSeconds: Math.round((this.now() - this.lockedSince) / 100) / 10,
        refusedCalls: this.refused,
      });
    this.lockedSince = undefined;
    this.warned = false;
    this.refused = 0;
  }
}

const pause = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
