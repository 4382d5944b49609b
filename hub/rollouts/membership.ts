/**
 * Who takes part in a rollout and in which wave: pure functions of the rollout id, its spec and an
 * agent's announced facts, so every hub process (and a preview) computes the same answer.
 */
import type { RolloutSpec } from "../../shared/api/bodies.js";
import { bucketOf, bucketWithin } from "../../shared/rollout/bucket.js";

export interface Candidate {
  id: string;
  labels: Record<string, string>;
  apps: { app: string }[];
}

function hasLabels(have: Record<string, string>, want: Record<string, string> | undefined): boolean {
  return Object.entries(want ?? {}).every(([k, v]) => have[k] === v);
}

/** The rollout's app is installed (announced) on the agent and the selector's labels match. */
export function isEligible(spec: RolloutSpec, app: string, agent: Candidate): boolean {
  return agent.apps.some((a) => a.app === app) && hasLabels(agent.labels, spec.selector?.labels);
}

/**
 * Index of the first wave that covers the agent, or undefined. Percent waves are cumulative over
 * the agent's bucket, so raising a percentage only ever adds agents and never moves one.
 */
export function waveOf(
  rolloutId: string,
  spec: RolloutSpec,
  agentId: string,
  labels: Record<string, string>,
) {
  const bucket = bucketOf(rolloutId, agentId);
  const index = spec.waves.findIndex((w) => {
    if (w.percent !== undefined) return bucketWithin(bucket, w.percent);
    if (w.agents !== undefined) return w.agents.includes(agentId);
    return hasLabels(labels, w.labels);
  });
  return index === -1 ? undefined : index;
}

export interface WavePlan {
  index: number;
  name: string;
  agents: string[];
}

/** The preview: every eligible agent placed in its wave, plus those no wave covers. */
export function planWaves(
  rolloutId: string,
  spec: RolloutSpec,
  app: string,
  agents: Candidate[],
): { waves: WavePlan[]; unassigned: string[] } {
  const waves = spec.waves.map((w, index) => ({ index, name: w.name, agents: [] as string[] }));
  const unassigned: string[] = [];
  for (const agent of agents) {
    if (!isEligible(spec, app, agent)) continue;
    const wave = waveOf(rolloutId, spec, agent.id, agent.labels);
    if (wave === undefined) unassigned.push(agent.id);
    else waves[wave]?.agents.push(agent.id);
  }
  return { waves, unassigned };
}
