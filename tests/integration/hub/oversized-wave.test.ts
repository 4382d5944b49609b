/**
 * A percent canary whose buckets put far more of a small fleet in it than it asks: `canary=5` took
 * 2 of 3 hosts (67 %) and nothing said so — not the preview, not create, not the dashboard's form —
 * so a release that broke the canary broke two hosts where one was planned. Now preview and create
 * say it, in the flags typed. The seed is one whose buckets put web-01 and web-02 under 5 %. Real
 * hub, agents over a real WebSocket, the real CLI as a child process.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { requireHubBin } from "../../support/hub-cli.js";
import { hubWithLabelledAgents, type LabelledHub } from "./support.js";

describe("a percent wave holding far more than its share of a small fleet", () => {
  let hub: LabelledHub;
  beforeAll(async () => {
    requireHubBin();
    hub = await hubWithLabelledAgents([{ id: "web-01" }, { id: "web-02" }, { id: "web-03" }]);
  });
  afterAll(async () => {
    await hub?.stop();
  });

  it("is said at preview and create, naming the wave, the count and the share asked", async () => {
    const args = ["rollout", "create", "--release", hub.release, "--seed", "seed-383"];
    const preview = await hub.cli(...args, "--wave", "canary=5", "--wave", "all=100", "--preview");
    expect(preview.code, preview.stderr).toBe(0);
    expect(preview.stdout).toMatch(/^canary +2 +web-01 web-02$/m);
    const oversized =
      'warning: --wave "canary=5" takes 2 of the rollout\'s 3 agent(s) now (67 %), over twice the 5 % asked: a percent wave takes the agents whose bucket (a hash of the seed and the agent id) falls in its share, far more than it on a fleet this small; for fewer, name them (an agents wave) or give another seed';
    expect(preview.stderr.split("\n").filter((l) => l.startsWith("warning:"))).toEqual([oversized]);
    // A wave at its share, or one agent (the least a percent wave holds), is not said.
    const even = await hub.cli(...args, "--wave", "half=67", "--wave", "all=100", "--preview");
    expect(even.stderr).not.toMatch(/over twice/);
    const created = await hub.cli(...args, "--wave", "canary=5", "--wave", "all=100");
    expect(created.code, created.stderr).toBe(0);
    expect(created.stderr.split("\n")).toContain(oversized);
  });
});
