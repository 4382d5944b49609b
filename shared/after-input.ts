/**
 * Timers that judge a peer's silence (a ping unanswered, a probe not back, a heartbeat not
 * written, a deadline passed) and must not misjudge after this process stalled.
 *
 * Node runs the callbacks of due timers before it reads the sockets: after a stall longer than the
 * interval (a long synchronous step, a GC pause, a loaded machine) a plain timer found the answer
 * that had come in time still unread in the socket and dropped a healthy peer. These run the
 * judgement in the check phase (setImmediate) after the timer, once the poll phase has read what
 * arrived meanwhile and the promises it settled have run.
 *
 * The judgement is handed the time its timer fired (`firedAt`, on the caller's clock), read in the
 * timers phase, before that poll phase: everything that arrived before that moment has been read
 * when the judgement runs. A judgement that reads the clock itself, later (after awaiting the
 * messages read being applied, or a transaction), may find a moment after another stall whose
 * input is still unread, and call a peer late that answered in time.
 */

/** A timer whose judgement runs after pending input; `stop()` also cancels a judgement queued. */
export interface JudgingTimer {
  stop(): void;
}

/** What a judgement is handed: when its timer fired, in ms on the clock the timer was given. */
export type Judge = (firedAt: number) => void;

function judged(judge: Judge, clock: () => number): { run(): void; stop(): void } {
  let queued: NodeJS.Immediate | undefined;
  let stopped = false;
  return {
    run() {
      // A judgement already queued keeps its (earlier) time: it judges no later than it may.
      if (stopped || queued !== undefined) return;
      const firedAt = clock();
      queued = setImmediate(() => {
        queued = undefined;
        if (!stopped) judge(firedAt);
      });
    },
    stop() {
      stopped = true;
      if (queued !== undefined) clearImmediate(queued);
      queued = undefined;
    },
  };
}

/** setInterval(judge, ms), unref'd, with each run after the input that arrived before it. */
export function everyAfterInput(ms: number, judge: Judge, clock: () => number = Date.now): JudgingTimer {
  const step = judged(judge, clock);
  const timer = setInterval(() => step.run(), ms);
  timer.unref();
  return {
    stop() {
      clearInterval(timer);
      step.stop();
    },
  };
}

/** The longest wait one Node timer holds: past it `setTimeout` fires after 1 ms. */
export const MAX_TIMER_MS = 2_147_483_647;

/**
 * setTimeout(judge, ms), unref'd, run after the input that arrived before it. A longer wait than
 * one timer holds is taken in steps: deadlines are sums of configured values (the database's
 * connect_timeout of 2147483 s, plus the hub's 5 s, once per host), and one past 2^31 ms passed
 * at once, so a database that answered was "the database did not answer within 2147488 s".
 */
export function onceAfterInput(ms: number, judge: Judge, clock: () => number = Date.now): JudgingTimer {
  const step = judged(judge, clock);
  let timer: NodeJS.Timeout;
  const arm = (left: number) => {
    timer = setTimeout(
      () => (left > MAX_TIMER_MS ? arm(left - MAX_TIMER_MS) : step.run()),
      Math.min(left, MAX_TIMER_MS),
    );
    timer.unref();
  };
  arm(ms);
  return {
    stop() {
      clearTimeout(timer);
      step.stop();
    },
  };
}
