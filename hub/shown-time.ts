/**
 * How the hub writes a time it stamped for people and clients (API, CLI, dashboard, event texts):
 * ISO 8601 on the host's clock. A single hub stamps with its monotonic clock (clock-step.ts), which
 * a step of the host's wall clock leaves behind: every time shown read off by the step (a `lastSeen`
 * forty minutes old for an agent connected now). The step is added when a time is shown, so shown
 * times are the host's while the stamps, and every wait and timeout measured between them, are not
 * moved.
 */
export type ShownTime = (ms: number) => string;

/** A stamp already on the host's clock (a cluster's follow the database's; tests' fake clocks). */
export const isoTime: ShownTime = (ms) => new Date(ms).toISOString();

/** `offsetMs`: how far the host's clock was stepped from the hub's own since the hub started. */
export function shownTime(offsetMs: () => number): ShownTime {
  return (ms) => new Date(ms + offsetMs()).toISOString();
}
