import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { APP, Fleet } from "./fleet.js";

interface EventView {
  id: number;
  kind: string;
  subject: string;
  data: Record<string, unknown>;
}

describe("fleet happy path: 5 agents, waves by label then percent", () => {
  let fleet: Fleet;
  beforeAll(async () => {
    fleet = await Fleet.start({
      agents: 5,
      labels: (i) => (i === 0 ? { ring: "canary" } : { ring: "main" }),
    });
  }, 120_000);
  afterAll(async () => {
    await fleet?.close();
  });

  it("every agent ends on v2 with its config value and data kept; the canary finished before the others started", {
    timeout: 120_000,
  }, async () => {
    const release = await fleet.publish({ version: "2.0.0" });
    const rollout = await fleet.api<{ id: string }>("POST", "/rollouts", {
      release,
      waves: [
        { name: "canary", labels: { ring: "canary" } },
        { name: "a third", percent: 34 },
        { name: "everyone", percent: 100 },
      ],
      failureThreshold: { count: 1 },
      autoAdvance: true,
    });
    await fleet.waitFor("rollout completed", async () => {
      const view = await fleet.rollout(rollout.id);
      expect(view.state).not.toMatch(/paused|failed|aborted/);
      return view.state === "completed";
    });

    const view = await fleet.rollout(rollout.id);
    expect(view.counts).toEqual({ succeeded: 5 });
    expect(view.waves[0]?.agents.map((a) => a.agentId)).toEqual(["agent-1"]);

    for (const [i, agent] of fleet.agents.entries()) {
      expect(await fleet.appVersion(i)).toBe("2.0.0");
      const config = await readFile(join(agent.appDir, "config.toml"), "utf8");
      expect(config).toContain(`name = "host-${agent.id}"`);
      expect(config).toContain("workers = 4");
      expect(await readFile(join(agent.appDir, "data", "records.txt"), "utf8")).toBe(
        `records of ${agent.id}\n`,
      );
    }

    const { agents } = await fleet.api<{
      agents: { id: string; apps: { app: string; version: string }[] }[];
    }>("GET", "/agents");
    for (const agent of agents) expect(agent.apps.find((a) => a.app === APP)?.version).toBe("2.0.0");

    // The canary's success is recorded before any other agent is sent the release.
    const { events } = await fleet.api<{ events: EventView[] }>("GET", "/events?limit=1000");
    const ordered = [...events].reverse();
    const canaryDone = ordered.findIndex(
      (e) => e.kind === "deployment.succeeded" && e.subject.endsWith(":agent-1"),
    );
    const firstOtherSent = ordered.findIndex(
      (e) => e.kind === "deployment.sent" && !e.subject.endsWith(":agent-1"),
    );
    expect(canaryDone).toBeGreaterThanOrEqual(0);
    expect(firstOtherSent).toBeGreaterThan(canaryDone);
    // Progress reached the hub: every deployment went through in_progress.
    expect(ordered.filter((e) => e.kind === "deployment.in_progress")).toHaveLength(5);
  });
});
