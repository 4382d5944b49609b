/**
 * `waitMinutes` and `minSuccessRate` only hold back a wave that advances by itself. Without
 * `--auto-advance`, `rollout create --wave canary=5 --wave all=100 --wait-minutes 60` was accepted
 * silently: the operator counted on an hour's soak the rollout did not have (an advance right after
 * the canary finished went through). The CLI now refuses the pair (exit 2, nothing created) and the
 * API's preview and create warn. Real hub, agents over a real WebSocket, the real CLI.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { requireHubBin } from "../../support/hub-cli.js";
import { hubWithLabelledAgents, type LabelledHub, type TestHub } from "./support.js";

describe("wait and success rate without auto-advance", () => {
  let hub: LabelledHub;
  let t: TestHub;
  let release = "";
  const cli = (...args: string[]) => hub.cli(...args);

  beforeAll(async () => {
    requireHubBin();
    hub = await hubWithLabelledAgents([{ id: "a1" }]);
    ({ t, release } = hub);
  });
  afterAll(async () => {
    await hub?.stop();
  });

  it("the CLI refuses them, naming the flags, and creates nothing", async () => {
    const args = ["rollout", "create", "--release", release, "--wave", "canary=50", "--wave", "all=100"];
    const both = await cli(...args, "--wait-minutes", "60", "--min-success-rate", "0.9");
    expect(both.code).toBe(2);
    expect(both.stderr).toBe(
      "ship-hub: --wait-minutes, --min-success-rate only act with --auto-advance (without it a wave advances when an operator advances it, whatever its wait or success rate): add --auto-advance or leave them out\n",
    );
    const one = await cli(...args, "--wait-minutes", "60", "--preview");
    expect(one.code).toBe(2);
    expect(one.stderr).toContain("ship-hub: --wait-minutes only acts with --auto-advance");
    const listed = await t.api<{ rollouts: unknown[] }>("GET", "/api/v1/rollouts", { token: t.operator });
    expect(listed.body.rollouts).toEqual([]);
    // With --auto-advance they are what they say.
    const ok = await cli(...args, "--wait-minutes", "60", "--auto-advance", "--preview");
    expect(ok.code).toBe(0);
  });

  it("the API's preview warns, naming the wave", async () => {
    const preview = await t.api<{ warnings: string[] }>("POST", "/api/v1/rollouts/preview", {
      token: t.operator,
      body: {
        release,
        waves: [
          { name: "canary", percent: 50, waitMinutes: 60, minSuccessRate: 0.9 },
          { name: "all", percent: 100 },
        ],
      },
    });
    // The hub's one agent is in the canary, which is said too (the fleet of one in its first wave).
    expect(preview.body.warnings).toEqual([
      "body.waves[0] (canary) takes every one of the rollout's 1 agent(s) now: all holds none, so the release reaches every agent in the first wave, with nothing tested before",
      "body.waves[0] (canary): waitMinutes 60 and minSuccessRate 0.9 only act with autoAdvance, which is off: the wave advances when an operator advances it",
    ]);
  });
});
