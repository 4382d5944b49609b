/**
 * What an operator reads of a rollout must be true, and what the hub owes an agent it must still
 * send (desired state): a timed-out agent that comes back after its rollout completed gets the
 * release (unless a later rollout of the app took it over); advance and the resync retry timed-out
 * agents that are back; an update that fails while its rollback is pending counts as failed; a
 * release older than what agents run is warned of before it starts. Real hub (in process) over
 * real WebSocket, on SQLite.
 */
import { afterEach, describe, expect, it } from "vitest";
import type { Deploy } from "../../../shared/protocol/messages.js";
import { requireHubBin, runHubCli } from "../../support/hub-cli.js";
import { isType, publishRelease, reportAcked, startTestHub, TestAgent, type TestHub } from "./support.js";

const OFFLINE_MS = 60_000;
const PROGRESS_MS = 120_000;
const isDeploy = isType("deploy");
const deploysOf = (agent: TestAgent): Deploy[] => agent.received.filter(isDeploy);

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
  hub = await startTestHub({
    now: () => Date.now() + skew,
    offlineTimeoutMs: OFFLINE_MS,
    progressTimeoutMs: PROGRESS_MS,
  });
  return hub;
}

async function connect(t: TestHub, id: string, labels = {}, version = "1.0.0"): Promise<TestAgent> {
  const agent = await TestAgent.connect(t.hub.url, await t.agentToken(id));
  agents.push(agent);
  agent.hello(id, [{ app: "web", version, state: "ok", releaseId: undefined }], labels);
  await expect.poll(() => t.hub.registry.isOnline(id), { timeout: 10_000 }).toBe(true);
  return agent;
}

async function leave(t: TestHub, agent: TestAgent, id: string): Promise<void> {
  agent.ws.close();
  await expect.poll(() => t.hub.registry.isOnline(id), { timeout: 10_000 }).toBe(false);
}

type View = {
  state: string;
  actions: string[];
  reason: string | null;
  counts: Record<string, number>;
  progress: Record<string, number>;
  restored: number;
  waves: {
    status: string;
    counts: Record<string, number>;
    progress: Record<string, number>;
    restored: number;
  }[];
};
const view = async (t: TestHub, id: string) =>
  (await t.api<View>("GET", `/api/v1/rollouts/${id}`, { token: t.operator })).body;
const stateOf = async (t: TestHub, id: string, agentId: string) =>
  (await t.hub.store.getDeployment(`${id}:${agentId}`))?.state;

/** The waves most cases here use: the agents labelled ring=canary, then everyone. */
const CANARY_THEN_EVERYONE = [
  { name: "canary", labels: { ring: "canary" } },
  { name: "everyone", percent: 100 },
];

async function create(t: TestHub, body: Record<string, unknown>): Promise<string> {
  const res = await t.api<{ id: string }>("POST", "/api/v1/rollouts", { token: t.operator, body });
  expect(res.status).toBe(201);
  return res.body.id;
}

/** a1 takes 2.0.0; a2 was registered but away, times out, and the rollout completes without it. */
async function completedWithoutA2(t: TestHub) {
  const release = await publishRelease(t, "2.0.0");
  const a1 = await connect(t, "a1");
  await leave(t, await connect(t, "a2"), "a2");
  const id = await create(t, {
    release,
    waves: [{ name: "all", percent: 100 }],
    failureThreshold: { count: 5 },
  });
  await reportAcked(a1, await a1.next(isDeploy), "succeeded");
  skew += OFFLINE_MS + 1_000;
  await expect.poll(async () => (await view(t, id)).state, { timeout: 10_000 }).toBe("completed");
  expect(await stateOf(t, id, "a2")).toBe("timed_out");
  expect((await view(t, id)).reason).toBe("1 agent(s) failed");
  return { id, release, a1 };
}

describe("a completed rollout and the agent it timed out", () => {
  it("the agent comes back: it is sent the release, the rollout says so, and its success clears the failure", async () => {
    const t = await boot();
    const { id } = await completedWithoutA2(t);
    const a2 = await connect(t, "a2");
    const deploy = await a2.next(isDeploy);
    expect(deploy.deploymentId).toBe(`${id}:a2`);
    const owed = await view(t, id);
    expect(owed.state).toBe("completed");
    expect(owed.reason).toBe("1 agent(s) back after it completed are being sent the release");
    await reportAcked(a2, deploy, "succeeded");
    const done = await view(t, id);
    expect(done).toMatchObject({ state: "completed", reason: null, counts: { succeeded: 2 } });
    // The list's UPDATED and the view's say when the rollout last moved: the latecomer's report,
    // after the completion (before, both kept the completion's time).
    const reported = new Date((await t.hub.store.getDeployment(`${id}:a2`))?.updatedAt ?? 0).toISOString();
    const { rollouts } = (
      await t.api<{ rollouts: { id: string; updated: string }[] }>("GET", "/api/v1/rollouts", {
        token: t.operator,
      })
    ).body;
    expect(rollouts.find((r) => r.id === id)?.updated).toBe(reported);
    expect(
      (await t.api<{ updated: string }>("GET", `/api/v1/rollouts/${id}`, { token: t.operator })).body.updated,
    ).toBe(reported);
    // Reported: a reconnect brings nothing more.
    await leave(t, a2, "a2");
    const again = await connect(t, "a2");
    await new Promise((r) => setTimeout(r, 300));
    expect(deploysOf(again)).toEqual([]);
  });

  it("a later rollout of the app took the agent over: only the later release is sent", async () => {
    const t = await boot();
    const { id } = await completedWithoutA2(t);
    const v3 = await publishRelease(t, "3.0.0");
    const later = await create(t, {
      release: v3,
      waves: [{ name: "all", percent: 100 }],
      failureThreshold: { count: 5 },
    });
    const a2 = await connect(t, "a2");
    const deploy = await a2.next(isDeploy);
    expect(deploy).toMatchObject({ deploymentId: `${later}:a2`, release: { version: "3.0.0" } });
    await new Promise((r) => setTimeout(r, 300));
    expect(deploysOf(a2)).toEqual([]);
    expect(await stateOf(t, id, "a2")).toBe("timed_out");
  });
});

describe("retries of timed-out agents", () => {
  it("advance retries a connected canary that timed out with no progress", async () => {
    const t = await boot();
    const release = await publishRelease(t, "2.0.0");
    const c1 = await connect(t, "c1", { ring: "canary" });
    await connect(t, "m1", { ring: "main" });
    const id = await create(t, {
      release,
      waves: CANARY_THEN_EVERYONE,
      failureThreshold: { count: 5 },
    });
    await c1.next(isDeploy);
    // The instruction was lost on the way (c1 never starts): the progress timeout fails it.
    skew += PROGRESS_MS + 1_000;
    await expect.poll(() => stateOf(t, id, "c1"), { timeout: 15_000 }).toBe("timed_out");
    const advanced = await t.api("POST", `/api/v1/rollouts/${id}/advance`, {
      token: t.operator,
      body: { fromWave: 0 },
    });
    expect(advanced.status).toBe(200);
    const again = await c1.next(isDeploy);
    expect(again.deploymentId).toBe(`${id}:c1`);
    expect(await stateOf(t, id, "c1")).toBe("sent");
  });

  it("the resync retries an agent whose hello came after its timeout and missed the resume", async () => {
    const t = await boot();
    const release = await publishRelease(t, "2.0.0");
    await leave(t, await connect(t, "a1"), "a1");
    await connect(t, "a2");
    const id = await create(t, {
      release,
      waves: [{ name: "all", percent: 100 }],
      failureThreshold: { count: 1 },
    });
    skew += OFFLINE_MS + 1_000;
    await expect.poll(async () => (await view(t, id)).state, { timeout: 10_000 }).toBe("paused");
    // a1's hello reads the rollout paused; the resume (another hub, at the same moment) read a1 as
    // still away: written as that race leaves it, running with a1 timed out and connected.
    const a1 = await connect(t, "a1");
    await t.hub.store.updateRollout(id, {
      state: "running",
      failureAllowance: 1,
      updated: Date.now() + skew,
    });
    expect(deploysOf(a1)).toEqual([]);
    await t.hub.deliverPending();
    const deploy = await a1.next(isDeploy);
    expect(deploy.deploymentId).toBe(`${id}:a1`);
    expect(await stateOf(t, id, "a1")).toBe("sent");
  });
});

describe("wave counts after a halt with auto-rollback", () => {
  it("three agents fail, one of them after the halt: the wave says 3 failed, none rolled back by the hub", async () => {
    const t = await boot();
    await publishRelease(t, "1.0.0");
    const release = await publishRelease(t, "2.0.0");
    const ids = ["a1", "a2", "a3"];
    const conns = await Promise.all(ids.map((id) => connect(t, id)));
    const id = await create(t, {
      release,
      waves: [{ name: "all", percent: 100 }],
      failureThreshold: { count: 2 },
      autoRollback: true,
    });
    const deploys = await Promise.all(conns.map((c) => c.next(isDeploy)));
    await reportAcked(conns[0] as TestAgent, deploys[0] as Deploy, "failed");
    await reportAcked(conns[1] as TestAgent, deploys[1] as Deploy, "failed");
    await expect.poll(async () => (await view(t, id)).state, { timeout: 10_000 }).toBe("failed");
    // a3 was still updating: it is sent back, and then its own update fails too.
    expect(await stateOf(t, id, "a3")).toBe("rollback_pending");
    expect(await (conns[2] as TestAgent).next(isDeploy)).toMatchObject({ rollback: true });
    await reportAcked(conns[2] as TestAgent, deploys[2] as Deploy, "failed");
    const v = await view(t, id);
    expect(v.counts).toEqual({ failed: 3 });
    expect(v.progress).toMatchObject({ failed: 3, "rolled-back": 0, "in-progress": 0 });
  });

  it("a canary whose hosts restored themselves fails the rollout: the later wave is cancelled, and the list, the page and the CLI say the same counts", async () => {
    requireHubBin();
    const t = await boot();
    await publishRelease(t, "1.0.0");
    const release = await publishRelease(t, "2.0.0");
    const canary = await Promise.all(["c1", "c2"].map((id) => connect(t, id, { ring: "canary" })));
    const rest = await Promise.all(["m1", "m2", "m3"].map((id) => connect(t, id, { ring: "main" })));
    const id = await create(t, {
      release,
      waves: CANARY_THEN_EVERYONE,
      failureThreshold: { count: 2 },
      autoRollback: true,
    });
    for (const c of canary) await reportAcked(c, await c.next(isDeploy), "rolled_back");
    await expect.poll(async () => (await view(t, id)).state, { timeout: 10_000 }).toBe("failed");
    // The wave never reached will never be: its agents say so, and nothing was sent to them.
    const v = await view(t, id);
    expect(v.counts).toEqual({ failed: 2, cancelled: 3 });
    expect(v.progress).toMatchObject({ failed: 2, pending: 0, cancelled: 3 });
    expect(Object.values(v.progress).reduce((a, b) => a + b, 0)).toBe(5);
    expect(v.waves.map((w) => w.status)).toEqual(["done", "cancelled"]);
    expect(v.waves[1]?.progress).toMatchObject({ cancelled: 3, pending: 0 });
    expect(await stateOf(t, id, "m1")).toBe("cancelled");
    for (const m of rest) expect(deploysOf(m)).toEqual([]);
    // Restored by their hosts: one figure, the same in the detail, its wave and the list.
    expect(v.restored).toBe(2);
    expect(v.waves[0]?.restored).toBe(2);
    const list = await t.api<{
      rollouts: { id: string; restored: number; progress: Record<string, number> }[];
    }>("GET", "/api/v1/rollouts", { token: t.operator });
    expect(list.body.rollouts.find((r) => r.id === id)).toMatchObject({ restored: 2, progress: v.progress });
    const env = { SHIP_HUB_URL: t.hub.url, SHIP_HUB_TOKEN: t.operator };
    const [listed, shown] = await Promise.all([
      runHubCli(process.cwd(), ["rollout", "list"], env),
      runHubCli(process.cwd(), ["rollout", "show", id], env),
    ]);
    expect(listed.code).toBe(0);
    const agentsLine = shown.stdout.split("\n").find((l) => l.startsWith("agents ")) ?? "";
    for (const text of [listed.stdout, agentsLine]) {
      expect(text).toContain("failed=2 (2 rolled back by their host)");
      expect(text).toContain("cancelled=3");
    }
    expect(shown.stdout).toMatch(/wave 2 everyone \[cancelled\] cancelled=3\n/);
  });

  it("the list, the detail, each wave and the CLI give the counts in one order (the dashboard bar's)", async () => {
    requireHubBin();
    const t = await boot();
    await publishRelease(t, "1.0.0");
    const release = await publishRelease(t, "2.0.0");
    // By agent id the detail meets succeeded, failed, sent; the store groups them as it likes.
    const [a1, a2] = await Promise.all(["a1", "a2", "a3"].map((id) => connect(t, id)));
    const id = await create(t, {
      release,
      waves: [{ name: "all", percent: 100 }],
      failureThreshold: { count: 3 },
    });
    await reportAcked(a1 as TestAgent, await (a1 as TestAgent).next(isDeploy), "succeeded");
    await reportAcked(a2 as TestAgent, await (a2 as TestAgent).next(isDeploy), "failed");
    await expect.poll(() => stateOf(t, id, "a2"), { timeout: 10_000 }).toBe("failed");
    const order = ["succeeded", "failed", "sent"];
    const v = await view(t, id);
    expect(Object.keys(v.counts)).toEqual(order);
    expect(Object.keys(v.waves[0]?.counts ?? {})).toEqual(order);
    const list = await t.api<{ rollouts: { id: string; counts: Record<string, number> }[] }>(
      "GET",
      "/api/v1/rollouts",
      { token: t.operator },
    );
    expect(Object.keys(list.body.rollouts.find((r) => r.id === id)?.counts ?? {})).toEqual(order);
    const env = { SHIP_HUB_URL: t.hub.url, SHIP_HUB_TOKEN: t.operator };
    const [listed, shown] = await Promise.all([
      runHubCli(process.cwd(), ["rollout", "list"], env),
      runHubCli(process.cwd(), ["rollout", "show", id], env),
    ]);
    const agentsLine = shown.stdout.split("\n").find((l) => l.startsWith("agents ")) ?? "";
    for (const text of [listed.stdout, agentsLine]) expect(text).toContain("succeeded=1 failed=1 sent=1");
    expect(shown.stdout).toContain("wave 1 all [active] succeeded=1 failed=1 sent=1");
  });

  it("an abort cancels what it never sent, in every wave; a paused rollout keeps them pending", async () => {
    const t = await boot();
    const release = await publishRelease(t, "2.0.0");
    const a1 = await connect(t, "a1", { ring: "canary" });
    await connect(t, "m1", { ring: "main" });
    const id = await create(t, {
      release,
      waves: CANARY_THEN_EVERYONE,
      failureThreshold: { count: 1 },
    });
    await reportAcked(a1, await a1.next(isDeploy), "failed");
    // Halted without auto-rollback: paused, and the operator may still resume.
    await expect.poll(async () => (await view(t, id)).state, { timeout: 10_000 }).toBe("paused");
    expect(await stateOf(t, id, "m1")).toBe("pending");
    expect((await view(t, id)).waves[1]?.status).toBe("waiting");
    const aborted = await t.api<View>("POST", `/api/v1/rollouts/${id}/abort`, {
      token: t.operator,
      body: {},
    });
    expect(aborted.body).toMatchObject({ state: "aborted", counts: { failed: 1, cancelled: 1 } });
    expect((await t.hub.store.getDeployment(`${id}:m1`))?.error).toBe(
      "cancelled: the rollout is aborted and will not send the release to this agent",
    );
    const events = await t.hub.store.listEvents({ subject: `${id}:m1`, limit: 10 });
    expect(events.map((e) => e.kind)).toContain("deployment.cancelled");
  });

  it("abort with rollback leaves an agent that timed out before it was ever sent the release as a failure, not rolled back", async () => {
    const t = await boot();
    await publishRelease(t, "1.0.0");
    const { id, a1 } = await completedWithoutA2(t);
    const aborted = await t.api<View>("POST", `/api/v1/rollouts/${id}/abort`, {
      token: t.operator,
      body: { rollback: true },
    });
    expect(aborted.body).toMatchObject({ state: "aborted", reason: "aborted; rollback sent to 1 agent(s)" });
    expect(await stateOf(t, id, "a2")).toBe("timed_out");
    // a1 is sent back; a2, never sent anything, is nothing to roll back: not offered again.
    expect(await a1.next(isDeploy)).toMatchObject({ rollback: true });
    expect(await stateOf(t, id, "a1")).toBe("rollback_pending");
    const again = await t.api("POST", `/api/v1/rollouts/${id}/abort`, {
      token: t.operator,
      body: { rollback: true },
    });
    expect(again.status).toBe(409);
    expect((await view(t, id)).actions).toEqual([]);
  });
});

describe("a rollback instruction nobody answers", () => {
  it("times out after progress_timeout like a deploy, shows as failed, and is sent again when the agent is back", async () => {
    const t = await boot();
    await publishRelease(t, "1.0.0");
    const release = await publishRelease(t, "2.0.0");
    const a1 = await connect(t, "a1");
    const id = await create(t, {
      release,
      waves: [{ name: "all", percent: 100 }],
      failureThreshold: { count: 1 },
    });
    await reportAcked(a1, await a1.next(isDeploy), "succeeded");
    await expect.poll(async () => (await view(t, id)).state, { timeout: 10_000 }).toBe("completed");
    await t.api("POST", `/api/v1/rollouts/${id}/abort`, { token: t.operator, body: { rollback: true } });
    // The host is broken (its restore failed) and never answers the rollback instruction.
    expect(await a1.next(isDeploy)).toMatchObject({ rollback: true });
    await leave(t, a1, "a1");
    skew += PROGRESS_MS + 1_000;
    await expect.poll(() => stateOf(t, id, "a1"), { timeout: 10_000 }).toBe("rollback_timed_out");
    const v = await view(t, id);
    expect(v.progress).toMatchObject({ failed: 1, "in-progress": 0 });
    expect((await t.hub.store.getDeployment(`${id}:a1`))?.error).toMatch(
      /^rollback timed out: no answer from the agent for 121 s \(progress timeout 120 s\); sent again when it reconnects$/,
    );
    const events = await t.hub.store.listEvents({ subject: `${id}:a1`, limit: 20 });
    expect(events.map((e) => e.kind)).toContain("deployment.rollback_timed_out");
    // Back at last: the instruction is owed still, and its answer counts.
    const back = await connect(t, "a1", {}, "2.0.0");
    const again = await back.next(isDeploy);
    expect(again).toMatchObject({ rollback: true });
    await reportAcked(back, again, "succeeded");
    await expect.poll(() => stateOf(t, id, "a1"), { timeout: 10_000 }).toBe("rolled_back");
  });
});

describe("a rollback instruction under way", () => {
  it("is not timed out while its agent sends progress (a rollback that downloads the older release)", async () => {
    const t = await boot();
    await publishRelease(t, "1.0.0");
    const release = await publishRelease(t, "2.0.0");
    const a1 = await connect(t, "a1");
    const id = await create(t, {
      release,
      waves: [{ name: "all", percent: 100 }],
      failureThreshold: { count: 1 },
    });
    await reportAcked(a1, await a1.next(isDeploy), "succeeded");
    await expect.poll(async () => (await view(t, id)).state, { timeout: 10_000 }).toBe("completed");
    await t.api("POST", `/api/v1/rollouts/${id}/abort`, { token: t.operator, body: { rollback: true } });
    const back = await a1.next(isDeploy);
    expect(back).toMatchObject({ rollback: true });
    const sent = (await t.hub.store.getDeployment(`${id}:a1`))?.updatedAt ?? 0;
    // Two thirds of the progress timeout, a progress message, then two thirds again: past the
    // timeout since it was sent, but never that long without a word from the agent.
    for (let i = 0; i < 2; i++) {
      skew += (PROGRESS_MS * 2) / 3;
      a1.send({
        type: "progress",
        v: 1,
        deploymentId: back.deploymentId,
        step: "fetch",
        percent: 40 * (i + 1),
      });
      await expect
        .poll(async () => (await t.hub.store.getDeployment(`${id}:a1`))?.updatedAt ?? 0)
        .toBeGreaterThan(sent + i * ((PROGRESS_MS * 2) / 3));
    }
    await new Promise((r) => setTimeout(r, 300));
    expect(await stateOf(t, id, "a1")).toBe("rollback_pending");
    // Silent past the timeout, it times out as before.
    skew += PROGRESS_MS + 1_000;
    await expect.poll(() => stateOf(t, id, "a1"), { timeout: 10_000 }).toBe("rollback_timed_out");
    await reportAcked(a1, back, "succeeded");
    await expect.poll(() => stateOf(t, id, "a1"), { timeout: 10_000 }).toBe("rolled_back");
  });
});

describe("a rollback instruction a later rollout overtook", () => {
  it("is not sent again at hello: only the later release is, and the old rollout says why, once", async () => {
    const t = await boot();
    await publishRelease(t, "1.0.0");
    const release = await publishRelease(t, "2.0.0");
    const a1 = await connect(t, "a1");
    const id = await create(t, {
      release,
      waves: [{ name: "all", percent: 100 }],
      failureThreshold: { count: 1 },
    });
    await reportAcked(a1, await a1.next(isDeploy), "succeeded");
    await expect.poll(async () => (await view(t, id)).state, { timeout: 10_000 }).toBe("completed");
    await t.api("POST", `/api/v1/rollouts/${id}/abort`, { token: t.operator, body: { rollback: true } });
    expect(await a1.next(isDeploy)).toMatchObject({ rollback: true });
    await leave(t, a1, "a1");
    skew += PROGRESS_MS + 1_000;
    await expect.poll(() => stateOf(t, id, "a1"), { timeout: 10_000 }).toBe("rollback_timed_out");
    // While it was away the operator rolled the app forward instead.
    const v3 = await publishRelease(t, "3.0.0");
    const later = await create(t, {
      release: v3,
      waves: [{ name: "all", percent: 100 }],
      failureThreshold: { count: 1 },
    });
    const back = await connect(t, "a1", {}, "2.0.0");
    expect(await back.next(isDeploy)).toMatchObject({ deploymentId: `${later}:a1`, rollback: false });
    await new Promise((r) => setTimeout(r, 300));
    expect(deploysOf(back)).toEqual([]);
    const old = await t.hub.store.getDeployment(`${id}:a1`);
    expect(old).toMatchObject({ state: "rollback_timed_out" });
    expect(old?.error).toBe(`rollback not sent: a later rollout of the app (${later}) took this agent over`);
    expect((await view(t, id)).progress).toMatchObject({ failed: 1 });
    // The rollout page's red notice of agents a rollback did not reach names it.
    expect((await view(t, id)) as unknown as { notRolledBack: string[] }).toMatchObject({
      notRolledBack: ["a1"],
    });
    // Said once: a reconnect sends nothing of the old rollout and records nothing more.
    await leave(t, back, "a1");
    const again = await connect(t, "a1", {}, "2.0.0");
    await new Promise((r) => setTimeout(r, 300));
    expect(deploysOf(again).map((d) => d.rollback)).not.toContain(true);
    const events = await t.hub.store.listEvents({ subject: `${id}:a1`, limit: 50 });
    expect(events.filter((e) => e.kind === "deployment.rollback_overtaken")).toHaveLength(1);
  });

  it("a later rollout that never sent the agent anything (aborted first) does not stop the rollback", async () => {
    const t = await boot();
    await publishRelease(t, "1.0.0");
    const release = await publishRelease(t, "2.0.0");
    const a1 = await connect(t, "a1");
    const id = await create(t, {
      release,
      waves: [{ name: "all", percent: 100 }],
      failureThreshold: { count: 1 },
    });
    await reportAcked(a1, await a1.next(isDeploy), "succeeded");
    await expect.poll(async () => (await view(t, id)).state, { timeout: 10_000 }).toBe("completed");
    await t.api("POST", `/api/v1/rollouts/${id}/abort`, { token: t.operator, body: { rollback: true } });
    expect(await a1.next(isDeploy)).toMatchObject({ rollback: true });
    await leave(t, a1, "a1");
    const v3 = await publishRelease(t, "3.0.0");
    const later = await create(t, {
      release: v3,
      waves: [{ name: "all", percent: 100 }],
      failureThreshold: { count: 1 },
    });
    await t.api("POST", `/api/v1/rollouts/${later}/abort`, { token: t.operator, body: {} });
    expect(await stateOf(t, later, "a1")).toBe("cancelled");
    // Back on 2.0.0: nothing of 3.0.0 reached it, so it is still owed the way back to 1.0.0.
    const back = await connect(t, "a1", {}, "2.0.0");
    const owed = await back.next(isDeploy);
    expect(owed).toMatchObject({ deploymentId: `${id}:a1~rollback`, rollback: true });
    await reportAcked(back, owed, "succeeded");
    await expect.poll(() => stateOf(t, id, "a1"), { timeout: 10_000 }).toBe("rolled_back");
  });

  it("abort with rollback of an older rollout leaves an agent a later one took over on the later release, and says so", async () => {
    const t = await boot();
    await publishRelease(t, "1.0.0");
    const v2 = await publishRelease(t, "2.0.0");
    const a1 = await connect(t, "a1");
    const a2 = await connect(t, "a2");
    const id = await create(t, {
      release: v2,
      waves: [{ name: "all", percent: 100 }],
      failureThreshold: { count: 5 },
    });
    for (const a of [a1, a2]) await reportAcked(a, await a.next(isDeploy), "succeeded");
    await expect.poll(async () => (await view(t, id)).state, { timeout: 10_000 }).toBe("completed");
    // 3.0.0 reaches a1 only (a2 is selected out by its label).
    const v3 = await publishRelease(t, "3.0.0");
    const later = await create(t, {
      release: v3,
      waves: [{ name: "one", agents: ["a1"] }],
      failureThreshold: { count: 5 },
    });
    await reportAcked(a1, await a1.next(isDeploy), "succeeded");
    await expect.poll(async () => (await view(t, later)).state, { timeout: 10_000 }).toBe("completed");
    const aborted = await t.api<View & { notRolledBack: string[] }>("POST", `/api/v1/rollouts/${id}/abort`, {
      token: t.operator,
      body: { rollback: true },
    });
    expect(aborted.status).toBe(200);
    // a2 runs 2.0.0 still and is sent back; a1 runs 3.0.0 from the later rollout and is not.
    expect(await a2.next(isDeploy)).toMatchObject({ rollback: true });
    await new Promise((r) => setTimeout(r, 300));
    expect(deploysOf(a1)).toEqual([]);
    expect(aborted.body.reason).toBe(
      "aborted; rollback sent to 1 agent(s); 1 agent(s) NOT rolled back (a later rollout of the app took them over): a1",
    );
    expect((await view(t, id)) as unknown as { notRolledBack: string[] }).toMatchObject({
      notRolledBack: ["a1"],
    });
    expect((await t.hub.store.getDeployment(`${id}:a1`))?.error).toBe(
      `not rolled back: a later rollout of the app (${later}) took this agent over`,
    );
    // The audit log's abort says who was not rolled back, as the reason does.
    const abortEvent = (await t.hub.store.listEvents({ subject: id, limit: 20 })).find(
      (e) => e.kind === "rollout.aborted",
    );
    expect(abortEvent?.data).toMatchObject({ sentBack: 1, notRolledBack: ["a1"] });
  });
});

describe("a rollback instruction a later rollout overtook, delivered again by a second abort", () => {
  it("the second abort with rollback sends back what it newly marks, never the overtaken instruction", async () => {
    const t = await boot();
    await publishRelease(t, "1.0.0");
    const v2 = await publishRelease(t, "2.0.0");
    const a1 = await connect(t, "a1");
    const a2 = await connect(t, "a2");
    const id = await create(t, {
      release: v2,
      waves: [{ name: "all", percent: 100 }],
      failureThreshold: { count: 5 },
    });
    await reportAcked(a1, await a1.next(isDeploy), "succeeded");
    const a2Deploy = await a2.next(isDeploy);
    // a1 is away when the operator takes 2.0.0 back; a2 is still updating.
    await leave(t, a1, "a1");
    await t.api("POST", `/api/v1/rollouts/${id}/abort`, { token: t.operator, body: { rollback: true } });
    expect(await a2.next(isDeploy)).toMatchObject({ rollback: true });
    // a2's update ends in failure, then (its agent retried) in success: the rollout has it to take back again.
    await reportAcked(a2, a2Deploy, "failed");
    await reportAcked(a2, a2Deploy, "succeeded");
    await expect.poll(() => stateOf(t, id, "a2"), { timeout: 10_000 }).toBe("succeeded");
    skew += PROGRESS_MS + 1_000;
    await expect.poll(() => stateOf(t, id, "a1"), { timeout: 10_000 }).toBe("rollback_timed_out");
    // The operator rolls a1 forward instead; it comes back and installs 3.0.0.
    const v3 = await publishRelease(t, "3.0.0");
    const later = await create(t, {
      release: v3,
      waves: [{ name: "one", agents: ["a1"] }],
      failureThreshold: { count: 5 },
    });
    const back = await connect(t, "a1", {}, "2.0.0");
    await reportAcked(back, await back.next(isDeploy), "succeeded");
    await expect.poll(async () => (await view(t, later)).state, { timeout: 10_000 }).toBe("completed");
    // Taking 2.0.0 back from a2 must not take a1 back from 3.0.0.
    const res = await t.api<View>("POST", `/api/v1/rollouts/${id}/abort`, {
      token: t.operator,
      body: { rollback: true },
    });
    expect(res.status).toBe(200);
    expect(await a2.next(isDeploy)).toMatchObject({ rollback: true });
    // What every other hub of a cluster runs on the abort's wake-up (NOTIFY) sends it neither.
    await t.hub.engine.deliverPending(id);
    await new Promise((r) => setTimeout(r, 300));
    expect(deploysOf(back)).toEqual([]);
    expect((await t.hub.store.getDeployment(`${id}:a1`))?.error).toBe(
      `rollback not sent: a later rollout of the app (${later}) took this agent over`,
    );
  });
});

describe("abort with rollback of a rollout a later one took over", () => {
  /** v2 completed on a1 and a2, then v3 took `takenBy` over: the older rollout's id and the later one's. */
  async function overtakenBy(t: TestHub, takenBy: string[]) {
    await publishRelease(t, "1.0.0");
    const v2 = await publishRelease(t, "2.0.0");
    const a1 = await connect(t, "a1");
    const a2 = await connect(t, "a2");
    const everyone = { waves: [{ name: "all", percent: 100 }], failureThreshold: { count: 5 } };
    const id = await create(t, { release: v2, ...everyone });
    for (const a of [a1, a2]) await reportAcked(a, await a.next(isDeploy), "succeeded");
    await expect.poll(async () => (await view(t, id)).state, { timeout: 10_000 }).toBe("completed");
    const v3 = await publishRelease(t, "3.0.0");
    const later = await create(t, { ...everyone, release: v3, waves: [{ name: "one", agents: takenBy }] });
    for (const a of [a1, a2].filter((_, i) => takenBy.includes(`a${i + 1}`)))
      await reportAcked(a, await a.next(isDeploy), "succeeded");
    await expect.poll(async () => (await view(t, later)).state, { timeout: 10_000 }).toBe("completed");
    return { id, later, a1, a2 };
  }
  const abortRollback = (t: TestHub, id: string) =>
    t.api<View & { error?: string }>("POST", `/api/v1/rollouts/${id}/abort`, {
      token: t.operator,
      body: { rollback: true },
    });

  it("once the only agents left were taken over, it is no longer offered, and asked again is a 409 saying so", async () => {
    const t = await boot();
    const { id } = await overtakenBy(t, ["a1"]);
    expect((await abortRollback(t, id)).status).toBe(200);
    // a2 was sent back; a1 is on the later release: nothing is left for this rollout to take back.
    const after = await view(t, id);
    expect(after.state).toBe("aborted");
    expect(after.actions).toEqual([]);
    const again = await abortRollback(t, id);
    expect(again.status).toBe(409);
    expect(again.body.error).toMatch(/nothing to roll back/);
  });

  it("every agent taken over: accepted, and the reason says none was rolled back and why (not a 409 blaming earlier rollbacks)", async () => {
    const t = await boot();
    const { id, later, a1, a2 } = await overtakenBy(t, ["a1", "a2"]);
    const res = await abortRollback(t, id);
    expect(res.body.error).toBeUndefined();
    expect(res.status).toBe(200);
    expect(res.body.reason).toBe(
      "aborted; rollback sent to 0 agent(s); 2 agent(s) NOT rolled back (a later rollout of the app took them over): a1, a2",
    );
    expect(res.body.actions).toEqual([]);
    await new Promise((r) => setTimeout(r, 300));
    expect(deploysOf(a1).filter((d) => d.rollback)).toEqual([]);
    expect(deploysOf(a2).filter((d) => d.rollback)).toEqual([]);
    expect((await t.hub.store.getDeployment(`${id}:a2`))?.error).toBe(
      `not rolled back: a later rollout of the app (${later}) took this agent over`,
    );
  });
});

describe("the fleet after a failed update", () => {
  it("an agent whose update failed, or whose restore failed, shows that state at once (not at its next hello), on the version it ran", async () => {
    const t = await boot();
    const v1 = await publishRelease(t, "1.0.0");
    const v2 = await publishRelease(t, "2.0.0");
    const agentsNow = [await connect(t, "a1"), await connect(t, "a2"), await connect(t, "a3")];
    const id = await create(t, {
      release: v2,
      waves: [{ name: "all", percent: 100 }],
      failureThreshold: { count: 5 },
    });
    const [a1, a2, a3] = agentsNow as [TestAgent, TestAgent, TestAgent];
    await reportAcked(a1, await a1.next(isDeploy), "failed");
    // a2's update failed and putting 1.0.0 back failed too: the host needs a person.
    const broken = await a2.next(isDeploy);
    const reportId = crypto.randomUUID();
    a2.send({
      type: "report",
      v: 1,
      reportId,
      deploymentId: broken.deploymentId,
      app: "web",
      releaseId: broken.release.id,
      installedReleaseId: v1,
      outcome: "restore_failed",
      fromVersion: "1.0.0",
      toVersion: "2.0.0",
      error: "restoring the backup failed: EIO",
      steps: [],
    });
    await a2.next(
      (m): m is Extract<typeof m, { type: "ack" }> => m.type === "ack" && m.reportId === reportId,
    );
    await reportAcked(a3, await a3.next(isDeploy), "succeeded");
    await expect.poll(async () => (await view(t, id)).state, { timeout: 10_000 }).toBe("completed");
    type Listed = {
      agents: {
        id: string;
        apps: { app: string; version: string | null; state: string; releaseId?: string }[];
      }[];
    };
    const byState = async (state: string) =>
      (await t.api<Listed>("GET", `/api/v1/agents?state=${state}`, { token: t.operator })).body.agents;
    expect((await byState("restore_failed")).map((a) => [a.id, a.apps])).toEqual([
      ["a2", [{ app: "web", version: "1.0.0", state: "restore_failed", releaseId: v1 }]],
    ]);
    expect((await byState("failed")).map((a) => [a.id, a.apps])).toEqual([
      ["a1", [{ app: "web", version: "1.0.0", state: "failed" }]],
    ]);
    // In the words its next hello will use (the run's result), so ?state= finds it before and after.
    expect((await byState("updated")).map((a) => a.id)).toEqual(["a3"]);
    // The report's own word finds the same host, which reads `updated` (one word for one state).
    expect((await byState("succeeded")).map((a) => [a.id, a.apps[0]?.state])).toEqual([["a3", "updated"]]);
    // A failure of an app the agent no longer announces (its source removed since) adds no app to
    // it: later rollouts of the app would plan it and fail there.
    const gone = await connect(t, "a4");
    gone.hello("a4", []);
    await expect.poll(async () => (await t.hub.store.getAgent("a4"))?.apps, { timeout: 10_000 }).toEqual([]);
    const stray = crypto.randomUUID();
    gone.send({
      type: "report",
      v: 1,
      reportId: stray,
      deploymentId: `${id}:a4`,
      app: "web",
      outcome: "failed",
      fromVersion: null,
      toVersion: "2.0.0",
      error: "this agent has no [sources.web] in its ship.toml",
      steps: [],
    });
    await gone.next((m): m is Extract<typeof m, { type: "ack" }> => m.type === "ack" && m.reportId === stray);
    expect((await t.hub.store.getAgent("a4"))?.apps).toEqual([]);
    // `ship-hub agents` says it too: the broken host does not read like the healthy one.
    requireHubBin();
    const listed = await runHubCli(process.cwd(), ["agents"], {
      SHIP_HUB_URL: t.hub.url,
      SHIP_HUB_TOKEN: t.operator,
    });
    expect(listed.code).toBe(0);
    const row = (id: string) => listed.stdout.split("\n").find((l) => l.startsWith(`${id} `)) ?? "";
    expect(row("a2")).toMatch(/web@1\.0\.0 \(restore_failed\)$/);
    expect(row("a1")).toMatch(/web@1\.0\.0 \(failed\)$/);
    expect(row("a3")).toMatch(/web@2\.0\.0 \(updated\)$/);
  });
});

describe("a release older than what agents run", () => {
  it("preview and create warn, naming the hosts and the versions; the event keeps it", async () => {
    const t = await boot();
    const old = await publishRelease(t, "1.5.0");
    await connect(t, "a1", {}, "2.0.0");
    await connect(t, "a2", {}, "1.0.0");
    await connect(t, "a3", {}, "v2.1");
    // a4 sets [trust] allow_downgrade (its hello says so): it takes 1.5.0, it does not refuse it.
    const a4 = await TestAgent.connect(t.hub.url, await t.agentToken("a4"));
    agents.push(a4);
    a4.send({
      type: "hello",
      v: 1,
      agentId: "a4",
      hostname: "a4",
      labels: {},
      agentVersion: "test",
      apps: [{ app: "web", version: "2.0.0", state: "ok" }],
      allowDowngrade: true,
    });
    await expect
      .poll(async () => (await t.hub.store.getAgent("a4"))?.allowDowngrade, { timeout: 10_000 })
      .toBe(true);
    const body = { release: old, waves: [{ name: "all", percent: 100 }], failureThreshold: { count: 1 } };
    const preview = await t.api<{ warnings: string[] }>("POST", "/api/v1/rollouts/preview", {
      token: t.operator,
      body,
    });
    expect(preview.body.warnings).toEqual([
      "body.release: web 1.5.0 is older than what 2 of the rollout's 4 agent(s) run (v2.1, 2.0.0: a1, a3); each refuses a downgrade unless its ship.toml sets [trust] allow_downgrade = true, and those refusals count as failures",
      "body.release: web 1.5.0 is older than what 1 of the rollout's 4 agent(s) run (2.0.0: a4); their ship.toml sets [trust] allow_downgrade = true, so they will be downgraded to it",
    ]);
    const created = await t.api<{ id: string; warnings: string[] }>("POST", "/api/v1/rollouts", {
      token: t.operator,
      body,
    });
    expect(created.status).toBe(201);
    expect(created.body.warnings).toEqual(preview.body.warnings);
    const event = (await t.hub.store.listEvents({ subject: created.body.id, limit: 10 })).find(
      (e) => e.kind === "rollout.created",
    );
    expect(event?.data).toMatchObject({ warnings: preview.body.warnings });
    // Nothing to say for a release no agent runs a newer version of.
    const newer = await publishRelease(t, "3.0.0");
    const fine = await t.api<{ warnings: string[] }>("POST", "/api/v1/rollouts/preview", {
      token: t.operator,
      body: { ...body, release: newer },
    });
    expect(fine.body.warnings).toEqual([]);
  });
});
