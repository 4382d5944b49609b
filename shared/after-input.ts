/**
 * Timers that judge a peer's silence (a ping unanswered, a probe not back, a heartbeat not
 * written, a deadline passed) and must not misjudge after this process stalled.
 *
 * Node runs the callbacks of due timers before it reads the sockets: after a stall longer than the
 * interval (a long synchronous step, a GC pause, a loaded machine) a plain timer found the answer
 * that had come in time still unread in the socket and dropped a healthy peer. These run the
 * judgement in the check phase (setImmediate) after the timer, once the poll phase has read what
 * arrived meanwhile and the promises it settled have run.
 */

/** A timer whose judgement runs after pending input; `stop()` also cancels a judgement queued. */
export interface JudgingTimer {
  stop(): void;
}

function judged(judge: () => void): { run(): void; stop(): void } {
  let queued: NodeJS.Immediate | undefined;
  let stopped = false;
  return {
    run() {
      if (stopped || queued !== undefined) return;
      queued = setImmediate(() => {
        queued = undefined;
        if (!stopped) judge();
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
export function everyAfterInput(ms: number, judge: () => void): JudgingTimer {
  const step = judged(judge);
  const timer = setInterval(() => step.run(), ms);
  timer.unref();
  return {
    stop() {
      clearInterval(timer);
      step.stop();
    },
  };
}

/** setTimeout(judge, ms), unref'd, run after the input that arrived before it. */
export function onceAfterInput(ms: number, judge: () => void): JudgingTimer {
  const step = judged(judge);
  const timer = setTimeout(() => step.run(), ms);
  timer.unref();
  return {
    stop() {
      clearTimeout(timer);
      step.stop();
    },
  };
}
