/**
 * An agent relabelled out of a rollout's selector AFTER the hub handed it the release still takes
 * the app, and carries out the instruction it has (a restarted agent resumes it from its disk)
 * whatever its labels. The hub used to mark it `not_applicable … not sent` at its hello: the wave
 * no longer waited for it, the rollout completed "0 failed" while the host was still updating, and
 * its failed run was then dropped. Now it stays in its wave, and its report counts. An agent that
 * dropped the app refuses the instruction (a failed report naming no step): that one is still not
 * applicable, no failure, though a report of a run it had begun counts. Real hub, agents over a
 * real WebSocket.
 */
import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import type { Deploy, HubMessage } from "../../../shared/protocol/messages.js";
import { type HelloApps, hubPerTest, isType, publishRelease, reportAcked, type TestHub } from "./support.js";

const session = hubPerTest();
const isDeploy = isType("deploy");
const on1: HelloApps = [{ app: "web", version: "1.0.0", state: "updated", releaseId: undefined }];
const runFailed = [{ name: "post_update_test", ok: false, ms: 5 }];

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

/**
 * a1 and a2 in prod, both sent the release; a1 starts its run (as a real agent says it: the
 * fetch step's "started") unless `started` is false, then reconnects with `apps` and `labels`.
 */
async function a1Reconnects(t: TestHub, apps: HelloApps, labels: Record<string, string>, started = true) {
  const a1 = await session.connect(t, "a1", on1, { env: "prod" });
  const a2 = await session.connect(t, "a2", on1, { env: "prod" });
  const id = await prodRollout(t);
  const deploy: Deploy = await a1.next(isDeploy);
  const a2Deploy: Deploy = await a2.next(isDeploy);
  if (started) {
    a1.send({ type: "progress", v: 1, deploymentId: deploy.deploymentId, step: "fetch", message: "started" });
    await expect
      .poll(async () => (await deployment(t, id, "a1"))?.state, { timeout: 10_000 })
      .toBe("in_progress");
  }
  a1.ws.terminate();
  const again = await session.connect(t, "a1", apps, labels);
  return { id, deploy, again, a2, a2Deploy };
}

/**
 * a1 sent the release only, then back with `apps` and `labels` (not applicable); a2's update
 * succeeded; the rollout aborted with rollback. The abort's answer, once it is a 200.
 */
async function abortedWithRollback(t: TestHub, apps: HelloApps, labels: Record<string, string>) {
  const { id, deploy, again, a2, a2Deploy } = await a1Reconnects(t, apps, labels, false);
  await expect
    .poll(async () => (await deployment(t, id, "a1"))?.state, { timeout: 10_000 })
    .toBe("not_applicable");
  await reportAcked(a2, a2Deploy, "succeeded");
  const aborted = await t.api<View>("POST", `/api/v1/rollouts/${id}/abort`, {
    token: t.operator,
    body: { rollback: true },
  });
  expect(aborted.status).toBe(200);
  return { id, deploy, again, aborted: aborted.body };
}

/** `agent`'s report of `deploy` with an outcome the support helpers do not send, once acked. */
async function reportRestoreFailed(agent: Awaited<ReturnType<typeof session.connect>>, deploy: Deploy) {
  const reportId = randomUUID();
  agent.send({
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
    steps: runFailed,
  });
  await agent.next((m): m is HubMessage => m.type === "ack" && m.reportId === reportId);
}

describe("an agent relabelled out of the selector after it began the update", () => {
  it("stays in its wave: the rollout waits for its run, and its failure halts it", async () => {
    const t = await session.start();
    const { id, deploy, again, a2, a2Deploy } = await a1Reconnects(t, on1, { env: "staging" });
    await reportAcked(a2, a2Deploy, "succeeded");
    await t.hub.engine.tick();
    // Before: not_applicable "…; not sent", and the rollout completed on a2 alone.
    expect(await deployment(t, id, "a1")).toMatchObject({ state: "in_progress", error: null });
    expect((await view(t, id)).state).toBe("running");
    // The run it carries out from its disk fails; the host restores 1.0.0.
    await reportAcked(again, deploy, "rolled_back", runFailed);
    await expect.poll(async () => (await deployment(t, id, "a1"))?.state, { timeout: 10_000 }).toBe("failed");
    await expect.poll(async () => (await view(t, id)).state, { timeout: 10_000 }).toBe("paused");
    expect((await view(t, id)).progress).toMatchObject({ failed: 1, "not-applicable": 0 });
  });

  it("its success completes the rollout", async () => {
    const t = await session.start();
    const { id, deploy, again, a2, a2Deploy } = await a1Reconnects(t, on1, { env: "staging" });
    await reportAcked(a2, a2Deploy, "succeeded");
    await reportAcked(again, deploy, "succeeded");
    await expect.poll(async () => (await view(t, id)).state, { timeout: 10_000 }).toBe("completed");
    expect((await view(t, id)).progress).toMatchObject({ succeeded: 2, failed: 0, "not-applicable": 0 });
  });
});

describe("an agent relabelled out of the selector before it said it had the release", () => {
  it("is not applicable and not sent it again (it may never have got it); a report of a run still counts", async () => {
    const t = await session.start();
    const { id, deploy, again } = await a1Reconnects(t, on1, { env: "staging" }, false);
    await expect
      .poll(async () => (await deployment(t, id, "a1"))?.state, { timeout: 10_000 })
      .toBe("not_applicable");
    expect((await deployment(t, id, "a1"))?.error).toBe(
      "not applicable: a1 no longer matches the rollout's selector (its labels lack env=prod); it was sent the release before and is not sent it again: a report of its run still counts",
    );
    expect(again.received.filter(isDeploy)).toEqual([]);
    await reportAcked(again, deploy, "rolled_back", runFailed);
    await expect.poll(async () => (await deployment(t, id, "a1"))?.state, { timeout: 10_000 }).toBe("failed");
  });

  it("abort --rollback sends it back too: a success it reports afterwards does not leave it succeeded on the release", async () => {
    const t = await session.start();
    const { id, deploy, again, aborted } = await abortedWithRollback(t, on1, { env: "staging" });
    expect(aborted.reason).toBe("aborted; rollback sent to 2 agent(s)");
    const back: Deploy = await again.next(isDeploy);
    expect(back).toMatchObject({ rollback: true, release: { version: "1.0.0" } });
    // The instruction it had on disk, carried out after all: the rollback still stands.
    await reportAcked(again, deploy, "succeeded");
    expect(await deployment(t, id, "a1")).toMatchObject({ state: "rollback_pending" });
    await reportAcked(again, back, "succeeded");
    await expect
      .poll(async () => (await deployment(t, id, "a1"))?.state, { timeout: 10_000 })
      .toBe("rolled_back");
    expect((await view(t, id)).state).toBe("aborted");
  });

  it("one that dropped the app (its hello leaves it out) is not sent a rollback it would refuse", async () => {
    const t = await session.start();
    const { id, again, aborted } = await abortedWithRollback(t, [], { env: "prod" });
    expect(aborted.reason).toBe("aborted; rollback sent to 1 agent(s)");
    await new Promise((r) => setTimeout(r, 300));
    expect(again.received.filter(isDeploy)).toEqual([]);
    expect((await deployment(t, id, "a1"))?.state).toBe("not_applicable");
  });

  it("one never sent (away when the rollout started) is still 'not sent'", async () => {
    const t = await session.start();
    await session.connect(t, "a1", on1, { env: "prod" });
    const away = await session.connect(t, "a2", on1, { env: "prod" });
    away.ws.terminate();
    await expect.poll(() => t.hub.registry.isOnline("a2"), { timeout: 10_000 }).toBe(false);
    const id = await prodRollout(t);
    await session.connect(t, "a2", on1, { env: "staging" });
    await expect
      .poll(async () => (await deployment(t, id, "a2"))?.state, { timeout: 10_000 })
      .toBe("not_applicable");
    expect((await deployment(t, id, "a2"))?.error).toBe(
      "not applicable: a2 no longer matches the rollout's selector (its labels lack env=prod); not sent",
    );
  });
});

describe("an agent that dropped the app after it was sent the release", () => {
  it("is not applicable, not said 'not sent'; its refusal is no failure", async () => {
    const t = await session.start();
    const { id, deploy, again, a2, a2Deploy } = await a1Reconnects(t, [], { env: "prod" });
    await expect
      .poll(async () => (await deployment(t, id, "a1"))?.state, { timeout: 10_000 })
      .toBe("not_applicable");
    expect((await deployment(t, id, "a1"))?.error).toBe(
      "not applicable: a1 no longer takes app web (its hello leaves it out: [sources.web] removed or enabled = false in its ship.toml); it was sent the release before and is not sent it again: a report of its run still counts",
    );
    await reportAcked(again, deploy, "failed");
    await reportAcked(a2, a2Deploy, "succeeded");
    await expect.poll(async () => (await view(t, id)).state, { timeout: 10_000 }).toBe("completed");
    expect(await deployment(t, id, "a1")).toMatchObject({ state: "not_applicable" });
  });

  it("a report of a run it had begun counts: a failed restore is failed, not left out", async () => {
    const t = await session.start();
    const { id, deploy, again } = await a1Reconnects(t, [], { env: "prod" });
    await expect
      .poll(async () => (await deployment(t, id, "a1"))?.state, { timeout: 10_000 })
      .toBe("not_applicable");
    await reportRestoreFailed(again, deploy);
    await expect.poll(async () => (await deployment(t, id, "a1"))?.state, { timeout: 10_000 }).toBe("failed");
  });
});
