/**
 * The check's answer to its conditional GET, when it was the new archive: kept unread until the
 * run's fetch() reads it as the download, so an update asks the server once, not twice. Nothing
 * else may depend on it being there: a fetch without it (none held, or given up) asks again.
 */
import type { OpenResponse } from "../download/probe.js";

/**
 * How long an answer waits for its fetch. A run fetches right after its check; this bounds a
 * connection left open by a caller that checks and never fetches (the timer does not keep the
 * process alive, the connection does until then).
 */
const HOLD_MS = 15_000;

export class HeldAnswer {
  private answer: OpenResponse | undefined;
  private timer: NodeJS.Timeout | undefined;

  /** Keeps `answer` for take(), closing one kept before. */
  hold(answer: OpenResponse): void {
    this.drop();
    this.answer = answer;
    this.timer = setTimeout(() => this.drop(), HOLD_MS);
    this.timer.unref();
  }

  /** The kept answer, now the caller's to read and close; undefined when none is kept. */
  take(): OpenResponse | undefined {
    const answer = this.answer;
    this.answer = undefined;
    clearTimeout(this.timer);
    return answer;
  }

  private drop(): void {
    void this.take()?.close();
  }
}
