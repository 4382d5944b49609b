import type { StoreOps } from "../store/async-store.js";
import type { RolloutRecord } from "../store/store.js";

/**
 * How long `rollout` stood paused (by an operator, or halted on its threshold) since its current
 * wave started, up to its last resume: a wave's `waitMinutes` counts the time it ran, as a soak
 * does, so a canary paused 40 minutes into a 60-minute wait to investigate waits its last 20
 * after the resume (it used to advance at once). Read from the rollout's own events (few: created,
 * advanced, paused, halted, resumed…), and only for a wave that has a wait.
 */
export async function pausedInWave(
  store: Pick<StoreOps, "listEvents">,
  rollout: RolloutRecord,
  /** A pause no `rollout.resumed` event closes lasts until then: the resume evaluating (its event is written at commit). */
  now?: number,
): Promise<number> {
  const events = await store.listEvents({ subject: rollout.id, limit: 1000 });
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
