/**
 * What a check opened that the run's fetch() goes on with, so an update asks the server once, not
 * twice: an http check's answer to its conditional GET when it was the new archive (kept unread
 * until the fetch reads it as the download), an sftp check's logged-in session. Nothing else may
 * depend on it being there: a fetch without it (none held, or given up) asks again.
 */
import type { OpenResponse } from "../download/probe.js";

/** Anything held is let go of by close(). */
interface Closable {
  close(): Promise<void>;
}

/**
 * How long an answer waits for its fetch. A run fetches right after its check; this bounds a
 * connection left open by a caller that checks and never fetches (the timer does not keep the
 * process alive, the connection does until then).
 */
const HOLD_MS = 15_000;

export class HeldAnswer<T extends Closable = OpenResponse> {
  private answer: T | undefined;
  private timer: NodeJS.Timeout | undefined;

  /** Keeps `answer` for take(), closing one kept before. */
  hold(answer: T): void {
    this.drop();
    this.answer = answer;
    this.timer = setTimeout(() => this.drop(), HOLD_MS);
    this.timer.unref();
  }

  /** The kept answer, now the caller's to read and close; undefined when none is kept. */
  take(): T | undefined {
    const answer = this.answer;
    this.answer = undefined;
    clearTimeout(this.timer);
    return answer;
  }

  private drop(): void {
    void this.take()?.close();
  }
}
