/**
 * Who takes part in a rollout and in which wave: pure functions of the rollout's seed, its spec and
 * the agents' announced facts, so every hub process (and a preview) computes the same answer.
 */
import type { RolloutSpec } from "../../shared/api/bodies.js";
import { bucketOf, bucketWithin } from "../../shared/rollout/bucket.js";

export interface Candidate {
  id: string;
  labels: Record<string, string>;
  apps: { app: string }[];
}

/**
 * What the buckets hash with the agent id. Not the rollout id (random when not given): a preview and
 * the create that follows must give the same split, so the default is the release id (a new release
 * reshuffles who goes first); `seed` in the spec picks another split on purpose.
 */
export function rolloutSeed(spec: RolloutSpec): string {
  return spec.seed ?? spec.release;
}

/** A stored rollout's seed; rollouts created before seeds were stored hashed with their id. */
export function seedOf(rollout: { id: string; spec: RolloutSpec }): string {
  return rollout.spec.seed ?? rollout.id;
}

function hasLabels(have: Record<string, string>, want: Record<string, string> | undefined): boolean {
  return Object.entries(want ?? {}).every(([k, v]) => have[k] === v);
}

/** The rollout's app is installed (announced) on the agent and the selector's labels match. */
export function isEligible(spec: RolloutSpec, app: string, agent: Candidate): boolean {
  return agent.apps.some((a) => a.app === app) && hasLabels(agent.labels, spec.selector?.labels);
}

/**
 * Index of the first wave that covers the agent by its own bucket, or undefined. Percent waves are
 * cumulative over the bucket, so raising a percentage only ever adds agents and never moves one.
 */
export function waveOf(seed: string, spec: RolloutSpec, agentId: string, labels: Record<string, string>) {
  const bucket = bucketOf(seed, agentId);
  const index = spec.waves.findIndex((w) => {
    if (w.percent !== undefined) return bucketWithin(bucket, w.percent);
    if (w.agents !== undefined) return w.agents.includes(agentId);
    return hasLabels(labels, w.labels);
  });
  return index === -1 ? undefined : index;
}

/** A wave that must not start empty: a percent wave above 0 % (5 % of 3 agents is still a canary). */
export function wantsMember(spec: RolloutSpec, wave: number): boolean {
  return (spec.waves[wave]?.percent ?? 0) > 0;
}

/**
 * Every eligible agent's wave (undefined: no wave covers it). On top of `waveOf`, a percent wave
 * above 0 % that no bucket reaches takes the agent with the lowest bucket among those bound for a
 * later percent wave or for no wave: a small fleet never gets a silently empty canary.
 */
export function placeAgents(
  seed: string,
  spec: RolloutSpec,
  app: string,
  agents: readonly Candidate[],
): Map<string, number | undefined> {
  const placed = new Map<string, number | undefined>();
  for (const agent of agents)
    if (isEligible(spec, app, agent)) placed.set(agent.id, waveOf(seed, spec, agent.id, agent.labels));
  const movable = (wave: number | undefined, than: number) =>
    wave === undefined || (wave > than && spec.waves[wave]?.percent !== undefined);
  spec.waves.forEach((_, index) => {
    if (!wantsMember(spec, index) || [...placed.values()].includes(index)) return;
    let pick: { id: string; bucket: number } | undefined;
    for (const [id, wave] of placed) {
      if (!movable(wave, index)) continue;
      const bucket = bucketOf(seed, id);
      if (!pick || bucket < pick.bucket || (bucket === pick.bucket && id < pick.id)) pick = { id, bucket };
    }
    if (pick) placed.set(pick.id, index);
  });
  return placed;
}

export interface WavePlan {
  index: number;
  name: string;
  agents: string[];
}

/** The preview: every eligible agent placed in its wave, plus those no wave covers. */
export function planWaves(
  seed: string,
  spec: RolloutSpec,
  app: string,
  agents: readonly Candidate[],
): { waves: WavePlan[]; unassigned: string[] } {
  const waves = spec.waves.map((w, index) => ({ index, name: w.name, agents: [] as string[] }));
  const unassigned: string[] = [];
  for (const [id, wave] of placeAgents(seed, spec, app, agents)) {
    if (wave === undefined) unassigned.push(id);
    else waves[wave]?.agents.push(id);
  }
  return { waves, unassigned };
}
