import type { StoreOps } from "../store/async-store.js";
import type { EventRecord, RolloutRecord } from "../store/store.js";

/**
 * How long `rollout` stood paused (by an operator, or halted on its threshold) since its current
 * wave started, up to its last resume: a wave's `waitMinutes` counts the time it ran, as a soak
 * does, so a canary paused 40 minutes into a 60-minute wait to investigate waits its last 20
 * after the resume (it used to advance at once). Read from the rollout's pause, halt and resume
 * events since the wave started (asked of the store by kind: its other events may be thousands),
 * and only for a wave that has a wait.
 */
export async function pausedInWave(
  store: Pick<StoreOps, "listEvents">,
  rollout: RolloutRecord,
  /** A pause no `rollout.resumed` event closes lasts until then: the resume evaluating (its event is written at commit). */
  now?: number,
): Promise<number> {
  const events = await pauseEventsSince(store, rollout.id, rollout.waveStartedAt);
  let paused = 0;
  let since: number | undefined;
  // Oldest first; a halt while already paused by hand continues that pause.
  for (const e of events.toReversed()) {
    if (e.at < rollout.waveStartedAt) continue;
    if ((e.kind === "rollout.paused" || e.kind === "rollout.halted") && since === undefined) since = e.at;
    else if (e.kind === "rollout.resumed" && since !== undefined) {
      paused += e.at - since;
      since = undefined;
    }
  }
  return since === undefined || now === undefined ? paused : paused + now - since;
}

const PAUSE_KINDS = ["rollout.paused", "rollout.halted", "rollout.resumed"];
const PAGE = 1000;

/**
 * The rollout's pauses, halts and resumes from `since` on, newest first: every one, by pages (a
 * long wave may have been paused and resumed many times), and none of its other events.
 */
async function pauseEventsSince(
  store: Pick<StoreOps, "listEvents">,
  subject: string,
  since: number,
): Promise<EventRecord[]> {
  const events: EventRecord[] = [];
  for (;;) {
    const before = events.at(-1)?.id;
    const page = await store.listEvents({
      subject,
      kinds: PAUSE_KINDS,
      limit: PAGE,
      ...(before === undefined ? {} : { before }),
    });
    events.push(...page);
    if (page.length < PAGE || (page.at(-1)?.at ?? 0) < since) return events;
  }
}
