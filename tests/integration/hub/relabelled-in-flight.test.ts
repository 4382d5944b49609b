/**
 * An agent relabelled out of a rollout's selector AFTER the hub handed it the release (the
 * instruction is on its disk: a restarted agent carries it out whatever its labels) used to become
 * `not_applicable … not sent`: a failed run of the release on that host was then dropped, and the
 * rollout completed with "0 failed" while the host had failed the update (and restored, or stayed
 * broken). The run's report counts; what the hub says before it does not claim "not sent". A
 * refusal (an agent that no longer takes the app: a failed report with no steps) still is no
 * failure of the release. Real hub, agents over a real WebSocket.
 */
import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import type { Deploy, HubMessage } from "../../../shared/protocol/messages.js";
import { hubPerTest, isType, publishRelease, reportAcked, type TestHub } from "./support.js";

const session = hubPerTest();
const isDeploy = isType("deploy");
const on1 = [{ app: "web", version: "1.0.0", state: "updated", releaseId: undefined }];

type View = {
  state: string;
  reason: string | null;
  progress: Record<string, number>;
  waves: { agents: { agentId: string; state: string; error: string | null }[] }[];
};
const view = async (t: TestHub, id: string) =>
  (await t.api<View>("GET", `/api/v1/rollouts/${id}`, { token: t.operator })).body;
const deployment = async (t: TestHub, id: string, agentId: string) =>
  (await view(t, id)).waves.flatMap((w) => w.agents).find((a) => a.agentId === agentId);

/** web 2.0.0 to every agent with env=prod, one wave, halting on the first failure. */
async function prodRollout(t: TestHub): Promise<string> {
  await publishRelease(t, "1.0.0");
  const created = await t.api<{ id: string }>("POST", "/api/v1/rollouts", {
    token: t.operator,
    body: {
      release: await publishRelease(t, "2.0.0"),
      selector: { labels: { env: "prod" } },
      waves: [{ name: "all", percent: 100 }],
      failureThreshold: { count: 1 },
    },
  });
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  return created.body.id;
}

/** `id`'s agent, handed the release, reconnects as a staging host (relabelled while it updated). */
async function relabelled(t: TestHub, id: string, agentId: string) {
  const again = await session.connect(t, agentId, on1, { env: "staging" });
  await expect
    .poll(async () => (await deployment(t, id, agentId))?.state, { timeout: 10_000 })
    .toBe("not_applicable");
  return again;
}

describe("an agent relabelled out of the selector after it was sent the release", () => {
  it("its failed run counts as failed and halts the rollout; the view never said it was not sent", async () => {
    const t = await session.start();
    const a1 = await session.connect(t, "a1", on1, { env: "prod" });
    const a2 = await session.connect(t, "a2", on1, { env: "prod" });
    const id = await prodRollout(t);
    const deploy: Deploy = await a1.next(isDeploy);
    await a2.next(isDeploy);
    a1.ws.terminate();
    const again = await relabelled(t, id, "a1");
    expect((await deployment(t, id, "a1"))?.error).toBe(
      "not applicable: a1 no longer matches the rollout's selector (its labels lack env=prod); it was sent the release before and is not sent it again: a report of its run still counts",
    );
    // The agent carries out the instruction it has on disk: the post-update test fails, and the
    // host restores 1.0.0 by itself.
    await reportAcked(again, deploy, "rolled_back", [{ name: "post_update_test", ok: false, ms: 5 }]);
    await expect.poll(async () => (await deployment(t, id, "a1"))?.state, { timeout: 10_000 }).toBe("failed");
    await expect.poll(async () => (await view(t, id)).state, { timeout: 10_000 }).toBe("paused");
    expect((await view(t, id)).progress).toMatchObject({ failed: 1, "not-applicable": 0 });
  });

  it("a host that broke on it (restore failed) is failed, not left out", async () => {
    const t = await session.start();
    const a1 = await session.connect(t, "a1", on1, { env: "prod" });
    const id = await prodRollout(t);
    const deploy: Deploy = await a1.next(isDeploy);
    a1.ws.terminate();
    const again = await relabelled(t, id, "a1");
    const reportId = randomUUID();
    again.send({
      type: "report",
      v: 1,
      reportId,
      deploymentId: deploy.deploymentId,
      app: "web",
      releaseId: deploy.release.id,
      outcome: "restore_failed",
      fromVersion: "1.0.0",
      toVersion: "2.0.0",
      error: "post_update_test failed, and restoring 1.0.0 failed too",
      steps: [{ name: "post_update_test", ok: false, ms: 5 }],
    });
    await again.next((m): m is HubMessage => m.type === "ack" && m.reportId === reportId);
    await expect.poll(async () => (await deployment(t, id, "a1"))?.state, { timeout: 10_000 }).toBe("failed");
  });

  it("a refusal (no run: the agent no longer takes the app) stays not applicable, no failure", async () => {
    const t = await session.start();
    const a1 = await session.connect(t, "a1", on1, { env: "prod" });
    const a2 = await session.connect(t, "a2", on1, { env: "prod" });
    const id = await prodRollout(t);
    const deploy: Deploy = await a1.next(isDeploy);
    await reportAcked(a2, await a2.next(isDeploy), "succeeded");
    a1.ws.terminate();
    const again = await relabelled(t, id, "a1");
    await reportAcked(again, deploy, "failed");
    await t.hub.engine.tick();
    expect(await deployment(t, id, "a1")).toMatchObject({ state: "not_applicable" });
    await expect.poll(async () => (await view(t, id)).state, { timeout: 10_000 }).toBe("completed");
  });

  it("one never sent (away when the rollout started) is still 'not sent'", async () => {
    const t = await session.start();
    await session.connect(t, "a1", on1, { env: "prod" });
    const away = await session.connect(t, "a2", on1, { env: "prod" });
    away.ws.terminate();
    await expect.poll(() => t.hub.registry.isOnline("a2"), { timeout: 10_000 }).toBe(false);
    const id = await prodRollout(t);
    await relabelled(t, id, "a2");
    expect((await deployment(t, id, "a2"))?.error).toBe(
      "not applicable: a2 no longer matches the rollout's selector (its labels lack env=prod); not sent",
    );
  });
});
