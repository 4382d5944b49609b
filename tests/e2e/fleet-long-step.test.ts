/**
 * A step that runs longer than the hub's progress_timeout_seconds (a long migration or hook): the
 * agent sent no progress while it ran, so the hub counted the deployment timed out, failed, and
 * halted the rollout, although the host was working fine (its success came in after the halt).
 * Now a running instruction tells the hub it is still at work. Real hub (a 4 s timeout, a 9 s hook) and agent.
 * The hub also refreshed a deployment's clock at most every 5 s, whatever the timeout: under a 5 s
 * one a live agent, saying "still working" every second, was timed out "for 6 s"; under 4 s always.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Fleet } from "./fleet.js";

describe("an update whose step outlasts the hub's progress timeout (real hub, real agent)", () => {
  let fleet: Fleet;
  beforeAll(async () => {
    fleet = await Fleet.start({ agents: 1, hub: { progress_timeout_seconds: 4 } });
  }, 120_000);
  afterAll(async () => {
    await fleet?.close();
  });

  it("is not timed out while the agent works, and the rollout completes", { timeout: 90_000 }, async () => {
    const release = await fleet.publish({ version: "2.0.0", preUpdate: ["sleep 9"] });
    const { id } = await fleet.api<{ id: string }>("POST", "/rollouts", {
      release,
      waves: [{ name: "all", percent: 100 }],
      autoAdvance: true,
    });
    await fleet.waitFor("the rollout settled", async () => {
      const view = await fleet.rollout(id);
      return view.state !== "running";
    });
    const view = await fleet.rollout(id);
    // Before: timed_out after the timeout (4 to 5 s, the hub's clock of it standing for 5 s), the rollout halted ("failure threshold … reached").
    expect({ state: view.state, counts: view.counts }, JSON.stringify(view)).toEqual({
      state: "completed",
      counts: { succeeded: 1 },
    });
    expect(await fleet.appVersion(0)).toBe("2.0.0");
  });
});
