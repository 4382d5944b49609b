/**
 * A deployment's `attempts` (the API, `rollout show`'s ATTEMPTS, the dashboard) is how many times
 * the agent started the update: it counted deliveries, so an agent that went away mid-update and
 * came back (the hub re-sends the instruction it is already carrying out) read 2 for one run. Real
 * hub (in process), agents over a real WebSocket, real SQLite, the built CLI.
 */
import { describe, expect, it } from "vitest";
import type { Deploy } from "../../../shared/protocol/messages.js";
import { requireHubBin } from "../../support/hub-cli.js";
import {
  hubPerTest,
  isType,
  operatorCli,
  publishRelease,
  reportAcked,
  type TestAgent,
  type TestHub,
} from "./support.js";

const session = hubPerTest();

type Detail = { waves: { agents: { agentId: string; state: string; attempts: number }[] }[] };
const agentRow = async (t: TestHub, id: string, agentId: string) =>
  (await t.api<Detail>("GET", `/api/v1/rollouts/${id}`, { token: t.operator })).body.waves
    .flatMap((w) => w.agents)
    .find((a) => a.agentId === agentId);

/** What the agent sends as it starts a run of the update (agent/daemon/carry-out.ts). */
const start = (agent: TestAgent, deploy: Deploy) =>
  agent.send({
    type: "progress",
    v: 1,
    deploymentId: deploy.deploymentId,
    step: "fetch",
    message: "started",
  });
const step = (agent: TestAgent, deploy: Deploy, name: string, message: string) =>
  agent.send({ type: "progress", v: 1, deploymentId: deploy.deploymentId, step: name, message });

async function rolloutTo(t: TestHub, agentId: string): Promise<string> {
  const created = await t.api<{ id: string }>("POST", "/api/v1/rollouts", {
    token: t.operator,
    body: {
      release: await publishRelease(t, "2.0.0"),
      waves: [{ name: "all", agents: [agentId] }],
      // Its timeout must not halt the rollout: the agent is sent the release again on its return.
      failureThreshold: { count: 5 },
    },
  });
  expect(created.status).toBe(201);
  return created.body.id;
}

describe("a deployment's attempts count the updates its agent started", () => {
  it("an agent away past its timeout mid-update, sent the instruction again on its return, made one attempt", async () => {
    requireHubBin();
    const t = await session.start({ offlineTimeoutMs: 300 });
    const a1 = await session.connect(t, "a1");
    const id = await rolloutTo(t, "a1");
    const deploy = await a1.next(isType("deploy"));
    expect(await agentRow(t, id, "a1")).toMatchObject({ state: "sent", attempts: 0 });
    start(a1, deploy);
    step(a1, deploy, "verify", "started");
    await expect
      .poll(async () => (await agentRow(t, id, "a1"))?.state, { timeout: 10_000 })
      .toBe("in_progress");
    expect((await agentRow(t, id, "a1"))?.attempts).toBe(1);
    // Gone mid-update past the offline timeout: counted failed; back, it is sent the instruction
    // again, which it takes for the run it is on (a sign of life, then its report).
    a1.ws.terminate();
    await expect
      .poll(async () => (await agentRow(t, id, "a1"))?.state, { timeout: 10_000 })
      .toBe("timed_out");
    const back = await session.connect(t, "a1");
    const again = await back.next(isType("deploy"));
    expect(again.deploymentId).toBe(deploy.deploymentId);
    step(back, again, "apply", "still working");
    await expect
      .poll(async () => (await agentRow(t, id, "a1"))?.state, { timeout: 10_000 })
      .toBe("in_progress");
    await reportAcked(back, again, "succeeded");
    expect(await agentRow(t, id, "a1")).toMatchObject({ state: "succeeded", attempts: 1 });
    // The stored delivery count is 2: the field counts something else.
    expect((await t.hub.store.getDeployment(`${id}:a1`))?.attempts).toBe(2);
    const shown = await operatorCli(t, "rollout", "show", id);
    expect(shown.stdout).toMatch(/^a1\s+succeeded\s+yes\s+1\s/m);
  });

  it("a host that restarted mid-update and started it again made two attempts; one found on the release made none", async () => {
    const t = await session.start();
    const a1 = await session.connect(t, "a1");
    await session.connect(t, "a2", [{ app: "web", version: "2.0.0", state: "ok", releaseId: undefined }]);
    const created = await t.api<{ id: string }>("POST", "/api/v1/rollouts", {
      token: t.operator,
      body: { release: await publishRelease(t, "2.0.0"), waves: [{ name: "all", percent: 100 }] },
    });
    const id = created.body.id;
    const deploy = await a1.next(isType("deploy"));
    start(a1, deploy);
    await expect.poll(async () => (await agentRow(t, id, "a1"))?.attempts, { timeout: 10_000 }).toBe(1);
    // Killed mid-update, the agent starts the update again on its restart.
    start(a1, deploy);
    await expect.poll(async () => (await agentRow(t, id, "a1"))?.attempts, { timeout: 10_000 }).toBe(2);
    await reportAcked(a1, deploy, "succeeded");
    expect(await agentRow(t, id, "a1")).toMatchObject({ state: "succeeded", attempts: 2 });
    expect(await agentRow(t, id, "a2")).toMatchObject({ state: "succeeded", attempts: 0 });
  });

  it("a run whose start the hub never counted (its progress lost or over the budget) made one attempt once it reports", async () => {
    const t = await session.start();
    const a1 = await session.connect(t, "a1");
    const a2 = await session.connect(t, "a2");
    const created = await t.api<{ id: string }>("POST", "/api/v1/rollouts", {
      token: t.operator,
      body: {
        release: await publishRelease(t, "2.0.0"),
        waves: [{ name: "all", percent: 100 }],
        failureThreshold: { count: 5 },
      },
    });
    const id = created.body.id;
    const run = [
      { name: "fetch", ok: true, ms: 5 },
      { name: "apply", ok: false, ms: 3 },
    ];
    // No "fetch started" reached the hub: the report of the run is all it hears.
    await reportAcked(a1, await a1.next(isType("deploy")), "failed", run);
    expect(await agentRow(t, id, "a1")).toMatchObject({ state: "failed", attempts: 1 });
    // Counted once, with its start heard or not: a2's start was heard, then its report came.
    const deploy = await a2.next(isType("deploy"));
    start(a2, deploy);
    await expect.poll(async () => (await agentRow(t, id, "a2"))?.attempts, { timeout: 10_000 }).toBe(1);
    await reportAcked(
      a2,
      deploy,
      "succeeded",
      run.map((s) => ({ ...s, ok: true })),
    );
    expect(await agentRow(t, id, "a2")).toMatchObject({ state: "succeeded", attempts: 1 });
    const shown = await operatorCli(t, "rollout", "show", id);
    expect(shown.stdout).toMatch(/^a1\s+failed\s+\S+\s+1\s/m);
  });

  it("an answer from the agent's record (a report naming no step) is no attempt", async () => {
    const t = await session.start();
    const a1 = await session.connect(t, "a1");
    const id = await rolloutTo(t, "a1");
    await reportAcked(a1, await a1.next(isType("deploy")), "succeeded");
    expect(await agentRow(t, id, "a1")).toMatchObject({ state: "succeeded", attempts: 0 });
  });
});
