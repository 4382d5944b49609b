/**
 * A single hub stamps and compares rollout times with its monotonic clock, so a step of the host's
 * wall clock does not time agents out or end a wait early. The times it shows are the host's (the
 * step added when shown: shown-time.ts); the stamps stay on its own clock, so those written after
 * a step read off by it once the hub restarts. Said once per step.
 */
import type { Logger } from "../shared/log.js";

/** Less than this between the two clocks is NTP's ordinary slewing, not a step. */
const STEP_MS = 10_000;

export class ClockStepWatch {
  private saidOffsetMs = 0;

  constructor(
    private readonly wall: () => number,
    private readonly own: () => number,
    private readonly log: Logger,
  ) {
    this.saidOffsetMs = wall() - own();
  }

  /**
   * What to add to a stamp of the hub's own clock to read it on the host's: the step, once one was
   * seen; 0 before (the two clocks' few ms apart are no step, and would move every shown time).
   */
  offsetMs(): number {
    return Math.abs(this.saidOffsetMs) < STEP_MS ? 0 : Math.round(this.saidOffsetMs);
  }

  /** `offsetMs` as of now: a time shown follows a step, and says it, before the next heartbeat's check. */
  currentOffsetMs(): number {
    this.check();
    return this.offsetMs();
  }

  check(): void {
    const offsetMs = this.wall() - this.own();
    if (Math.abs(offsetMs - this.saidOffsetMs) < STEP_MS) return;
    const stepMs = offsetMs - this.saidOffsetMs;
    this.saidOffsetMs = offsetMs;
    const seconds = (ms: number) => `${Math.round(Math.abs(ms) / 1000)} s`;
    this.log.warn(
      `the host's clock was stepped ${stepMs > 0 ? "forward" : "back"} ${seconds(stepMs)} while the hub ran: rollout timeouts and waits go on by the hub's own clock (no agent timed out by the step), and the times it shows are the host's, but those it stamps from now on will read ${seconds(offsetMs)} ${offsetMs > 0 ? "behind" : "ahead of"} the host's clock after the hub restarts`,
      { stepMs, offsetMs },
    );
  }
}
