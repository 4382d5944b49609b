/**
 * Agent connections the hub refused (bad, expired or revoked token; wrong role): logged with the
 * agent id the token claims and the reason, at most once a minute per agent and reason, and kept
 * (bounded, newest) for the dashboard, so an agent locked out is seen at the hub, not only in its
 * own log.
 */
import type { Logger } from "../../shared/log.js";

export interface Refusal {
  /** From the token's `sub`, unverified (the token was refused); "unknown" when none. */
  agentId: string;
  reason: string;
  /** Last refusal (ms) and how many so far. */
  lastAt: number;
  count: number;
}

const LOG_EVERY_MS = 60_000;
const KEEP = 1000;
/**
 * Refusal lines logged a minute across all claimed ids: the id comes from an unverified token, so
 * a client inventing a new one per attempt would otherwise write one line per attempt to the log.
 */
export const REFUSAL_LINES_PER_MINUTE = 100;

export class ConnectionRefusals {
  private readonly byAgent = new Map<string, Refusal & { loggedAt: number; unlogged: number }>();
  /** This minute's refusal lines, and the refusals not logged because the minute's lines ran out. */
  private readonly minute = { start: 0, lines: 0, unlogged: 0 };
  /** Writes the minute's count of refusals left out when it ends, if no refusal opens the next first. */
  private summaryTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly log: Logger,
    private readonly now: () => number = Date.now,
    /** A minute; tests shorten it. */
    private readonly minuteMs: number = LOG_EVERY_MS,
  ) {}

  record(agentId: string | undefined, reason: string, remote: string | undefined): void {
    const id = agentId ?? "unknown";
    const now = this.now();
    const known = this.byAgent.get(id);
    const entry =
      known?.reason === reason
        ? known
        : { agentId: id, reason, lastAt: now, count: 0, loggedAt: 0, unlogged: 0 };
    entry.lastAt = now;
    entry.count++;
    // Re-inserted so the map stays in recency order and the oldest entry is the first dropped.
    this.byAgent.delete(id);
    this.byAgent.set(id, entry);
    if (this.byAgent.size > KEEP) this.byAgent.delete(this.byAgent.keys().next().value as string);
    if (now - entry.loggedAt < this.minuteMs || !this.takeLine(now)) {
      entry.unlogged++;
      return;
    }
    this.log.warn("refused an agent connection", {
      agentId: id,
      reason,
      remote,
      ...(entry.unlogged > 0 ? { refusedSinceLastLog: entry.unlogged } : {}),
    });
    entry.loggedAt = now;
    entry.unlogged = 0;
  }

  /** Whether one more refusal line may be written this minute; opens a new minute with a summary. */
  private takeLine(now: number): boolean {
    if (now - this.minute.start >= this.minuteMs) this.openMinute(now);
    if (this.minute.lines >= REFUSAL_LINES_PER_MINUTE) {
      this.minute.unlogged++;
      // A flood that stops must still be counted: the minute's end writes it if no refusal does.
      this.summaryTimer ??= setTimeout(
        () => this.openMinute(this.now()),
        Math.max(0, this.minute.start + this.minuteMs - now),
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
    this.byAgent.delete(agentId);
  }

  list(): Refusal[] {
    return [...this.byAgent.values()]
      .map(({ agentId, reason, lastAt, count }) => ({ agentId, reason, lastAt, count }))
      .reverse();
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
