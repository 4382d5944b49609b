/**
 * A single hub stamps and compares rollout times with its monotonic clock, so a step of the host's
 * wall clock does not time agents out or end a wait early. The times it shows then differ from the
 * wall clock by the step until it restarts: said once per step, so an operator reading a
 * `lastSeen` forty minutes "old" knows why.
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

  check(): void {
    const offsetMs = this.wall() - this.own();
    if (Math.abs(offsetMs - this.saidOffsetMs) < STEP_MS) return;
    const stepMs = offsetMs - this.saidOffsetMs;
    this.saidOffsetMs = offsetMs;
    const seconds = (ms: number) => `${Math.round(Math.abs(ms) / 1000)} s`;
    this.log.warn(
      `the host's clock was stepped ${stepMs > 0 ? "forward" : "back"} ${seconds(stepMs)} while the hub ran: rollout timeouts and waits go on by the hub's own clock (no agent timed out by the step), and the times it stamps read ${seconds(offsetMs)} ${offsetMs > 0 ? "behind" : "ahead of"} the host's clock until the hub restarts`,
      { stepMs, offsetMs },
    );
  }
}
