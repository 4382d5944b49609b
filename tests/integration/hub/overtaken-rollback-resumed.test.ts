/**
 * A rollback instruction a later rollout overtook (its agent was away, came back and took the later
 * release) is owed again once that rollout is over and left the agent back on the bad release: the
 * hub sends it at the agent's next hello, and must then stop saying "rollback not sent" of it (the
 * rollout page and `rollout show` named the host NOT rolled back while its rollback was under way).
 * Real hub over real WebSocket.
 */
import { expect, it } from "vitest";
import { deployOf, hubPerTest, publishRelease, reportInstalled, TestAgent } from "./support.js";

const h = hubPerTest();
type Shown = {
  reason: string | null;
  waves: { agents: { agentId: string; state: string; error: string | null }[] }[];
};

it("an overtaken rollback instruction sent again after the take-over ended no longer reads 'not sent'", async () => {
  const t = await h.start();
  const v1 = await publishRelease(t, "1.0.0");
  const v2 = await publishRelease(t, "2.0.0");
  const v3 = await publishRelease(t, "3.0.0");
  const create = async (release: string) => {
    const res = await t.api<{ id: string }>("POST", "/api/v1/rollouts", {
      token: t.operator,
      body: { release, waves: [{ name: "all", percent: 100 }], failureThreshold: { count: 1 } },
    });
    expect(res.status).toBe(201);
    return res.body.id;
  };
  const state = async (id: string) =>
    (await t.api<{ state: string }>("GET", `/api/v1/rollouts/${id}`, { token: t.operator })).body.state;
  const row = async (id: string) =>
    (await t.api<Shown>("GET", `/api/v1/rollouts/${id}`, { token: t.operator })).body.waves
      .flatMap((w) => w.agents)
      .find((r) => r.agentId === "a1");
  const leave = async (a: TestAgent) => {
    a.ws.terminate();
    await expect.poll(() => t.hub.registry.isOnline("a1"), { timeout: 10_000 }).toBe(false);
  };
  const back = async (releaseId: string, version: string) => {
    const a = await TestAgent.connect(t.hub.url, await t.agentToken("a1"));
    a.hello("a1", [{ app: "web", version, state: "ok", releaseId }]);
    await expect.poll(() => t.hub.registry.isOnline("a1"), { timeout: 10_000 }).toBe(true);
    return a;
  };

  let a1 = await h.connect(t, "a1", [{ app: "web", version: "1.0.0", state: "ok", releaseId: v1 }]);
  const bad = await create(v2);
  await reportInstalled(a1, await a1.next(deployOf(bad)), "succeeded", "1.0.0", v2);
  await expect.poll(() => state(bad)).toBe("completed");

  // a1 is away when 2.0.0 is taken back, and when 3.0.0 starts: it comes back to 3.0.0's update.
  await leave(a1);
  expect(
    (await t.api("POST", `/api/v1/rollouts/${bad}/abort`, { token: t.operator, body: { rollback: true } }))
      .status,
  ).toBe(200);
  const fix = await create(v3);
  a1 = await back(v2, "2.0.0");
  await reportInstalled(a1, await a1.next(deployOf(fix)), "succeeded", "2.0.0", v3);
  await expect.poll(() => state(fix)).toBe("completed");
  expect((await row(bad))?.error).toMatch(/^rollback not sent: a later rollout of the app/);
  expect(a1.received.filter(deployOf(bad))).toEqual([]);

  // 3.0.0 is taken back: a1 runs 2.0.0 again, and 2.0.0's rollback is owed to it once more.
  expect(
    (await t.api("POST", `/api/v1/rollouts/${fix}/abort`, { token: t.operator, body: { rollback: true } }))
      .status,
  ).toBe(200);
  await reportInstalled(a1, await a1.next(deployOf(fix)), "succeeded", "3.0.0", v2);
  await leave(a1);
  a1 = await back(v2, "2.0.0");
  const resent = await a1.next(deployOf(bad));
  expect(resent).toMatchObject({ rollback: true, release: { id: v1 } });
  // Under way: no longer "not sent", nor counted NOT rolled back.
  await expect.poll(async () => (await row(bad))?.error ?? null).toBeNull();
  const events = (
    await t.api<{ events: { kind: string; data: Record<string, unknown> }[] }>(
      "GET",
      `/api/v1/events?subject=${bad}:a1`,
      { token: t.operator },
    )
  ).body.events;
  expect(
    events.find((e) => e.kind === "deployment.rollback_pending" && e.data.retry === "overtaken"),
  ).toBeDefined();
  await reportInstalled(a1, resent, "succeeded", "2.0.0", v1);
  await expect.poll(async () => (await row(bad))?.state).toBe("rolled_back");
  a1.ws.terminate();
});
