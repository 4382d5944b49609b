/**
 * A percent wave that holds far more of the fleet than it asks for. A wave takes the agents whose
 * bucket (a hash of the seed and the agent id) falls in its share, so on a small fleet the count is
 * luck: `canary=5` took 2 of 7 hosts (29 %), and a release that breaks them broke two hosts where
 * the operator had planned for one, with nothing said. The split stays the buckets' (membership is
 * deterministic and monotonic); it is said at preview and create, with the ways to an exact canary.
 */
import type { RolloutSpec } from "../../shared/api/bodies.js";

/**
 * One warning per percent wave below 100 % holding two or more agents, more than its share of the
 * rollout's agents rounded up and over twice that share: a fleet large enough never comes near it
 * (5 % of 10,000 is 500 ± 22), and one agent is what any percent wave holds at least.
 */
export function oversizedWaveWarnings(
  spec: RolloutSpec,
  placed: ReadonlyMap<string, number | undefined>,
): string[] {
  const fleet = placed.size;
  const held = spec.waves.map(() => 0);
  for (const wave of placed.values()) if (wave !== undefined) held[wave] = (held[wave] ?? 0) + 1;
  let before = 0;
  return spec.waves.flatMap((wave, i) => {
    if (wave.percent === undefined) return [];
    const share = Number((wave.percent - before).toFixed(2));
    before = wave.percent;
    const members = held[i] ?? 0;
    if (wave.percent >= 100 || members < 2) return [];
    const asked = (share * fleet) / 100;
    if (members <= Math.ceil(asked) || members < 2 * asked) return [];
    const got = Math.round((members * 100) / fleet);
    return [
      `body.waves[${i}] (${wave.name}) takes ${members} of the rollout's ${fleet} agent(s) now (${got} %), over twice the ${share} % asked: a percent wave takes the agents whose bucket (a hash of the seed and the agent id) falls in its share, far more than it on a fleet this small; for fewer, name them (an agents wave) or give another seed`,
    ];
  });
}
