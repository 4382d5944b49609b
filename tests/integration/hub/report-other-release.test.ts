/**
 * A report names its deployment and the release it is about. One that names a deployment of this
 * rollout but another release (an agent's outbox resent after the hub's data was restored, a bug
 * in a client) counted as this rollout's result: "succeeded" for 2.0.0 while the host had
 * installed 3.0.0, and a wave advanced on it. Such a report is stored (the host's history) but
 * moves no deployment. Real hub, an agent over a real WebSocket.
 */
import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { AgentSync } from "../../../hub/rollouts/agent-sync.js";
import { memoryLogger } from "../../../shared/log.js";
import { type HubMessage, PROTOCOL_VERSION, type Report } from "../../../shared/protocol/messages.js";
import {
  hubBackendsPerFile,
  hubPerTest,
  isType,
  publishRelease,
  reportAcked,
  sendReport,
  type TestAgent,
  type TestHub,
} from "./support.js";

const session = hubPerTest();
const isDeploy = isType("deploy");
const acked = (agent: TestAgent, reportId: string) =>
  agent.next((m): m is Extract<HubMessage, { type: "ack" }> => m.type === "ack" && m.reportId === reportId);

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

/**
 * A report's fields the hub can check against its own rows are taken from them or refused, and
 * said in the hub's log: a report of an `api` update that named `app: "web"` marked the host's web
 * app failed, a success naming another version recorded that version, and a report naming another
 * agent's deployment set this agent's app status. Both stores.
 */
describe.each(hubBackendsPerFile())("a report that contradicts the hub's rows ($name)", (backend) => {
  const apps = [
    { app: "web", version: "1.0.0", state: "ok", releaseId: undefined as string | undefined },
    { app: "api", version: "1.0.0", state: "ok", releaseId: undefined as string | undefined },
  ];
  const statuses = async (t: TestHub, id: string) =>
    Object.fromEntries(
      ((await t.hub.store.getAgent(id))?.apps ?? []).map((a) => [a.app, `${a.version} ${a.state}`]),
    );

  it.skipIf(!backend.available)(
    "takes app and version from the release, refuses another agent's deployment",
    {
      timeout: 60_000,
    },
    async () => {
      const lines: { level: string; msg: string; data?: Record<string, unknown> }[] = [];
      const t = await session.start({ ...(await backend.options()), log: memoryLogger(lines) });
      await publishRelease(t, "1.0.0", "api");
      const api2 = await publishRelease(t, "2.0.0", "api");
      const a1 = await session.connect(t, "a1", apps);
      const a2 = await session.connect(t, "a2", apps);
      await t.api("POST", "/api/v1/rollouts", {
        token: t.operator,
        body: { release: api2, waves: [{ name: "all", percent: 100 }] },
      });
      const d1 = await a1.next(isDeploy);
      const d2 = await a2.next(isDeploy);
      // a1's api update fails, its report naming web: web stays as it was, api is the failed one.
      await acked(a1, sendReport(a1, d1, "failed", [{ name: "apply", ok: false, ms: 1 }], { app: "web" }));
      expect(await statuses(t, "a1")).toEqual({ web: "1.0.0 ok", api: "1.0.0 failed" });
      // a1 reports a2's deployment: a2's row and a1's apps stay; a2's own success names 9.9.9.
      await acked(a1, sendReport(a1, d2, "succeeded"));
      await acked(a2, sendReport(a2, d2, "succeeded", [], { toVersion: "9.9.9" }));
      expect(await statuses(t, "a1")).toEqual({ web: "1.0.0 ok", api: "1.0.0 failed" });
      expect(await statuses(t, "a2")).toEqual({ web: "1.0.0 ok", api: "2.0.0 updated" });
      const said = lines.filter((l) => l.msg === "an agent's report disagreed with the hub's rows");
      expect(said[0]?.data).toMatchObject({
        agentId: "a1",
        reason: expect.stringMatching(/app "web" taken as "api"/),
      });
    },
  );
});

/**
 * What the hub says of a report it corrected is said once that report is stored: said inside the
 * transaction, it was logged for a report a rollback then undid (the batch's agent revoked
 * meanwhile), and once per attempt of a batch applied again message by message. The hub's own
 * engine and store, the report handled as a message batch handles it.
 */
describe("a corrected report's log line", () => {
  it("is said only once its transaction committed", async () => {
    const t = await session.start();
    await publishRelease(t, "1.0.0", "api");
    const api2 = await publishRelease(t, "2.0.0", "api");
    const a1 = await session.connect(t, "a1", [
      { app: "api", version: "1.0.0", state: "ok", releaseId: undefined },
    ]);
    await t.api("POST", "/api/v1/rollouts", {
      token: t.operator,
      body: { release: api2, waves: [{ name: "all", percent: 100 }] },
    });
    const deploy = await a1.next(isDeploy);
    const said: string[] = [];
    const sync = new AgentSync(t.hub.engine, (agentId, reason) => said.push(`${agentId}: ${reason}`));
    const report: Report = {
      type: "report",
      v: PROTOCOL_VERSION,
      reportId: randomUUID(),
      deploymentId: deploy.deploymentId,
      app: "web",
      releaseId: deploy.release.id,
      outcome: "failed",
      fromVersion: "1.0.0",
      toVersion: "2.0.0",
      steps: [],
      error: "test step failed",
    };
    const stored = async () => (await t.hub.store.getAgent("a1"))?.apps.map((a) => `${a.app} ${a.state}`);
    const undone = new Error("rolled back after the report was handled");
    await expect(
      t.hub.engine.run(async (dispatch) => {
        await sync.reportsIn(dispatch, [{ agentId: "a1", report }]);
        throw undone;
      }),
    ).rejects.toBe(undone);
    expect(await stored()).toEqual(["api ok"]);
    expect(said).toEqual([]);
    await t.hub.engine.run((dispatch) => sync.reportsIn(dispatch, [{ agentId: "a1", report }]));
    expect(await stored()).toEqual(["api failed"]);
    expect(said).toEqual([expect.stringMatching(/^a1: report .*: app "web" taken as "api"/)]);
  });
});
