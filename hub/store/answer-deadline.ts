/**
 * How long a hub waits for PostgreSQL to answer before it gives up on the answer.
 *
 * A database that stops answering without closing its connections (a server frozen: SIGSTOP, a VM
 * paused, swap storm; a network dropping packets) fails nothing: the driver has no query timeout,
 * a query written to an open connection waits for as long as the silence lasts, and so did every
 * API request, agent connection and heartbeat behind it (an operator's CLI hung until Node cut the
 * connection after 120 s, with no answer at all). New connections were already bounded (the
 * connect timeout); this bounds the wait on the ones already open.
 */

import { type JudgingTimer, onceAfterInput } from "../../shared/after-input.js";

/** Seconds without any answer from the database after which a store call fails. */
export const ANSWER_TIMEOUT_SECONDS = 15;

/** Node's and the driver's errors carry a `code`; this one is classified with theirs (hub/api/app.ts). */
export const NO_ANSWER_CODE = "DATABASE_NO_ANSWER";

export class DatabaseNoAnswer extends Error {
  readonly code = NO_ANSWER_CODE;
  constructor(readonly seconds: number) {
    super(`the database did not answer within ${seconds} s`);
    this.name = "DatabaseNoAnswer";
  }
}

/**
 * `work`, or a DatabaseNoAnswer once `ms` passed without it settling (it goes on unawaited). The
 * deadline is judged after the input that arrived: an answer that came in time while this hub was
 * stalled past `ms` is read first, not refused as late.
 */
export function answerWithin<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: JudgingTimer | undefined;
  const late = new Promise<never>((_resolve, reject) => {
    timer = onceAfterInput(ms, () => reject(new DatabaseNoAnswer(ms / 1000)));
  });
  // A result that arrives after the deadline is nobody's: no unhandled rejection for it.
  work.catch(() => {});
  return Promise.race([work, late]).finally(() => timer?.stop());
}

/**
 * A transaction's deadline, restarted by every answer: a transaction of many quick statements may
 * take as long as it needs, one statement (or the wait for a connection, or the COMMIT) may not
 * stay unanswered past `ms`. Once it gives up, the transaction is abandoned: every statement of it
 * still to come, or answered late, fails, so the callback cannot reach its COMMIT when the database
 * wakes up (the driver rolls back instead), and a request answered "try again" changed nothing,
 * unless the silence began during the COMMIT itself.
 */
export class TxAnswerWatch {
  private timer: JudgingTimer | undefined;
  private failure: DatabaseNoAnswer | undefined;
  private fail: (error: DatabaseNoAnswer) => void = () => {};
  /** Rejects once the transaction is given up on. */
  readonly givenUp: Promise<never>;

  constructor(private readonly ms: number) {
    this.givenUp = new Promise<never>((_resolve, reject) => {
      this.fail = reject;
    });
    this.givenUp.catch(() => {});
    this.answered();
  }

  /**
   * An answer came (or the transaction started): the silence is measured from now, and judged after
   * the input that arrived (an answer read late because this hub stalled still counts).
   */
  answered(): void {
    this.timer?.stop();
    this.timer = onceAfterInput(this.ms, () => {
      this.failure = new DatabaseNoAnswer(this.ms / 1000);
      this.fail(this.failure);
    });
  }

  /** Throws once the transaction was given up on. */
  check(): void {
    if (this.failure) throw this.failure;
  }

  /** One statement of the transaction: refused once given up on, and so is its late answer. */
  async statement<T>(run: () => Promise<T>): Promise<T> {
    this.check();
    try {
      return await run();
    } finally {
      this.check();
      this.answered();
    }
  }

  /** The transaction, bounded: its result, or DatabaseNoAnswer. */
  async bound<T>(work: Promise<T>): Promise<T> {
    work.catch(() => {});
    try {
      return await Promise.race([work, this.givenUp]);
    } finally {
      this.timer?.stop();
    }
  }
}
