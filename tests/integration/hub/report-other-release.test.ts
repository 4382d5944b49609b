/**
 * A report names its deployment and the release it is about. One that names a deployment of this
 * rollout but another release (an agent's outbox resent after the hub's data was restored, a bug
 * in a client) counted as this rollout's result: "succeeded" for 2.0.0 while the host had
 * installed 3.0.0, and a wave advanced on it. Such a report is stored (the host's history) but
 * moves no deployment. Real hub, an agent over a real WebSocket.
 */
import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import type { HubMessage } from "../../../shared/protocol/messages.js";
import { hubPerTest, isType, publishRelease, reportAcked } from "./support.js";

const session = hubPerTest();
const isDeploy = isType("deploy");

describe("a report about another release than its deployment's", () => {
  it("moves no deployment; the deployment's own report still does", async () => {
    const t = await session.start();
    await publishRelease(t, "1.0.0");
    const v2 = await publishRelease(t, "2.0.0");
    const v3 = await publishRelease(t, "3.0.0");
    const a1 = await session.connect(t, "a1");
    const created = await t.api<{ id: string }>("POST", "/api/v1/rollouts", {
      token: t.operator,
      body: { release: v2, waves: [{ name: "all", percent: 100 }] },
    });
    const deploy = await a1.next(isDeploy);
    const reportId = randomUUID();
    a1.send({
      type: "report",
      reportId,
      deploymentId: deploy.deploymentId,
      app: "web",
      releaseId: v3,
      outcome: "succeeded",
      fromVersion: "1.0.0",
      toVersion: "3.0.0",
      steps: [],
    });
    await a1.next(
      (m): m is Extract<HubMessage, { type: "ack" }> => m.type === "ack" && m.reportId === reportId,
    );
    type View = { state: string; waves: { agents: { agentId: string; state: string }[] }[] };
    const view = async () =>
      (await t.api<View>("GET", `/api/v1/rollouts/${created.body.id}`, { token: t.operator })).body;
    // Before: succeeded, and the rollout completed on a result about 3.0.0.
    expect((await view()).waves[0]?.agents[0]?.state).toBe("sent");
    expect((await view()).state).toBe("running");
    await reportAcked(a1, deploy, "succeeded");
    await expect.poll(async () => (await view()).state, { timeout: 10_000 }).toBe("completed");
  });
});
