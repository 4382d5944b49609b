/**
 * A deployment that timed out because its agent was offline is still owed the release: when the
 * rollout runs again (resume) and the agent is back (hello), in either order, the hub sends it
 * once more — and only it: agents that reported get nothing again. The failure the operator
 * accepted by resuming stops being accepted once it is retried, so the retried agent failing again
 * halts the rollout. Real hub (in process) over real WebSocket, on SQLite and on PostgreSQL.
 */
import { randomUUID } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { HubOptions } from "../../../hub/server.js";
import type { Deploy } from "../../../shared/protocol/messages.js";
import { hasPostgres, type PostgresServer, startPostgres } from "../../support/servers/postgres.js";
import {
  CLUSTER_SECRET,
  hubBackends,
  isType,
  publishRelease,
  reportAcked,
  startTestHub,
  TestAgent,
  type TestHub,
} from "./support.js";

const OFFLINE_MS = 60_000;

let pg: PostgresServer | undefined;
let dir: string;
/**
 * Added to the hub's time, which runs (PostgreSQL's claimed tick needs it) and can jump. Not through
 * `now`: a cluster hub's time follows the database's clock, and would undo a skewed `now`.
 */
let skew = 0;
let hub: TestHub | undefined;
const agents: TestAgent[] = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "ship-redeliver-"));
  if (hasPostgres()) pg = await startPostgres();
}, 60_000);
afterEach(async () => {
  for (const a of agents.splice(0)) a.ws.terminate();
  await hub?.stop();
  hub = undefined;
});
afterAll(async () => {
  await pg?.stop();
  await rm(dir, { recursive: true, force: true });
});

// The test moves the hub's clock past the offline timeout: not past its own heartbeat timeout.
const backends = hubBackends(() => pg, { hubTimeoutMs: 3_600_000 });

const isDeploy = isType("deploy");
const deploysOf = (agent: TestAgent): Deploy[] => agent.received.filter(isDeploy);

for (const backend of backends)
  describe.skipIf(!backend.available)(`a timed-out canary on ${backend.name}`, () => {
    async function boot(): Promise<TestHub> {
      skew = 0;
      hub = await startTestHub(
        { timeShiftMs: () => skew, offlineTimeoutMs: OFFLINE_MS, ...(await backend.options()) },
        join(dir, randomUUID()),
      );
      return hub;
    }

    async function connect(t: TestHub, id: string, ring: string): Promise<TestAgent> {
      const agent = await TestAgent.connect(t.hub.url, await t.agentToken(id));
      agents.push(agent);
      agent.hello(id, [{ app: "web", version: "1.0.0", state: "ok", releaseId: undefined }], { ring });
      await expect.poll(() => t.hub.registry.isOnline(id), { timeout: 10_000 }).toBe(true);
      return agent;
    }

    async function leave(t: TestHub, agent: TestAgent, id: string): Promise<void> {
      agent.ws.close();
      await expect.poll(() => t.hub.registry.isOnline(id), { timeout: 10_000 }).toBe(false);
    }

    const report = reportAcked;

    type View = { state: string; currentWave: number; reason: string | null; failureAllowance?: number };
    const view = async (t: TestHub, id: string) =>
      (await t.api<View>("GET", `/api/v1/rollouts/${id}`, { token: t.operator })).body;
    const deploymentState = async (t: TestHub, id: string, agentId: string) =>
      (await t.hub.store.getDeployment(`${id}:${agentId}`))?.state;

    /** canary (ring=canary: c1) then everyone; c1 goes away before the rollout and times out. */
    async function haltedOnTimeout(t: TestHub) {
      const release = await publishRelease(t, "2.0.0");
      const c1 = await connect(t, "c1", "canary");
      const m1 = await connect(t, "m1", "main");
      await leave(t, c1, "c1");
      const created = await t.api<{ id: string }>("POST", "/api/v1/rollouts", {
        token: t.operator,
        body: {
          release,
          waves: [
            { name: "canary", labels: { ring: "canary" } },
            { name: "everyone", percent: 100 },
          ],
          failureThreshold: { count: 1 },
          autoAdvance: true,
        },
      });
      expect(created.status).toBe(201);
      const id = created.body.id;
      skew += OFFLINE_MS + 1_000;
      await expect.poll(() => deploymentState(t, id, "c1"), { timeout: 10_000 }).toBe("timed_out");
      await expect.poll(async () => (await view(t, id)).state, { timeout: 10_000 }).toBe("paused");
      return { id, m1 };
    }

    /** The canary's only agent came back on the release without being sent it: nothing was tested. */
    const UNTESTED =
      "waiting for an operator: wave 1 (canary) tested nothing: its 1 agent(s) ran the release already and were sent nothing; advance or abort";

    const resume = (t: TestHub, id: string) =>
      t.api<View>("POST", `/api/v1/rollouts/${id}/resume`, { token: t.operator, body: {} });

    it("resume, then the agent reconnects: it gets the release once; its success advances the rollout", async () => {
      const t = await boot();
      const { id, m1 } = await haltedOnTimeout(t);
      expect((await resume(t, id)).body.state).toBe("running");
      const c1 = await connect(t, "c1", "canary");
      const deploy = await c1.next(isDeploy);
      expect(deploy.deploymentId).toBe(`${id}:c1`);
      expect(await deploymentState(t, id, "c1")).toBe("sent");
      await report(c1, deploy, "succeeded");
      // The canary succeeded: the wave is whole and the rollout moves on to m1.
      await report(m1, await m1.next(isDeploy), "succeeded");
      await expect.poll(async () => (await view(t, id)).state, { timeout: 10_000 }).toBe("completed");
      expect((await view(t, id)).reason).toBeNull();
      // Nothing is sent twice: a reconnect of an agent that reported brings nothing new.
      await leave(t, c1, "c1");
      const again = await connect(t, "c1", "canary");
      await new Promise((r) => setTimeout(r, 300));
      expect(deploysOf(again)).toEqual([]);
      expect(deploysOf(c1)).toEqual([]);
    });

    it("the agent reconnects while paused, then resume: it gets the release at the resume, once", async () => {
      const t = await boot();
      const { id } = await haltedOnTimeout(t);
      const c1 = await connect(t, "c1", "canary");
      await new Promise((r) => setTimeout(r, 300));
      expect(deploysOf(c1)).toEqual([]);
      await resume(t, id);
      const deploy = await c1.next(isDeploy);
      expect(deploy.deploymentId).toBe(`${id}:c1`);
      // The log says it was retried after its timeout, then sent, once.
      const log = (await t.hub.store.listEvents({ limit: 1000, subject: `${id}:c1` })).reverse();
      expect(log.map((e) => e.kind)).toEqual([
        "deployment.timed_out",
        "deployment.pending",
        "deployment.sent",
      ]);
      expect(log[1]?.data).toEqual({
        agent: "c1",
        retry: "timed_out",
        // 61 s of skew plus however long the tick took to run after the agent left (2 s and more
        // on a loaded CI machine): at least 61.
        error: expect.stringMatching(/^agent offline for (6[1-9]|[7-9]\d|\d{3,}) s/),
      });
      await report(c1, deploy, "succeeded");
      await expect.poll(() => deploymentState(t, id, "c1"), { timeout: 10_000 }).toBe("succeeded");
      // Reported: a reconnect, or another resume-and-advance, sends it nothing more.
      await leave(t, c1, "c1");
      const again = await connect(t, "c1", "canary");
      await new Promise((r) => setTimeout(r, 300));
      expect(deploysOf(again)).toEqual([]);
    });

    it("a timed-out agent back on the release already (its hello says so while paused) is not sent it again at the resume", async () => {
      const t = await boot();
      const { id } = await haltedOnTimeout(t);
      const release = (await t.hub.store.getDeployment(`${id}:c1`))?.desiredRelease as string;
      // It installed 2.0.0 while the hub counted it as away (its report was lost), and says so.
      const onRelease = [{ app: "web", version: "2.0.0", state: "ok", releaseId: release }];
      const c1 = await TestAgent.connect(t.hub.url, await t.agentToken("c1"));
      agents.push(c1);
      c1.hello("c1", onRelease, { ring: "canary" });
      // The hello stored, not only registered: the registry flips before its transaction commits,
      // and a resume read before that commit would find the agent away and send it the release.
      await expect
        .poll(async () => (await t.hub.store.getAgent("c1"))?.apps.map((a) => a.version), { timeout: 10_000 })
        .toEqual(["2.0.0"]);
      // Paused: nothing is owed yet; the resume retries it and finds it done.
      expect((await resume(t, id)).body.state).toBe("running");
      await expect.poll(() => deploymentState(t, id, "c1"), { timeout: 10_000 }).toBe("succeeded");
      const log = (await t.hub.store.listEvents({ limit: 1000, subject: `${id}:c1` })).reverse();
      expect(log.map((e) => e.kind)).toEqual(["deployment.timed_out", "deployment.succeeded"]);
      expect(log[1]?.data).toMatchObject({ was: "timed_out", found: "the agent runs web 2.0.0 already" });
      // Done, but the hub never sent it the release: the canary tested nothing, and waits for an
      // operator instead of handing the release on untested; c1 was sent nothing.
      await expect.poll(async () => (await view(t, id)).reason, { timeout: 10_000 }).toBe(UNTESTED);
      expect((await view(t, id)).currentWave).toBe(0);
      expect(deploysOf(c1)).toEqual([]);
    });

    it("resumed first, the agent says hello on the release already: done at its hello, nothing sent", async () => {
      const t = await boot();
      const { id } = await haltedOnTimeout(t);
      expect((await resume(t, id)).body.state).toBe("running");
      const c1 = await TestAgent.connect(t.hub.url, await t.agentToken("c1"));
      agents.push(c1);
      // An older agent names only the version it runs.
      c1.hello("c1", [{ app: "web", version: "2.0.0", state: "ok", releaseId: undefined }], {
        ring: "canary",
      });
      await expect.poll(() => deploymentState(t, id, "c1"), { timeout: 10_000 }).toBe("succeeded");
      await expect.poll(async () => (await view(t, id)).reason, { timeout: 10_000 }).toBe(UNTESTED);
      expect((await view(t, id)).currentWave).toBe(0);
      expect(deploysOf(c1)).toEqual([]);
    });

    it("the retried agent failing again halts the rollout: the failure accepted by resuming was only the timeout", async () => {
      const t = await boot();
      const { id, m1 } = await haltedOnTimeout(t);
      await resume(t, id);
      const c1 = await connect(t, "c1", "canary");
      await report(c1, await c1.next(isDeploy), "failed");
      await expect.poll(async () => (await view(t, id)).state, { timeout: 10_000 }).toBe("paused");
      expect((await view(t, id)).reason).toMatch(/failure threshold/);
      expect((await view(t, id)).currentWave).toBe(0);
      expect(deploysOf(m1)).toEqual([]);
    });

    it("abort with rollback also sends back an agent that timed out after it was sent the release", async () => {
      const t = await boot();
      const v1 = await publishRelease(t, "1.0.0");
      const v2 = await publishRelease(t, "2.0.0");
      const a1 = await connect(t, "a1", "main");
      const id = (
        await t.api<{ id: string }>("POST", "/api/v1/rollouts", {
          token: t.operator,
          body: { release: v2, waves: [{ name: "all", percent: 100 }], failureThreshold: { count: 5 } },
        })
      ).body.id;
      const deploy = await a1.next(isDeploy);
      a1.send({ type: "progress", v: 1, deploymentId: deploy.deploymentId, step: "fetch", message: "done" });
      await expect.poll(() => deploymentState(t, id, "a1"), { timeout: 10_000 }).toBe("in_progress");
      // The network goes mid-update: the host may well finish installing 2.0.0 on its own.
      await leave(t, a1, "a1");
      skew += OFFLINE_MS + 1_000;
      await expect.poll(() => deploymentState(t, id, "a1"), { timeout: 10_000 }).toBe("timed_out");
      const aborted = await t.api<View>("POST", `/api/v1/rollouts/${id}/abort`, {
        token: t.operator,
        body: { rollback: true },
      });
      expect(aborted.body).toMatchObject({
        state: "aborted",
        // Away: its instruction waits for its hello, and the reason says so.
        reason: "aborted; rollback queued for 1 offline agent(s), sent when they reconnect: a1",
      });
      expect(await deploymentState(t, id, "a1")).toBe("rollback_pending");
      const back = await connect(t, "a1", "main");
      expect(await back.next(isDeploy)).toMatchObject({ rollback: true, release: { id: v1 } });
    });

    it("an agent whose offline timeout passed while the rollout was paused is accepted by resume, not a new halt", async () => {
      const t = await boot();
      const release = await publishRelease(t, "2.0.0");
      const c1 = await connect(t, "c1", "canary");
      const c2 = await connect(t, "c2", "canary");
      await connect(t, "m1", "main");
      await leave(t, c2, "c2");
      const id = (
        await t.api<{ id: string }>("POST", "/api/v1/rollouts", {
          token: t.operator,
          body: {
            release,
            waves: [
              { name: "canary", labels: { ring: "canary" } },
              { name: "everyone", percent: 100 },
            ],
            failureThreshold: { count: 1 },
            autoAdvance: true,
          },
        })
      ).body.id;
      await report(c1, await c1.next(isDeploy), "failed");
      await expect.poll(async () => (await view(t, id)).state, { timeout: 10_000 }).toBe("paused");
      // The operator looks into it for longer than the offline timeout; c2 stays away meanwhile.
      skew += OFFLINE_MS + 1_000;
      await new Promise((r) => setTimeout(r, 300));
      const resumed = await resume(t, id);
      expect(resumed.body.state).toBe("running");
      // c2's timeout fell due while paused: it is among the failures the resume accepted.
      await new Promise((r) => setTimeout(r, 500));
      expect(await deploymentState(t, id, "c2")).toBe("timed_out");
      expect((await view(t, id)).state).toBe("running");
      const resumedEvent = (await t.hub.store.listEvents({ limit: 100, subject: id })).find(
        (e) => e.kind === "rollout.resumed",
      );
      expect(resumedEvent?.data).toEqual({ acceptedFailures: 2 });
    });
  });

describe.skipIf(!hasPostgres())("a timed-out agent of another hub (two hubs, one PostgreSQL)", () => {
  const hubs: TestHub[] = [];
  afterAll(async () => {
    for (const h of hubs) await h.stop();
  });

  it("an operator resumes on one hub: the hub the agent is connected to sends it the release", async () => {
    skew = 0;
    const url = await (pg as PostgresServer).createDatabase();
    const options: Partial<HubOptions> = {
      timeShiftMs: () => skew,
      offlineTimeoutMs: OFFLINE_MS,
      envSecret: CLUSTER_SECRET,
      hubTimeoutMs: 3_600_000,
      database: { url, file: "test", key: "" },
    };
    const a = await startTestHub(options, join(dir, randomUUID()));
    hubs.push(a);
    const b = await startTestHub(options, join(dir, randomUUID()));
    hubs.push(b);
    const release = await publishRelease(a, "2.0.0");
    const hello = (agent: TestAgent, id: string) =>
      agent.hello(id, [{ app: "web", version: "1.0.0", state: "ok", releaseId: undefined }]);
    const first = await TestAgent.connect(b.hub.url, await b.agentToken("c1"));
    agents.push(first);
    hello(first, "c1");
    await expect.poll(() => b.hub.registry.isOnline("c1"), { timeout: 10_000 }).toBe(true);
    first.ws.close();
    await expect.poll(() => b.hub.registry.isOnline("c1"), { timeout: 10_000 }).toBe(false);
    const id = (
      await a.api<{ id: string }>("POST", "/api/v1/rollouts", {
        token: a.operator,
        body: { release, waves: [{ name: "all", percent: 100 }], failureThreshold: { count: 1 } },
      })
    ).body.id;
    skew += OFFLINE_MS + 1_000;
    const state = async () => (await a.hub.store.getDeployment(`${id}:c1`))?.state;
    await expect.poll(state, { timeout: 10_000 }).toBe("timed_out");
    // Back on hub B while the rollout is paused: nothing to do yet.
    const back = await TestAgent.connect(b.hub.url, await b.agentToken("c1"));
    agents.push(back);
    hello(back, "c1");
    await expect.poll(() => b.hub.registry.isOnline("c1"), { timeout: 10_000 }).toBe(true);
    const rolloutState = async () =>
      (await a.api<{ state: string }>("GET", `/api/v1/rollouts/${id}`, { token: a.operator })).body.state;
    await expect.poll(rolloutState, { timeout: 10_000 }).toBe("paused");
    expect(deploysOf(back)).toEqual([]);
    expect(
      (await a.api("POST", `/api/v1/rollouts/${id}/resume`, { token: a.operator, body: {} })).status,
    ).toBe(200);
    const deploy = await back.next(isDeploy, 10_000);
    expect(deploy.deploymentId).toBe(`${id}:c1`);
    expect(await state()).toBe("sent");
  });
});
