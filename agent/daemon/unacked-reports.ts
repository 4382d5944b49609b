import { reconnectDelay } from "./backoff.js";

/**
 * Reports sent and not yet acked, each sent again after a wait that doubles per try (jittered,
 * capped). The hub acks a report only once it is committed, and one whose store failed (the
 * database busy or away, a full disk) gets no ack and no word at all: a reconnect's resend of the
 * outbox was its only way back, so on a healthy long-lived connection a deployment's outcome waited
 * hours and its wave with it. A resend is harmless: the hub stores each agent's reportId once and
 * acks a resend of a stored one. Jittered, a fleet that lost the same batch does not come back in step.
 */
export class UnackedReports {
  private readonly waiting = new Map<string, { tries: number; timer: NodeJS.Timeout }>();
  private stopped = false;

  constructor(
    private readonly baseMs: number,
    private readonly maxMs: number,
    /** The report's wait is over and it was not acked: send it again (then `sent` again). */
    private readonly due: (reportId: string) => void,
  ) {}

  /** The report went out (or could not, the hub away): its wait for an ack starts again, longer. */
  sent(reportId: string): void {
    if (this.stopped) return;
    const known = this.waiting.get(reportId);
    clearTimeout(known?.timer);
    const tries = (known?.tries ?? 0) + 1;
    const timer = setTimeout(() => this.due(reportId), reconnectDelay(tries - 1, this.baseMs, this.maxMs));
    timer.unref();
    this.waiting.set(reportId, { tries, timer });
  }

  /** Acked, or no longer in the outbox: never sent again. */
  done(reportId: string): void {
    clearTimeout(this.waiting.get(reportId)?.timer);
    this.waiting.delete(reportId);
  }

  stop(): void {
    this.stopped = true;
    for (const { timer } of this.waiting.values()) clearTimeout(timer);
    this.waiting.clear();
  }
}
