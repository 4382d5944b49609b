import { randomUUID } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Deploy } from "../../../shared/protocol/messages.js";
import { isType, publishRelease, startTestHub, TestAgent, type TestHub } from "./support.js";

let dir: string;
let clock: number;
let hubs: TestHub[] = [];

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "ship-hub-flow-"));
  clock = Date.now();
  hubs = [];
});
afterEach(async () => {
  for (const h of hubs) await h.hub.close();
  await rm(dir, { recursive: true, force: true });
});

async function boot(): Promise<TestHub> {
  const t = await startTestHub({ now: () => clock }, dir);
  hubs.push(t);
  return t;
}

async function agentOn(t: TestHub, id: string, releaseId?: string): Promise<TestAgent> {
  const agent = await TestAgent.connect(t.hub.url, await t.agentToken(id));
  agent.hello(id, [{ app: "web", version: "1.0.0", state: "ok", releaseId }]);
  await expect.poll(() => t.hub.registry.isOnline(id), { timeout: 10_000 }).toBe(true);
  return agent;
}

async function succeed(agent: TestAgent, deploy: Deploy, from = "1.0.0", to = "2.0.0") {
  const reportId = randomUUID();
  agent.send({
    type: "report",
    reportId,
    deploymentId: deploy.deploymentId,
    app: "web",
    releaseId: deploy.release.id,
    outcome: "succeeded",
    fromVersion: from,
    toVersion: to,
    steps: [],
  });
  await agent.next(
    (m): m is Extract<typeof m, { type: "ack" }> => m.type === "ack" && m.reportId === reportId,
  );
}

describe("rollouts over the real hub", () => {
  it("a hub restart mid-rollout loses nothing: the wait timer and every state continue on the new process", async () => {
    const t1 = await boot();
    const release = await publishRelease(t1, "2.0.0");
    const a1 = await agentOn(t1, "a1");
    const a2 = await agentOn(t1, "a2");
    const created = await t1.api<{ id: string }>("POST", "/api/v1/rollouts", {
      token: t1.operator,
      body: {
        release,
        waves: [
          { name: "canary", agents: ["a1"], waitMinutes: 5 },
          { name: "rest", percent: 100 },
        ],
        autoAdvance: true,
      },
    });
    await succeed(a1, await a1.next(isType("deploy")));
    const eventsBefore = (await t1.hub.store.listEvents({ limit: 1000 })).map(
      (e) => `${e.kind} ${e.subject}`,
    );
    const a2Closed = a2.closed();
    await t1.hub.close();
    hubs = [];
    await a2Closed;
    expect(a2.received.filter((m) => m.type === "deploy")).toEqual([]);

    clock += 6 * 60_000;
    const t2 = await boot();
    const rolloutPath = `/api/v1/rollouts/${created.body.id}`;
    // The wait ended while the hub was down; it advances once the canary's host, back, says it still
    // runs the release (as a real agent does: one announcing 1.0.0 again would have left it since,
    // and halt the rollout).
    const a1again = await agentOn(t2, "a1", release);
    await expect
      .poll(
        async () =>
          (await t2.api<{ currentWave: number }>("GET", rolloutPath, { token: t2.operator })).body
            .currentWave,
      )
      .toBe(1);
    const events = (await t2.hub.store.listEvents({ limit: 1000 })).map((e) => `${e.kind} ${e.subject}`);
    expect(events).toEqual(expect.arrayContaining(eventsBefore));
    // The offline agent gets its instruction when it reconnects; the finished one gets nothing new.
    const a2again = await agentOn(t2, "a2");
    const deploy = await a2again.next(isType("deploy"));
    expect(deploy.release.version).toBe("2.0.0");
    await succeed(a2again, deploy);
    await expect
      .poll(
        async () => (await t2.api<{ state: string }>("GET", rolloutPath, { token: t2.operator })).body.state,
      )
      .toBe("completed");
    expect(a1again.received.filter((m) => m.type === "deploy")).toEqual([]);
    a1again.ws.close();
    a2again.ws.close();
  });

  it("abort with rollback reaches connected agents at once and offline agents when they reconnect", async () => {
    const t = await boot();
    const v1 = await publishRelease(t, "1.0.0");
    const v2 = await publishRelease(t, "2.0.0");
    const a1 = await agentOn(t, "a1", v1);
    const a2 = await agentOn(t, "a2", v1);
    const created = await t.api<{ id: string }>("POST", "/api/v1/rollouts", {
      token: t.operator,
      body: { release: v2, waves: [{ name: "all", percent: 100 }] },
    });
    await succeed(a1, await a1.next(isType("deploy")));
    await succeed(a2, await a2.next(isType("deploy")));
    await expect
      .poll(
        async () =>
          (
            await t.api<{ state: string }>("GET", `/api/v1/rollouts/${created.body.id}`, {
              token: t.operator,
            })
          ).body.state,
      )
      .toBe("completed");
    a2.ws.close();
    await expect.poll(() => t.hub.registry.isOnline("a2"), { timeout: 10_000 }).toBe(false);

    const aborted = await t.api<{ state: string }>("POST", `/api/v1/rollouts/${created.body.id}/abort`, {
      token: t.operator,
      body: { rollback: true },
    });
    expect(aborted.body.state).toBe("aborted");
    const back = await a1.next(isType("deploy"));
    expect(back).toMatchObject({ rollback: true, release: { id: v1, version: "1.0.0" } });
    await succeed(a1, back, "2.0.0", "1.0.0");
    const a2again = await agentOn(t, "a2", v2);
    expect(await a2again.next(isType("deploy"))).toMatchObject({ rollback: true, release: { id: v1 } });
    type Shown = { waves: { agents: { agentId: string; state: string }[] }[] };
    const shown = await t.api<Shown>("GET", `/api/v1/rollouts/${created.body.id}`, { token: t.operator });
    expect(shown.body.waves[0]?.agents.map((a) => [a.agentId, a.state])).toEqual([
      ["a1", "rolled_back"],
      ["a2", "rollback_pending"],
    ]);
    const kinds = (
      await t.api<{ events: { kind: string; actor: string }[] }>(
        "GET",
        `/api/v1/events?subject=${created.body.id}`,
        { token: t.operator },
      )
    ).body.events;
    // The rollout's subject lists its deployments' events too (a1's rollback came after the abort).
    expect(kinds.find((e) => e.kind === "rollout.aborted")).toMatchObject({
      actor: expect.stringMatching(/^operator \(/),
    });
    expect(kinds).toContainEqual(
      expect.objectContaining({ kind: "deployment.rolled_back", actor: "agent:a1" }),
    );
    a1.ws.close();
    a2again.ws.close();
  });
});
