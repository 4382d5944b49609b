/**
 * Agent connections the hub refused (bad, expired or revoked token; wrong role): logged with the
 * agent id the token claims and the reason, at most once a minute per agent and reason, and kept
 * (bounded, newest) for the dashboard, so an agent locked out is seen at the hub, not only in its
 * own log.
 */
import type { Logger } from "../../shared/log.js";
import { monotonicNow } from "../cluster/clock.js";

export interface Refusal {
  /**
   * From the token's `sub`: verified when the hub signed the token (expired, revoked, wrong role),
   * only claimed when it did not ("unknown" when none).
   */
  agentId: string;
  reason: string;
  /**
   * Whether the hub signed the token, so `agentId` is who it was issued to. False: anybody may have
   * written it (no credential needed), or it was signed with another secret; listed alike, a forged
   * claim made a real agent read as locked out.
   */
  signed: boolean;
  /** Last refusal (ms) and how many so far. */
  lastAt: number;
  count: number;
}

const LOG_EVERY_MS = 60_000;
const KEEP = 1000;
/**
 * Of those, refusals of tokens this hub did not sign: anybody can write one claiming any agent id,
 * so they are kept apart and fewer. Kept with the others, 1,000 forged tokens (no credential
 * needed) pushed every real refusal (an agent whose token expired) off the dashboard.
 */
const KEEP_UNSIGNED = 100;
/**
 * Refusal lines logged a minute across all claimed ids: the id comes from an unverified token, so
 * a client inventing a new one per attempt would otherwise write one line per attempt to the log.
 */
export const REFUSAL_LINES_PER_MINUTE = 100;

/** `loggedAt`: monotonic ms of its last line; undefined before its first. */
type Entry = Refusal & { loggedAt: number | undefined; unlogged: number };

export class ConnectionRefusals {
  /** Tokens the hub signed, by agent id; and tokens it did not, by claimed id (see KEEP_UNSIGNED). */
  private readonly signed = new Map<string, Entry>();
  private readonly unsigned = new Map<string, Entry>();
  /** This minute's refusal lines, and the refusals not logged because the minute's lines ran out. */
  private readonly minute: { start: number | undefined; lines: number; unlogged: number } = {
    start: undefined,
    lines: 0,
    unlogged: 0,
  };
  /** Writes the minute's count of refusals left out when it ends, if no refusal opens the next first. */
  private summaryTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly log: Logger,
    /** When a refusal happened, as shown (`lastAt`). */
    private readonly wall: () => number = Date.now,
    /**
     * Monotonic ms, for the minutes that bound the log: on the wall clock, one set back an hour
     * held the minute under way for 61, and no refusal was logged for the hour (an agent locked out
     * unseen in the log); set forward, every refusal opened a new minute.
     */
    private readonly elapsed: () => number = monotonicNow,
    /** A minute; tests shorten it. */
    private readonly minuteMs: number = LOG_EVERY_MS,
  ) {}

  /** `signed`: the hub signed the token, so `agentId` is who it was issued to, not only a claim. */
  record(agentId: string | undefined, reason: string, remote: string | undefined, signed: boolean): void {
    const id = agentId ?? "unknown";
    const at = this.wall();
    const now = this.elapsed();
    const [entries, keep] = signed ? [this.signed, KEEP] : [this.unsigned, KEEP_UNSIGNED];
    const known = entries.get(id);
    const entry =
      known?.reason === reason
        ? known
        : { agentId: id, reason, signed, lastAt: at, count: 0, loggedAt: undefined, unlogged: 0 };
    entry.lastAt = at;
    entry.count++;
    // Re-inserted so the map stays in recency order and the oldest entry is the first dropped.
    entries.delete(id);
    entries.set(id, entry);
    if (entries.size > keep) entries.delete(entries.keys().next().value as string);
    if ((entry.loggedAt !== undefined && now - entry.loggedAt < this.minuteMs) || !this.takeLine(now)) {
      entry.unlogged++;
      return;
    }
    this.log.warn("refused an agent connection", {
      agentId: id,
      ...(signed ? {} : { unverified: true }),
      reason,
      remote,
      ...(entry.unlogged > 0 ? { refusedSinceLastLog: entry.unlogged } : {}),
    });
    entry.loggedAt = now;
    entry.unlogged = 0;
  }

  /** Whether one more refusal line may be written this minute; opens a new minute with a summary. */
  private takeLine(now: number): boolean {
    if (this.minute.start === undefined || now - this.minute.start >= this.minuteMs) this.openMinute(now);
    if (this.minute.lines >= REFUSAL_LINES_PER_MINUTE) {
      this.minute.unlogged++;
      // A flood that stops must still be counted: the minute's end writes it if no refusal does.
      this.summaryTimer ??= setTimeout(
        () => this.openMinute(this.elapsed()),
        Math.max(0, (this.minute.start ?? now) + this.minuteMs - now),
      ).unref();
      return false;
    }
    this.minute.lines++;
    return true;
  }

  /** Ends the minute (with the count of what it left out, if any) and starts the next at `now`. */
  private openMinute(now: number): void {
    clearTimeout(this.summaryTimer);
    this.summaryTimer = undefined;
    if (this.minute.unlogged > 0)
      this.log.warn("refused agent connections not logged: more than the lines allowed a minute", {
        notLogged: this.minute.unlogged,
        linesPerMinute: REFUSAL_LINES_PER_MINUTE,
      });
    Object.assign(this.minute, { start: now, lines: 0, unlogged: 0 });
  }

  /** The hub stops: no summary is written after it. */
  close(): void {
    clearTimeout(this.summaryTimer);
    this.summaryTimer = undefined;
  }

  /** The agent connected: it is no longer locked out. */
  clear(agentId: string): void {
    this.signed.delete(agentId);
    this.unsigned.delete(agentId);
  }

  /** Newest first; an id refused with both kinds of token is listed for each. */
  list(): Refusal[] {
    // Each map is in recency order, oldest first.
    return [...[...this.signed.values()].reverse(), ...[...this.unsigned.values()].reverse()]
      .sort((a, b) => b.lastAt - a.lastAt)
      .map(({ agentId, reason, signed, lastAt, count }) => ({ agentId, reason, signed, lastAt, count }));
  }
}

/** The `sub` a JWT claims, read without verifying: only to name who was refused. */
export function claimedAgent(token: string | undefined): string | undefined {
  const payload = token?.split(".")[1];
  if (!payload) return undefined;
  try {
    const sub = (JSON.parse(Buffer.from(payload, "base64url").toString("utf8")) as { sub?: unknown }).sub;
    return typeof sub === "string" ? sub.slice(0, 200) : undefined;
  } catch {
    return undefined;
  }
}
