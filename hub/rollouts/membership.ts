/**
 * Who takes part in a rollout and in which wave: pure functions of the rollout's seed, its spec and
 * the agents' announced facts, so every hub process (and a preview) computes the same answer.
 */
import type { RolloutSpec } from "../../shared/api/bodies.js";
import { bucketOf, bucketWithin, coversEveryBucket } from "../../shared/rollout/bucket.js";
import { labelPairsText } from "../label-pairs.js";

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
  // The bucket is hashed only when a percent wave's answer depends on it (coversEveryBucket).
  let bucket: number | undefined;
  const index = spec.waves.findIndex((w) => {
    if (w.percent !== undefined) {
      const every = coversEveryBucket(w.percent);
      if (every !== undefined) return every;
      bucket ??= bucketOf(seed, agentId);
      return bucketWithin(bucket, w.percent);
    }
    if (w.agents !== undefined) return names(w.agents, agentId);
    return hasLabels(labels, w.labels);
  });
  return index === -1 ? undefined : index;
}

/**
 * An agents wave's ids as a set, built once per list (a spec read from the store is a new list):
 * searching the list for every agent of a 10,000-agent fleet made one body naming 150,000 ids
 * hold the event loop for 26 s.
 */
const namedSets = new WeakMap<readonly string[], ReadonlySet<string>>();
function names(ids: readonly string[], agentId: string): boolean {
  let set = namedSets.get(ids);
  if (set === undefined) {
    set = new Set(ids);
    namedSets.set(ids, set);
  }
  return set.has(agentId);
}

/** A wave that must not start empty: a percent wave above 0 % (5 % of 3 agents is still a canary). */
export function wantsMember(spec: RolloutSpec, wave: number): boolean {
  return (spec.waves[wave]?.percent ?? 0) > 0;
}

/**
 * Every eligible agent's wave (undefined: no wave covers it). On top of `waveOf`, for a fleet too
 * small for its percent waves: the agents bound for a percent wave (or for none), in bucket order,
 * fill the percent waves in order as their cumulative percents cut them, except that no percent
 * wave is left empty while an earlier one holds two or more agents or an agent is left over; so
 * `canary=5` on three hosts is one host, never an empty canary, and `5, 10, 15, 100` on four hosts
 * is one each. With fewer agents than percent waves the first waves get one each and the last stay
 * empty. A fleet large enough keeps the split its buckets give.
 */
export function placeAgents(
  seed: string,
  spec: RolloutSpec,
  app: string,
  agents: readonly Candidate[],
): Map<string, number | undefined> {
  const placed = new Map<string, number | undefined>();
  for (const agent of agents) {
    if (!isEligible(spec, app, agent)) continue;
    placed.set(agent.id, waveOf(seed, spec, agent.id, agent.labels));
  }
  const percentWaves = spec.waves.flatMap((_, index) => (wantsMember(spec, index) ? [index] : []));
  if (percentWaves.length === 0) return placed;
  const { naturals, cuts } = percentCuts(spec, percentWaves, placed.values());
  // A fleet large enough: every cut falls where the buckets put it, so nobody moves. Checked from
  // counts, before any sort: a wave start places the whole fleet before the commit every hub waits
  // for, and sorting 10,000 agents by bucket cost ~25-45 ms of CPU for nothing (round 40).
  if (cuts.every((cut, i) => cut === naturals[i])) return placed;
  // Bucket order: each percent wave's members are a run of it, the waves in order, then the rest.
  const pool = [...placed]
    .filter(([, wave]) => wave === undefined || spec.waves[wave]?.percent !== undefined)
    .map(([id]) => ({ id, bucket: bucketOf(seed, id) }))
    .sort((a, b) => a.bucket - b.bucket || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  let cut = 0;
  percentWaves.forEach((wave, i) => {
    const next = cuts[i] ?? cut;
    for (const a of pool.slice(cut, next)) placed.set(a.id, wave);
    cut = Math.max(cut, next);
  });
  for (const a of pool.slice(cut)) placed.set(a.id, undefined);
  return placed;
}

/**
 * The pool (the agents bound for a percent wave or for none, in bucket order) cut for each percent
 * wave in `percentWaves`: `naturals[i]`, where the buckets cut it (how many of the pool are bound
 * for that wave or an earlier one: a run, since percent waves are cumulative over the bucket), and
 * `cuts[i]`, where the rule above cuts it. Counts only: both follow from how many agents each wave's
 * bucket split holds.
 */
function percentCuts(
  spec: RolloutSpec,
  percentWaves: readonly number[],
  waves: Iterable<number | undefined>,
): { naturals: number[]; cuts: number[] } {
  const inWave = spec.waves.map(() => 0);
  let none = 0;
  for (const wave of waves) {
    if (wave === undefined) none++;
    else if (spec.waves[wave]?.percent !== undefined) inWave[wave] = (inWave[wave] ?? 0) + 1;
  }
  const covered = inWave.reduce((sum, n) => sum + n, 0);
  const count = percentWaves.length;
  const used = Math.max(covered, Math.min(count, covered + none));
  const naturals = percentWaves.map((wave) => inWave.slice(0, wave + 1).reduce((sum, n) => sum + n, 0));
  let cut = 0;
  const cuts = percentWaves.map((_, i) => {
    const natural = naturals[i] ?? 0;
    const reserve = Math.max(0, Math.min(count - 1 - i, used - 1 - i));
    const next = Math.min(Math.max(natural, Math.min(cut + 1, used)), used - reserve);
    cut = Math.max(cut, next);
    return next;
  });
  return { naturals, cuts };
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

/**
 * Label pairs as `--selector` would be typed to give them back: a pair holding white space, a
 * comma, a semicolon (the sets' separator), a quote or a backslash in double quotes. Written as
 * they were, `zone=rack "b", row 2` read as two pairs and a stray quote.
 */
function describeLabels(labels: Record<string, string>): string {
  return labelPairsText(labels).join(",");
}

/**
 * Why a rollout planned on `agents` would hold nobody, as a 400 naming the field to fix (one line),
 * or undefined when some agent takes part. A rollout with no agent would only hold its app (one
 * active rollout per app) until someone aborts it: a selector typo is refused here, like any other
 * bad field, and the operator sees it at once instead of a rollout that waits for nobody.
 */
export function nobodyRefusal(
  spec: RolloutSpec,
  app: string,
  agents: readonly Candidate[],
  placed: ReadonlyMap<string, number | undefined>,
): string | undefined {
  if ([...placed.values()].some((wave) => wave !== undefined)) return undefined;
  const withApp = agents.filter((a) => a.apps.some((s) => s.app === app));
  if (withApp.length === 0)
    return `body.release: no registered agent has app ${app} (${agents.length} agent(s) registered), so the rollout would hold nobody; check \`ship-hub agents\``;
  const labels = spec.selector?.labels ?? {};
  const selected = withApp.filter((a) => hasLabels(a.labels, labels));
  if (selected.length === 0) {
    const seen = [...new Set(withApp.map((a) => describeLabels(a.labels) || "(none)"))];
    const shown = seen.slice(0, 5).join("; ") + (seen.length > 5 ? "; …" : "");
    return `body.selector.labels: no agent with app ${app} has ${describeLabels(labels)} (${withApp.length} agent(s) have app ${app}; their labels: ${shown}), so the rollout would hold nobody`;
  }
  return `body.waves: no wave takes any of the ${selected.length} agent(s) with app ${app}${Object.keys(labels).length > 0 ? ` and ${describeLabels(labels)}` : ""} (their waves name labels or agents none of them has), so the rollout would hold nobody`;
}
