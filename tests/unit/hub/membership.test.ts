import { describe, expect, it } from "vitest";
import { isEligible, planWaves, waveOf } from "../../../hub/rollouts/membership.js";
import { RolloutSpec } from "../../../shared/api/bodies.js";

const ids = Array.from({ length: 10_000 }, (_, i) => `agent-${i.toString(36)}-${(i * 7919) % 10007}`);
const spec = (percents: number[]) =>
  RolloutSpec.parse({ release: "r", waves: percents.map((percent, i) => ({ name: `w${i}`, percent })) });

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
});
