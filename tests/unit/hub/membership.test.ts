import { createRequire, syncBuiltinESMExports } from "node:module";
import { describe, expect, it } from "vitest";
import {
  type Candidate,
  isEligible,
  placeAgents,
  planWaves,
  rolloutSeed,
  wantsMember,
  waveOf,
} from "../../../hub/rollouts/membership.js";
import { RolloutSpec } from "../../../shared/api/bodies.js";
import { bucketOf } from "../../../shared/rollout/bucket.js";

const ids = Array.from({ length: 10_000 }, (_, i) => `agent-${i.toString(36)}-${(i * 7919) % 10007}`);
const spec = (percents: number[]) =>
  RolloutSpec.parse({ release: "r", waves: percents.map((percent, i) => ({ name: `w${i}`, percent })) });

/** How many sha256 digests `during` asks node:crypto for (the call still goes through). */
function countHashes(during: () => void): number {
  const crypto = createRequire(import.meta.url)("node:crypto") as typeof import("node:crypto");
  const original = crypto.hash;
  let calls = 0;
  crypto.hash = ((...args: Parameters<typeof original>) => {
    calls++;
    return original(...args);
  }) as typeof original;
  // The ESM named export bucket.ts imports follows the builtin's object only once synced.
  syncBuiltinESMExports();
  try {
    during();
  } finally {
    crypto.hash = original;
    syncBuiltinESMExports();
  }
  return calls;
}

describe("wave membership", () => {
  it("is deterministic: the same rollout and agent always land in the same wave", () => {
    const s = spec([5, 25, 100]);
    for (const id of ids.slice(0, 2000)) expect(waveOf("ro-1", s, id, {})).toBe(waveOf("ro-1", s, id, {}));
    const other = ids.slice(0, 2000).filter((id) => waveOf("ro-1", s, id, {}) !== waveOf("ro-2", s, id, {}));
    expect(other.length).toBeGreaterThan(0);
  });

  it("is monotonic: raising a percentage only adds agents and never moves one to a later wave", () => {
    const lower = spec([5, 20, 60]);
    const higher = spec([10, 30, 80]);
    for (const id of ids) {
      const before = waveOf("ro", lower, id, {});
      const after = waveOf("ro", higher, id, {});
      if (before !== undefined) expect(after).toBeDefined();
      if (before !== undefined && after !== undefined) expect(after).toBeLessThanOrEqual(before);
    }
  });

  it("distributes agents within 1.5 percentage points of the waves' shares", () => {
    const agents = ids.map((id) => ({ id, labels: {}, apps: [{ app: "web" }] }));
    const plan = planWaves("ro-dist", spec([5, 25, 100]), "web", agents);
    const shares = plan.waves.map((w) => (w.agents.length / ids.length) * 100);
    expect(shares[0]).toBeGreaterThan(3.5);
    expect(shares[0]).toBeLessThan(6.5);
    expect(shares[1]).toBeGreaterThan(18.5);
    expect(shares[1]).toBeLessThan(21.5);
    expect(shares[2]).toBeGreaterThan(73.5);
    expect(shares[2]).toBeLessThan(76.5);
    expect(plan.unassigned).toEqual([]);
  });

  it("places label and explicit-agent waves, and the selector and app narrow the rollout", () => {
    const s = RolloutSpec.parse({
      release: "r",
      selector: { labels: { env: "prod" } },
      waves: [
        { name: "pets", agents: ["b"] },
        { name: "eu", labels: { region: "eu" } },
      ],
    });
    const agents = [
      { id: "a", labels: { env: "prod", region: "eu" }, apps: [{ app: "web" }] },
      { id: "b", labels: { env: "prod", region: "eu" }, apps: [{ app: "web" }] },
      { id: "c", labels: { env: "prod", region: "us" }, apps: [{ app: "web" }] },
      { id: "d", labels: { env: "dev", region: "eu" }, apps: [{ app: "web" }] },
      { id: "e", labels: { env: "prod", region: "eu" }, apps: [{ app: "db" }] },
    ];
    expect(isEligible(s, "web", agents[3]!)).toBe(false);
    expect(isEligible(s, "web", agents[4]!)).toBe(false);
    const plan = planWaves("ro", s, "web", agents);
    expect(plan.waves.map((w) => w.agents)).toEqual([["b"], ["a"]]);
    expect(plan.unassigned).toEqual(["c"]);
  });

  it("validates wave specs with field paths", () => {
    const bad = RolloutSpec.safeParse({ release: "r", waves: [{ name: "x", percent: 120 }, { name: "y" }] });
    expect(bad.success).toBe(false);
    const paths = bad.error?.issues.map((i) => `${i.path.join(".")}: ${i.message}`);
    expect(paths).toContain("waves.0.percent: must be ≤ 100");
    expect(paths).toContain("waves.1: a wave needs exactly one of percent, labels, agents");
  });

  it("a percent wave above 0 % is never empty while the rollout has agents: it takes the lowest bucket", () => {
    const few = ["x1", "x2", "x3"].map((id) => ({ id, labels: {}, apps: [{ app: "web" }] }));
    for (let i = 0; i < 50; i++) {
      const s = spec([5, 10, 100]);
      const plan = planWaves(`seed-${i}`, s, "web", few);
      expect(plan.waves.map((w) => w.agents.length)).toEqual([1, 1, 1]);
      // The canary is the agent whose own bucket is lowest: the one a growing percent reaches first.
      const lowest = [...few].sort((a, b) => bucketOf(`seed-${i}`, a.id) - bucketOf(`seed-${i}`, b.id))[0];
      expect(plan.waves[0]?.agents).toEqual([lowest?.id]);
    }
    // With no agents there is nothing to take.
    expect(planWaves("s", spec([5, 100]), "web", []).waves.map((w) => w.agents)).toEqual([[], []]);
    // A single agent is the canary; the later wave is then empty.
    expect(planWaves("s", spec([5, 100]), "web", few.slice(0, 1)).waves.map((w) => w.agents)).toEqual([
      ["x1"],
      [],
    ]);
  });

  it("percent waves must grow: a wave at (or below) the previous percent is refused, never filled from later waves", () => {
    const equal = RolloutSpec.safeParse({
      release: "r",
      waves: ["c", "d", "e", "f", "g"]
        .map((name) => ({ name, percent: 5 }))
        .concat({ name: "all", percent: 100 }),
    });
    expect(equal.success).toBe(false);
    expect(equal.error?.issues.map((i) => i.path.join("."))).toEqual([
      "waves.1.percent",
      "waves.2.percent",
      "waves.3.percent",
      "waves.4.percent",
    ]);
    expect(RolloutSpec.safeParse({ release: "r", waves: [{ name: "none", percent: 0 }] }).success).toBe(
      false,
    );
    // Growing percents on a fleet as small as the waves: one agent each, the last wave included.
    const four = ["x1", "x2", "x3", "x4"].map((id) => ({ id, labels: {}, apps: [{ app: "web" }] }));
    for (let i = 0; i < 50; i++)
      expect(
        planWaves(`s-${i}`, spec([5, 10, 15, 100]), "web", four).waves.map((w) => w.agents.length),
      ).toEqual([1, 1, 1, 1]);
  });

  it("the split depends on the seed (default: the release), not on a random rollout id", () => {
    const s = RolloutSpec.parse({ release: "rel-1", waves: [{ name: "all", percent: 100 }] });
    expect(rolloutSeed(s)).toBe("rel-1");
    expect(rolloutSeed({ ...s, id: "1c0f1e2a-3b4c-4d5e-8f60-718293a4b5c6" })).toBe("rel-1");
    expect(rolloutSeed({ ...s, seed: "other" })).toBe("other");
  });

  it("places as cutting the bucket-ordered pool wave by wave, whether or not the fleet is large enough to keep its split", () => {
    // The rule as placeAgents documents it, written the plain way (sort every time): placeAgents
    // skips the sort when the counts show nobody moves, and must place exactly as this.
    const byRule = (
      seed: string,
      s: RolloutSpec,
      agents: { id: string; labels: Record<string, string> }[],
    ) => {
      const placed = new Map(agents.map((a) => [a.id, waveOf(seed, s, a.id, a.labels)]));
      const percentWaves = s.waves.flatMap((_, i) => (wantsMember(s, i) ? [i] : []));
      if (percentWaves.length === 0) return placed;
      const pool = [...placed]
        .filter(([, w]) => w === undefined || s.waves[w]?.percent !== undefined)
        .map(([id, wave]) => ({ id, wave, bucket: bucketOf(seed, id) }))
        .sort((a, b) => a.bucket - b.bucket || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
      const covered = pool.filter((a) => a.wave !== undefined).length;
      const used = Math.max(covered, Math.min(percentWaves.length, pool.length));
      let cut = 0;
      percentWaves.forEach((wave, i) => {
        const natural = pool.filter((a) => a.wave !== undefined && a.wave <= wave).length;
        const reserve = Math.max(0, Math.min(percentWaves.length - 1 - i, used - 1 - i));
        const next = Math.min(Math.max(natural, Math.min(cut + 1, used)), used - reserve);
        for (const a of pool.slice(cut, next)) placed.set(a.id, wave);
        cut = Math.max(cut, next);
      });
      for (const a of pool.slice(cut)) placed.set(a.id, undefined);
      return placed;
    };
    const specs = [
      spec([5, 10, 15, 100]),
      spec([5]),
      spec([1, 100]),
      spec([0.01, 50]),
      spec([0.5, 2]),
      spec([30, 60, 90]),
      RolloutSpec.parse({
        release: "r",
        waves: [
          { name: "canary", percent: 5 },
          { name: "db", labels: { role: "db" } },
          { name: "named", agents: [ids[3], ids[40]] },
          { name: "half", percent: 50 },
        ],
      }),
    ];
    let moved = 0;
    for (const size of [0, 1, 2, 3, 4, 5, 7, 12, 30, 100, 400, 3000])
      for (const s of specs) {
        const agents = ids
          .slice(0, size)
          .map(
            (id, i): Candidate => ({ id, labels: i % 4 === 0 ? { role: "db" } : {}, apps: [{ app: "web" }] }),
          );
        const placed = placeAgents("seed-1", s, "web", agents);
        const expected = byRule("seed-1", s, agents);
        expect([...placed].sort()).toEqual([...expected].sort());
        if (agents.some((a) => placed.get(a.id) !== waveOf("seed-1", s, a.id, a.labels))) moved++;
      }
    // Both kinds were compared: fleets where the rule moved agents, and fleets where it moved none.
    expect(moved).toBeGreaterThan(5);
    expect(moved).toBeLessThan(12 * specs.length - 5);
  });

  it("hashes an agent only when a percent wave's answer depends on its bucket", () => {
    // A wave start places the whole fleet before the commit every hub waits for: a 100 % wave (or
    // one of 0 %) takes every agent (or none) whatever its bucket, so none is hashed for it.
    const agents = ids.slice(0, 2_000).map((id) => ({ id, labels: { zone: "a" }, apps: [{ app: "web" }] }));
    const byBucket = (s: RolloutSpec) => new Map(agents.map((a) => [a.id, waveOf("ro", s, a.id, a.labels)]));
    const labelled = RolloutSpec.parse({
      release: "r",
      waves: [
        { name: "zone", labels: { zone: "b" } },
        { name: "rest", percent: 100 },
      ],
    });
    for (const s of [spec([100]), labelled]) {
      let placed = new Map<string, number | undefined>();
      expect(countHashes(() => (placed = placeAgents("ro", s, "web", agents)))).toBe(0);
      expect([...placed.values()].every((wave) => wave === s.waves.length - 1)).toBe(true);
    }
    // A canary's members depend on their buckets: every agent is hashed once, placed as before.
    const canary = spec([5, 100]);
    let placed = new Map<string, number | undefined>();
    expect(countHashes(() => (placed = placeAgents("ro", canary, "web", agents)))).toBe(agents.length);
    expect(placed).toEqual(byBucket(canary));
    expect([...placed.values()].filter((wave) => wave === 0).length).toBe(
      agents.filter((a) => bucketOf("ro", a.id) < 500).length,
    );
  });
});
