/**
 * Whether a hub just started has heard again from the agents whose success lets a wave pass.
 *
 * A wave whose `waitMinutes` ended while the hub was down used to advance at its first tick, before
 * the wave's hosts had reconnected: one that left the release meanwhile (rolled back, restored) is
 * only known from its hello, so the rest of the fleet was sent a release the canary no longer ran,
 * and the halt came after. For `offlineTimeoutMs` from the start (how long agents have to come
 * back before they count as away), a succeeded member not heard since then holds the advance.
 */
import type { StoreOps } from "../store/async-store.js";
import type { RolloutRecord } from "../store/store.js";
import type { AgentChannel } from "./dispatch.js";

export interface HeardSinceStart {
  t: StoreOps;
  rollout: RolloutRecord;
  channel: AgentChannel;
  /** Since when this hub (or, in a cluster, some hub) has run without a break. */
  startedAt: number;
  now: number;
  offlineTimeoutMs: number;
  /** A cluster: an agent may be connected to another hub. */
  sharedPresence: boolean;
}

/** The ids of the current wave's succeeded agents not heard since the start, while that matters. */
export async function unheardSinceStart(o: HeardSinceStart): Promise<string[]> {
  if (o.now - o.startedAt >= o.offlineTimeoutMs) return [];
  const stale = await o.t.listStaleDeployments({
    rolloutId: o.rollout.id,
    maxWave: o.rollout.currentWave,
    states: ["succeeded"],
    seenBefore: o.startedAt,
  });
  const away = stale
    .filter((d) => d.wave === o.rollout.currentWave && !o.channel.isOnline(d.agentId))
    .map((d) => d.agentId);
  if (!o.sharedPresence || away.length === 0) return away;
  const elsewhere = new Set((await o.t.getAgents(away)).filter((a) => a.online).map((a) => a.id));
  return away.filter((id) => !elsewhere.has(id));
}

/**
 * What holds a wave's auto-advance after the start (`unheardSinceStart`), for the views: the
 * agents not heard yet, and when the hold ends at the latest (the start plus `offlineTimeoutMs`:
 * from then on an agent not back counts as away). Shown beside `autoAdvanceAt`, which waited on
 * it too: a soak that ended while the hub was down read "not before" a time gone by, and nothing
 * said why the rollout did not move.
 */
export interface RestartHold {
  agents: readonly string[];
  until: number;
}

export async function restartHold(o: HeardSinceStart): Promise<RestartHold | undefined> {
  const agents = await unheardSinceStart(o);
  return agents.length === 0 ? undefined : { agents, until: o.startedAt + o.offlineTimeoutMs };
}
