import { randomUUID } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { isType, manifestText, startTestHub, TestAgent, type TestHub } from "./support.js";

describe("a restarted hub", () => {
  let dir: string;
  const hubs: TestHub[] = [];
  afterAll(async () => {
    for (const hub of hubs) await hub.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("records agent.offline for every agent it marks offline at start", async () => {
    dir = await mkdtemp(join(tmpdir(), "ship-hub-restart-"));
    const first = await startTestHub({}, dir);
    hubs.push(first);
    for (const id of ["r1", "r2"])
      (await TestAgent.connect(first.hub.url, await first.agentToken(id))).hello(id);
    await expect
      .poll(async () => (await first.hub.store.listAgents()).filter((a) => a.online).length)
      .toBe(2);
    // Stopping closes the store before the sockets' disconnects are written, as a crash would.
    await first.hub.close();
    const second = await startTestHub({}, dir);
    hubs.push(second);
    expect((await second.hub.store.listAgents()).map((a) => a.online)).toEqual([false, false]);
    const offline = (await second.hub.store.listEvents({ limit: 100 }))
      .filter((e) => e.kind === "agent.offline")
      .map((e) => ({ subject: e.subject, actor: e.actor }));
    expect(offline.sort((a, b) => a.subject.localeCompare(b.subject))).toEqual([
      { subject: "r1", actor: "hub" },
      { subject: "r2", actor: "hub" },
    ]);
  });

  it("does not fail agents for the time it was down itself: timeouts count from its start", {
    timeout: 60_000,
  }, async () => {
    const here = await mkdtemp(join(tmpdir(), "ship-hub-down-"));
    try {
      const timeouts = { offlineTimeoutMs: 4_000, progressTimeoutMs: 5_000 };
      const first = await startTestHub(timeouts, here);
      hubs.push(first);
      const published = await first.api<{ id: string }>("POST", "/api/v1/releases", {
        token: first.ci,
        body: {
          app: "web",
          version: "2.0.0",
          manifest: manifestText("2.0.0"),
          source: { type: "git", commit: "abcdef1" },
        },
      });
      const busyToken = await first.agentToken("busy");
      const busy = await TestAgent.connect(first.hub.url, busyToken);
      busy.hello("busy");
      (await TestAgent.connect(first.hub.url, await first.agentToken("gone"))).hello("gone");
      await expect
        .poll(async () => (await first.hub.store.listAgents()).filter((a) => a.online).length)
        .toBe(2);
      const created = await first.api<{ id: string }>("POST", "/api/v1/rollouts", {
        token: first.operator,
        body: {
          release: published.body.id,
          waves: [{ name: "all", percent: 100 }],
          failureThreshold: { count: 5 },
        },
      });
      const deploy = await busy.next(isType("deploy"));
      busy.send({ type: "progress", deploymentId: deploy.deploymentId, step: "fetch" });
      await expect
        .poll(async () => (await first.hub.store.getDeployment(deploy.deploymentId))?.state)
        .toBe("in_progress");
      // The hub stops (as a crash would) for longer than both timeouts; "busy" goes on updating.
      await first.hub.close();
      await new Promise((r) => setTimeout(r, 6_000));
      const second = await startTestHub(timeouts, here);
      hubs.push(second);
      const started = Date.now();
      const view = async () =>
        (
          await second.api<{
            state: string;
            waves: { agents: { agentId: string; state: string; error: string | null }[] }[];
          }>("GET", `/api/v1/rollouts/${created.body.id}`, { token: second.operator })
        ).body;
      const stateOf = async (agentId: string) =>
        (await view()).waves[0]?.agents.find((a) => a.agentId === agentId);
      // Many ticks later, before "busy" is back: nobody timed out for the hub's own absence.
      await new Promise((r) => setTimeout(r, 1_000));
      expect(Date.now() - started).toBeLessThan(4_000);
      expect((await stateOf("busy"))?.state).toBe("in_progress");
      expect((await stateOf("gone"))?.state).toBe("sent");
      expect((await view()).state).toBe("running");
      // "busy" reconnects and reports its success; "gone" never comes back and times out, counted
      // from the hub's start.
      const again = await TestAgent.connect(second.hub.url, busyToken);
      again.hello("busy");
      const reportId = randomUUID();
      again.send({
        type: "report",
        reportId,
        deploymentId: deploy.deploymentId,
        app: "web",
        releaseId: published.body.id,
        outcome: "succeeded",
        fromVersion: "1.0.0",
        toVersion: "2.0.0",
        steps: [],
      });
      await again.next(
        (m): m is Extract<typeof m, { type: "ack" }> => m.type === "ack" && m.reportId === reportId,
      );
      await expect.poll(async () => (await stateOf("gone"))?.state, { timeout: 10_000 }).toBe("timed_out");
      expect((await stateOf("gone"))?.error).toMatch(/agent offline for [45] s \(timeout 4 s\)/);
      expect((await stateOf("busy"))?.state).toBe("succeeded");
      await expect.poll(async () => (await view()).state, { timeout: 10_000 }).toBe("completed");
    } finally {
      await rm(here, { recursive: true, force: true });
    }
  });
});
