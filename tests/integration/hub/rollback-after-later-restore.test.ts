/**
 * Taking a bad release back after a later rollout of the app tried to replace it and failed: the
 * hosts whose later update restored them by themselves run the bad release again, so abort
 * --rollback of the older rollout must send them back, not call them "taken over" by the later one.
 */
import { expect, it } from "vitest";
import { hubPerTest, isType, publishRelease, reportInstalled as report, type TestHub } from "./support.js";

const h = hubPerTest();

interface Shown {
  state: string;
  reason: string | null;
  waves: { agents: { agentId: string; state: string; error: string | null }[] }[];
}

const create = async (t: TestHub, release: string) => {
  const res = await t.api<{ id: string }>("POST", "/api/v1/rollouts", {
    token: t.operator,
    body: { release, waves: [{ name: "all", percent: 100 }], failureThreshold: { count: 1 } },
  });
  expect(res.status).toBe(201);
  return res.body.id;
};
const shown = async (t: TestHub, id: string) =>
  (await t.api<Shown>("GET", `/api/v1/rollouts/${id}`, { token: t.operator })).body;

it("abort --rollback sends back a host a later rollout failed to move off the bad release", async () => {
  const t = await h.start();
  const v1 = await publishRelease(t, "1.0.0");
  const v2 = await publishRelease(t, "2.0.0");
  const v3 = await publishRelease(t, "3.0.0");
  const a1 = await h.connect(t, "a1", [{ app: "web", version: "1.0.0", state: "ok", releaseId: v1 }]);
  const a2 = await h.connect(t, "a2", [{ app: "web", version: "1.0.0", state: "ok", releaseId: v1 }]);

  const bad = await create(t, v2);
  await report(a1, await a1.next(isType("deploy")), "succeeded", "1.0.0", v2);
  await report(a2, await a2.next(isType("deploy")), "succeeded", "1.0.0", v2);
  await expect.poll(async () => (await shown(t, bad)).state).toBe("completed");

  // The fix, 3.0.0: a1 takes it; a2's update fails and its host restores 2.0.0 by itself.
  const fix = await create(t, v3);
  await report(a1, await a1.next(isType("deploy")), "succeeded", "2.0.0", v3);
  await report(a2, await a2.next(isType("deploy")), "rolled_back", "2.0.0", v2);
  await expect.poll(async () => (await shown(t, fix)).state).toBe("paused");
  expect((await t.api("POST", `/api/v1/rollouts/${fix}/abort`, { token: t.operator, body: {} })).status).toBe(
    200,
  );

  // 2.0.0 is bad: take it back. a2 runs it still and goes back to 1.0.0; a1 runs 3.0.0 and stays.
  const abort = await t.api<Shown>("POST", `/api/v1/rollouts/${bad}/abort`, {
    token: t.operator,
    body: { rollback: true },
  });
  expect(abort.status).toBe(200);
  expect(abort.body.reason).toMatch(
    /rollback sent to 1 agent\(s\).*NOT rolled back \(a later rollout of the app took them over\): a1$/,
  );
  const back = await a2.next(isType("deploy"));
  expect(back).toMatchObject({ rollback: true, release: { id: v1, version: "1.0.0" } });
  const rows = (await shown(t, bad)).waves.flatMap((w) => w.agents);
  expect(rows.find((r) => r.agentId === "a2")).toMatchObject({ state: "rollback_pending", error: null });
  expect(rows.find((r) => r.agentId === "a1")?.error).toMatch(/^not rolled back: a later rollout of the app/);
  expect(a1.received.filter((m) => m.type === "deploy")).toEqual([]);
});

it("abort --rollback sends back a host a later rollout's own rollback returned to the bad release", async () => {
  const t = await h.start();
  const v1 = await publishRelease(t, "1.0.0");
  const v2 = await publishRelease(t, "2.0.0");
  const v3 = await publishRelease(t, "3.0.0");
  const a1 = await h.connect(t, "a1", [{ app: "web", version: "1.0.0", state: "ok", releaseId: v1 }]);

  const bad = await create(t, v2);
  await report(a1, await a1.next(isType("deploy")), "succeeded", "1.0.0", v2);
  await expect.poll(async () => (await shown(t, bad)).state).toBe("completed");
  // 3.0.0 reaches a1, then is taken back by its own rollout's abort with rollback: a1 runs 2.0.0.
  const next = await create(t, v3);
  await report(a1, await a1.next(isType("deploy")), "succeeded", "2.0.0", v3);
  await expect.poll(async () => (await shown(t, next)).state).toBe("completed");
  const undo = await t.api("POST", `/api/v1/rollouts/${next}/abort`, {
    token: t.operator,
    body: { rollback: true },
  });
  expect(undo.status).toBe(200);
  const toV2 = await a1.next(isType("deploy"));
  expect(toV2).toMatchObject({ rollback: true, release: { id: v2 } });
  await report(a1, toV2, "succeeded", "3.0.0", v2);
  await expect
    .poll(async () => (await shown(t, next)).waves.flatMap((w) => w.agents)[0]?.state)
    .toBe("rolled_back");

  const abort = await t.api<Shown>("POST", `/api/v1/rollouts/${bad}/abort`, {
    token: t.operator,
    body: { rollback: true },
  });
  expect(abort.status).toBe(200);
  expect(abort.body.reason).toBe("aborted; rollback sent to 1 agent(s)");
  expect(await a1.next(isType("deploy"))).toMatchObject({ rollback: true, release: { id: v1 } });
});
