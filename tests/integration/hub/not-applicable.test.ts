/**
 * A deployment whose agent no longer fits its rollout when it says hello — relabelled out of the
 * selector, or back after a timeout without the app — is `not_applicable`: not sent, not a
 * failure, and owed again once a hello fits. Real hub, agents over a real WebSocket.
 */
import { afterEach, describe, expect, it } from "vitest";
import type { Deploy } from "../../../shared/protocol/messages.js";
import { isType, publishRelease, reportAcked, startTestHub, TestAgent, type TestHub } from "./support.js";

const isDeploy = isType("deploy");
const OFFLINE_MS = 60_000;
let skew = 0;
let hub: TestHub | undefined;
const agents: TestAgent[] = [];
afterEach(async () => {
  for (const a of agents.splice(0)) a.ws.terminate();
  await hub?.stop();
  hub = undefined;
});

async function boot(): Promise<TestHub> {
  skew = 0;
  hub = await startTestHub({ now: () => Date.now() + skew, offlineTimeoutMs: OFFLINE_MS });
  return hub;
}

async function connect(
  t: TestHub,
  id: string,
  labels: Record<string, string> = {},
  apps = ["web"],
): Promise<TestAgent> {
  const agent = await TestAgent.connect(t.hub.url, await t.agentToken(id));
  agents.push(agent);
  agent.hello(
    id,
    apps.map((app) => ({ app, version: "1.0.0", state: "updated", releaseId: undefined })),
    labels,
  );
  await expect.poll(() => t.hub.registry.isOnline(id), { timeout: 10_000 }).toBe(true);
  return agent;
}

async function leave(t: TestHub, agent: TestAgent, id: string): Promise<void> {
  agent.ws.close();
  await expect.poll(() => t.hub.registry.isOnline(id), { timeout: 10_000 }).toBe(false);
}

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

describe("a deployment whose agent no longer fits its rollout", () => {
  it("relabelled out of the selector while away: not sent, no failure; relabelled back: sent", async () => {
    const t = await boot();
    await publishRelease(t, "1.0.0");
    const v2 = await publishRelease(t, "2.0.0");
    const a1 = await connect(t, "a1", { env: "prod" });
    const a2 = await connect(t, "a2", { env: "prod" });
    await leave(t, a2, "a2");
    const created = await t.api<{ id: string }>("POST", "/api/v1/rollouts", {
      token: t.operator,
      body: {
        release: v2,
        selector: { labels: { env: "prod" } },
        waves: [{ name: "all", percent: 100 }],
        failureThreshold: { count: 1 },
      },
    });
    const id = created.body.id;
    await a1.next(isDeploy);
    // a2 comes back as a staging host: the operator took it out of the prod rollout.
    const staging = await connect(t, "a2", { env: "staging" });
    await expect
      .poll(async () => (await deployment(t, id, "a2"))?.state, { timeout: 10_000 })
      .toBe("not_applicable");
    expect((await deployment(t, id, "a2"))?.error).toBe(
      "not applicable: a2 no longer matches the rollout's selector (its labels lack env=prod); not sent",
    );
    expect(staging.received.filter(isDeploy)).toEqual([]);
    expect((await view(t, id)).progress).toMatchObject({ failed: 0, "not-applicable": 1 });
    // Back in prod: owed the release again, and sent it.
    await leave(t, staging, "a2");
    const prod = await connect(t, "a2", { env: "prod" });
    const sent: Deploy = await prod.next(isDeploy);
    expect(sent.release.id).toBe(v2);
    expect((await deployment(t, id, "a2"))?.state).toBe("sent");
  });

  it("timed out while away, back without the app: not_applicable, no longer a failure", async () => {
    const t = await boot();
    await publishRelease(t, "1.0.0");
    const v2 = await publishRelease(t, "2.0.0");
    await connect(t, "a1");
    const a2 = await connect(t, "a2");
    await leave(t, a2, "a2");
    const created = await t.api<{ id: string }>("POST", "/api/v1/rollouts", {
      token: t.operator,
      body: { release: v2, waves: [{ name: "all", percent: 100 }], failureThreshold: { count: 2 } },
    });
    const id = created.body.id;
    skew = OFFLINE_MS + 1000;
    await expect
      .poll(async () => (await deployment(t, id, "a2"))?.state, { timeout: 10_000 })
      .toBe("timed_out");
    const back = await connect(t, "a2", {}, ["other"]);
    await expect
      .poll(async () => (await deployment(t, id, "a2"))?.state, { timeout: 10_000 })
      .toBe("not_applicable");
    expect(back.received.filter(isDeploy)).toEqual([]);
    expect((await view(t, id)).progress.failed).toBe(0);
  });

  it("a rollout that completes with an agent left out says so in its reason, as it is stored too", async () => {
    const t = await boot();
    await publishRelease(t, "1.0.0");
    const v2 = await publishRelease(t, "2.0.0");
    const a1 = await connect(t, "a1");
    const a2 = await connect(t, "a2");
    await leave(t, a2, "a2");
    const created = await t.api<{ id: string }>("POST", "/api/v1/rollouts", {
      token: t.operator,
      body: { release: v2, waves: [{ name: "all", percent: 100 }], failureThreshold: { count: 1 } },
    });
    const id = created.body.id;
    // a2 comes back without the app (disabled on the host): never sent the release.
    await connect(t, "a2", {}, ["other"]);
    await expect
      .poll(async () => (await deployment(t, id, "a2"))?.state, { timeout: 10_000 })
      .toBe("not_applicable");
    await reportAcked(a1, await a1.next(isDeploy), "succeeded");
    await expect.poll(async () => (await view(t, id)).state, { timeout: 10_000 }).toBe("completed");
    // Before: reason null, as if both hosts ran 2.0.0.
    const said =
      "1 agent(s) not applicable (no longer take the app or fit the selector): not sent the release";
    expect((await view(t, id)).reason).toBe(said);
    expect((await t.hub.store.getRollout(id))?.reason).toBe(said);
  });

  it("a canary whose only agent no longer fits is held, not passed by auto-advance; its return resumes it", async () => {
    const t = await boot();
    await publishRelease(t, "1.0.0");
    const v2 = await publishRelease(t, "2.0.0");
    const a1 = await connect(t, "a1");
    const a2 = await connect(t, "a2");
    await leave(t, a2, "a2");
    const created = await t.api<{ id: string }>("POST", "/api/v1/rollouts", {
      token: t.operator,
      body: {
        release: v2,
        waves: [
          { name: "canary", agents: ["a2"] },
          { name: "all", percent: 100 },
        ],
        failureThreshold: { count: 1 },
        autoAdvance: true,
      },
    });
    const id = created.body.id;
    const away = await connect(t, "a2", {}, ["other"]);
    // Before: the canary passed by itself and a1 got 2.0.0 with nothing tested.
    const held =
      "waiting for an operator: wave 1 (canary) tested nothing: its 1 agent(s) no longer take part (not applicable: left the app or no longer fit the selector); advance or abort";
    await expect.poll(async () => (await view(t, id)).reason, { timeout: 10_000 }).toBe(held);
    const shown = await t.api<View & { currentWave: number; needsDecision: boolean }>(
      "GET",
      `/api/v1/rollouts/${id}`,
      { token: t.operator },
    );
    expect(shown.body).toMatchObject({ state: "running", currentWave: 0, needsDecision: true });
    await t.hub.engine.tick();
    expect(a1.received.filter(isDeploy)).toEqual([]);
    // The canary host takes the app again: it is sent the release, the wait is over, and its
    // success advances the rollout as a real result.
    await leave(t, away, "a2");
    const back = await connect(t, "a2");
    const sent = await back.next(isDeploy);
    await expect.poll(async () => (await view(t, id)).reason, { timeout: 10_000 }).toBe(null);
    await reportAcked(back, sent, "succeeded");
    await a1.next(isDeploy);
  });

  it("an operator who advances past a canary whose agents all left is told nothing was tested", async () => {
    const t = await boot();
    await publishRelease(t, "1.0.0");
    const v2 = await publishRelease(t, "2.0.0");
    const a1 = await connect(t, "a1");
    const a2 = await connect(t, "a2");
    await leave(t, a2, "a2");
    const created = await t.api<{ id: string }>("POST", "/api/v1/rollouts", {
      token: t.operator,
      body: {
        release: v2,
        waves: [
          { name: "canary", agents: ["a2"] },
          { name: "all", percent: 100 },
        ],
        failureThreshold: { count: 1 },
        autoAdvance: true,
      },
    });
    const id = created.body.id;
    await connect(t, "a2", {}, ["other"]);
    await expect
      .poll(async () => (await view(t, id)).reason, { timeout: 10_000 })
      .toMatch(/^waiting for an operator/);
    await t.api("POST", `/api/v1/rollouts/${id}/advance`, { token: t.operator });
    await a1.next(isDeploy);
    type Events = { events: { kind: string; subject: string; data: { wave?: number; message?: string } }[] };
    const events = (await t.api<Events>("GET", `/api/v1/events?subject=${id}`, { token: t.operator })).body
      .events;
    expect(
      events.filter((e) => e.kind === "rollout.wave_empty").map((e) => [e.data.wave, e.data.message]),
    ).toEqual([
      [
        0,
        "this wave held no agent that takes part (its 1 agent(s) no longer fit the rollout: not applicable): nothing was tested in it before the next wave started",
      ],
    ]);
  });

  it("taking the app again after a later rollout of it: the older release is not sent", async () => {
    const t = await boot();
    await publishRelease(t, "1.0.0");
    const v2 = await publishRelease(t, "2.0.0");
    const v3 = await publishRelease(t, "3.0.0");
    const a1 = await connect(t, "a1");
    const a2 = await connect(t, "a2");
    await leave(t, a2, "a2");
    const rollout = async (release: string) =>
      (
        await t.api<{ id: string }>("POST", "/api/v1/rollouts", {
          token: t.operator,
          body: { release, waves: [{ name: "all", percent: 100 }], failureThreshold: { count: 1 } },
        })
      ).body.id;
    const first = await rollout(v2);
    const without = await connect(t, "a2", {}, ["other"]);
    await expect
      .poll(async () => (await deployment(t, first, "a2"))?.state, { timeout: 10_000 })
      .toBe("not_applicable");
    await reportAcked(a1, await a1.next(isDeploy), "succeeded");
    await expect.poll(async () => (await view(t, first)).state, { timeout: 10_000 }).toBe("completed");
    // 3.0.0 goes out while a2 is out of the app: it is not planned there.
    const second = await rollout(v3);
    await reportAcked(a1, await a1.next(isDeploy), "succeeded");
    await expect.poll(async () => (await view(t, second)).state, { timeout: 10_000 }).toBe("completed");
    await leave(t, without, "a2");
    const back = await connect(t, "a2");
    // Joins nothing (both completed) and is not sent 2.0.0 over the fleet's 3.0.0.
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(back.received.filter(isDeploy)).toEqual([]);
    expect((await deployment(t, first, "a2"))?.state).toBe("not_applicable");
  });
});
