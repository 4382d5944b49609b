/**
 * `enabled = false` on an agent's source, in hub mode: ship leaves that app alone, as a timer run
 * does. Before, the agent announced the app and carried out the hub's releases for it as for any
 * other, so a disabled app was updated by the next rollout.
 */
import { readFile, writeFile } from "node:fs/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Fleet } from "./fleet.js";

interface AgentDetail {
  apps: { app: string; version: string | null }[];
}

describe("an agent whose app is disabled in ship.toml (real hub, real agents)", () => {
  let fleet: Fleet;
  beforeAll(async () => {
    fleet = await Fleet.start({ agents: 2 });
  }, 120_000);
  afterAll(async () => {
    await fleet?.close();
  });

  const disableOnSecondAgent = async () => {
    const agent = fleet.agent(1);
    const toml = await readFile(agent.configFile, "utf8");
    await writeFile(
      agent.configFile,
      toml.replace("[sources.sample]\n", "[sources.sample]\nenabled = false\n"),
    );
  };
  const rollout = async (version: string) =>
    (
      await fleet.api<{ id: string }>("POST", "/rollouts", {
        release: await fleet.publish({ version }),
        waves: [{ name: "all", percent: 100 }],
        failureThreshold: { count: 2 },
        autoAdvance: true,
      })
    ).id;
  const finished = (id: string) =>
    fleet.waitFor(`rollout ${id} settled`, async () => {
      const view = await fleet.rollout(id);
      // Completed too: the next rollout of the app is refused while this one runs.
      return (
        view.state === "completed" &&
        view.waves.every((w) => w.agents.every((a) => !["pending", "sent", "in_progress"].includes(a.state)))
      );
    });

  it("an instruction owed from before the app was disabled is not sent (not applicable); the app keeps its version", {
    timeout: 90_000,
  }, async () => {
    await fleet.stopAgent(1);
    // The hub still counts agent-2 (it announced the app): its deployment waits for it.
    const id = await rollout("2.0.0");
    await disableOnSecondAgent();
    await fleet.startAgent(1);
    await finished(id);
    const agents = (await fleet.rollout(id)).waves.flatMap((w) => w.agents);
    expect(agents.find((a) => a.agentId === "agent-1")?.state).toBe("succeeded");
    const second = agents.find((a) => a.agentId === "agent-2");
    // Its hello no longer names the app: not sent, and not a failure of the release.
    expect(second?.state).toBe("not_applicable");
    expect(second?.error).toContain("[sources.sample] removed or enabled = false");
    expect(await fleet.appVersion(0)).toBe("2.0.0");
    expect(await fleet.appVersion(1)).toBe("1.0.0");
  });

  it("the agent no longer announces the app, so the next rollout does not count it", {
    timeout: 90_000,
  }, async () => {
    const detail = await fleet.api<AgentDetail>("GET", "/agents/agent-2");
    expect(detail.apps.map((a) => a.app)).toEqual([]);
    const id = await rollout("3.0.0");
    await finished(id);
    const members = (await fleet.rollout(id)).waves.flatMap((w) => w.agents.map((a) => a.agentId));
    expect(members).toEqual(["agent-1"]);
    expect(await fleet.appVersion(0)).toBe("3.0.0");
    expect(await fleet.appVersion(1)).toBe("1.0.0");
  });
});
