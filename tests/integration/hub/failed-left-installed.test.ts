/**
 * A failed update the agent did not roll back (failed_not_rolled_back) leaves the new release
 * installed, and the agent's report names it (installedReleaseId). The hub recorded that release id
 * but kept the version it knew, so the fleet read `web@1.0.0 (failed)` on a host running 2.0.0.
 * The state is the one its next hello names (failed_not_rolled_back), so a later rollout of the
 * release does not take the host for updated.
 * Real hub (in process), a real WebSocket agent.
 */
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { HubMessage } from "../../../shared/protocol/messages.js";
import { isType, publishRelease, startTestHub, TestAgent, type TestHub } from "./support.js";

describe("the fleet after a failed update left installed", () => {
  let t: TestHub;
  let agent: TestAgent;
  beforeAll(async () => {
    t = await startTestHub();
  });
  afterAll(async () => {
    agent?.ws.close();
    await t?.stop();
  });

  it("shows the version the report names as installed, with the failed state", async () => {
    agent = await TestAgent.connect(t.hub.url, await t.agentToken("a1"));
    agent.hello("a1");
    await expect
      .poll(async () => (await t.api("GET", "/api/v1/agents/a1", { token: t.operator })).status)
      .toBe(200);
    const release = await publishRelease(t, "2.0.0");
    const created = await t.api("POST", "/api/v1/rollouts", {
      token: t.operator,
      body: { release, waves: [{ name: "all", percent: 100 }], failureThreshold: { count: 5 } },
    });
    expect(created.status).toBe(201);
    const deploy = await agent.next(isType("deploy"));
    const reportId = randomUUID();
    agent.send({
      type: "report",
      v: 1,
      reportId,
      deploymentId: deploy.deploymentId,
      app: "web",
      releaseId: release,
      outcome: "failed",
      fromVersion: "1.0.0",
      toVersion: "2.0.0",
      error: "post_update test failed; NOT rolled back (auto_rollback_on excludes it)",
      steps: [],
      installedReleaseId: release,
    });
    await agent.next(
      (m: HubMessage): m is Extract<HubMessage, { type: "ack" }> =>
        m.type === "ack" && m.reportId === reportId,
    );
    const view = await t.api<{ apps: { app: string; version: string; state: string }[] }>(
      "GET",
      "/api/v1/agents/a1",
      { token: t.operator },
    );
    expect(view.body.apps).toEqual([
      // In the word the host's next hello uses for it (it read "failed" until then).
      expect.objectContaining({ app: "web", version: "2.0.0", state: "failed_not_rolled_back" }),
    ]);
  });
});
