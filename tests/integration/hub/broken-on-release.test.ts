/**
 * A host whose update to a release failed and was left in place (its release's auto_rollback_on
 * kept 2.0.0) runs that release, broken. A later rollout of the same release counted it as
 * `succeeded` at once ("already on the release"), and the agent would have answered an instruction
 * with "already on that version" too: the rollout completed with no failure and `--watch` exited
 * 0 while the host still failed its checks. Real hub (in process) over real WebSocket.
 */
import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import type { HubMessage } from "../../../shared/protocol/messages.js";
import { hubPerTest, isType, publishRelease, reportAcked, TestAgent, type TestHub } from "./support.js";

const isDeploy = isType("deploy");
const session = hubPerTest();

type View = {
  state: string;
  reason: string | null;
  warnings?: string[];
  waves: { agents: { agentId: string; state: string; error: string | null }[] }[];
};

const agentsOf = (v: View) => Object.fromEntries(v.waves.flatMap((w) => w.agents.map((a) => [a.agentId, a])));

async function create(t: TestHub, release: string) {
  return t.api<View & { id: string }>("POST", "/api/v1/rollouts", {
    token: t.operator,
    body: { release, waves: [{ name: "all", percent: 100 }], failureThreshold: { count: 5 } },
  });
}

describe("a host left on a release by a failed update", () => {
  it("counts as failed, not updated, in a later rollout of that release (said before it starts)", async () => {
    const t = await session.start();
    await publishRelease(t, "1.0.0");
    const release = await publishRelease(t, "2.0.0");
    const a1 = await session.connect(t, "a1", [
      { app: "web", version: "1.0.0", state: "updated", releaseId: undefined },
    ]);
    const a2 = await session.connect(t, "a2", [
      { app: "web", version: "1.0.0", state: "updated", releaseId: undefined },
    ]);
    const first = (await create(t, release)).body.id;
    // a1's post_update test fails and its release keeps 2.0.0 in place: the report names it installed.
    const deploy = await a1.next(isDeploy);
    const reportId = randomUUID();
    a1.send({
      type: "report",
      v: 1,
      reportId,
      deploymentId: deploy.deploymentId,
      app: "web",
      releaseId: release,
      outcome: "failed",
      fromVersion: "1.0.0",
      toVersion: "2.0.0",
      error: "post_update test failed; NOT rolled back (auto_rollback_on excludes it)",
      steps: [],
      installedReleaseId: release,
    });
    await a1.next(
      (m: HubMessage): m is Extract<HubMessage, { type: "ack" }> =>
        m.type === "ack" && m.reportId === reportId,
    );
    await reportAcked(a2, await a2.next(isDeploy), "succeeded");
    const view = async (id: string) =>
      (await t.api<View>("GET", `/api/v1/rollouts/${id}`, { token: t.operator })).body;
    await expect.poll(async () => (await view(first)).state, { timeout: 10_000 }).toBe("completed");
    // The fleet says what the host's next hello will say.
    const agent = await t.api<{ apps: { state: string; version: string }[] }>("GET", "/api/v1/agents/a1", {
      token: t.operator,
    });
    expect(agent.body.apps).toEqual([
      expect.objectContaining({ version: "2.0.0", state: "failed_not_rolled_back" }),
    ]);

    // The operator rolls the same release out again (say, to a host that joined since).
    const preview = await t.api<{ warnings: string[] }>("POST", "/api/v1/rollouts/preview", {
      token: t.operator,
      body: { release, waves: [{ name: "all", percent: 100 }] },
    });
    expect(preview.body.warnings).toContain(
      // The preview's default threshold (1 failure): a1 alone would halt it, which create does.
      "body.release: 1 agent(s) run web 2.0.0 already, but their last run of it failed: a1 (failed_not_rolled_back); they are not sent it again and count as failed, enough by themselves to halt the rollout (1 failure(s)) as it starts, before anything is sent",
    );
    const again = await create(t, release);
    expect(again.status).toBe(201);
    const second = again.body.id;
    await expect.poll(async () => (await view(second)).state, { timeout: 10_000 }).toBe("completed");
    const agents = agentsOf(await view(second));
    expect(agents.a1).toMatchObject({
      state: "failed",
      error:
        "not sent: the agent runs web 2.0.0 already, but its last run of it failed (failed_not_rolled_back); it would only answer that it is on that version. Repair the host (or abort --rollback to send it back), then roll out again",
    });
    expect(agents.a2).toMatchObject({ state: "succeeded" });
    expect((await view(second)).reason).toBe("1 agent(s) failed");
    expect(a1.received.filter((m) => m.type === "deploy")).toEqual([]);
  });

  it("as its hello says it, also halts a rollout of that release with the default threshold", async () => {
    const t = await session.start();
    await publishRelease(t, "1.0.0");
    const release = await publishRelease(t, "2.0.0");
    await session.connect(t, "a1", [
      { app: "web", version: "2.0.0", state: "failed_not_rolled_back", releaseId: release },
    ]);
    const a2 = await session.connect(t, "a2", [
      { app: "web", version: "1.0.0", state: "updated", releaseId: undefined },
    ]);
    const created = await t.api<View & { id: string }>("POST", "/api/v1/rollouts", {
      token: t.operator,
      body: { release, waves: [{ name: "all", percent: 100 }] },
    });
    expect(created.body.state).toBe("paused");
    expect(created.body.reason).toBe("failure threshold (1 failure(s)) reached: 1 failed when it halted");
    expect(agentsOf(created.body).a1?.state).toBe("failed");
    // Halted before anything was sent: a2 waits for the operator's decision.
    expect(a2.received.filter((m) => m.type === "deploy")).toEqual([]);
    await t.api("POST", `/api/v1/rollouts/${created.body.id}/resume`, { token: t.operator, body: {} });
    await a2.next(isDeploy);
  });
});

describe("warnings that count hosts broken on the release", () => {
  const preview = async (t: TestHub, body: Record<string, unknown>) =>
    (await t.api<{ warnings: string[] }>("POST", "/api/v1/rollouts/preview", { token: t.operator, body }))
      .body.warnings;
  /** web 1.0.0 and 2.0.0 published; a1 broken on 2.0.0, `onOld` on 1.0.0, `offline` of them gone. */
  async function fleet(onOld: string[], offline: string[] = []) {
    const t = await session.start();
    await publishRelease(t, "1.0.0");
    const release = await publishRelease(t, "2.0.0");
    await session.connect(t, "a1", [
      { app: "web", version: "2.0.0", state: "failed_not_rolled_back", releaseId: release },
    ]);
    for (const id of onOld) {
      const agent = await session.connect(t, id, [
        { app: "web", version: "1.0.0", state: "updated", releaseId: undefined },
      ]);
      if (!offline.includes(id)) continue;
      agent.ws.terminate();
      await expect
        .poll(async () => (await t.hub.store.getAgent(id))?.online, { timeout: 10_000 })
        .toBe(false);
    }
    return { t, release };
  }

  it("offline hosts that cross the threshold only with the broken ones are warned of, the broken named", async () => {
    const { t, release } = await fleet(["a2", "a3"], ["a2"]);
    const warnings = await preview(t, {
      release,
      waves: [{ name: "all", percent: 100 }],
      failureThreshold: { count: 2 },
    });
    expect(warnings).toContain(
      "body.failureThreshold: 1 of the 3 agent(s) it updates in the waves up to all are offline now (a2), and 1 more count as failed at once (their last run of the release failed: a1): if they stay away past the hub's offline timeout they count as failed, enough, with those, to halt the rollout (2 failure(s))",
    );
  });

  it("a wave whose hosts still to update are all offline is said so when its other host is broken on the release (it waits for the offline one alone)", async () => {
    const { t, release } = await fleet(["a2"], ["a2"]);
    const warnings = await preview(t, {
      release,
      waves: [{ name: "canary", agents: ["a1", "a2"] }],
      failureThreshold: { count: 5 },
    });
    expect(warnings).toContain(
      "body.waves[0] (canary): every agent of it still to update is offline now (a2): the wave waits for them, and each that stays away past the hub's offline timeout counts as failed",
    );
  });

  it("broken hosts enough by themselves to halt the rollout say so (create halts it before anything is sent)", async () => {
    const { t, release } = await fleet(["a2"]);
    const said = (where: string) =>
      `body.release: 1 agent(s) run web 2.0.0 already, but their last run of it failed: a1 (failed_not_rolled_back); they are not sent it again and count as failed, enough by themselves to halt the rollout (1 failure(s)) ${where}`;
    expect(await preview(t, { release, waves: [{ name: "all", percent: 100 }] })).toContain(
      said("as it starts, before anything is sent"),
    );
    expect(
      await preview(t, {
        release,
        waves: [
          { name: "canary", agents: ["a2"] },
          { name: "rest", agents: ["a1"] },
        ],
      }),
    ).toContain(said("once wave 2 (rest) starts"));
  });

  it("a percent threshold the broken hosts cross among those the rollout updates is said, and create halts on it", async () => {
    const { t, release } = await fleet(["a2"]);
    // a5 and a6 run 2.0.0 well: sent nothing, they cannot fail, so a1 is 1 failure of 2 (50 %), not of 4.
    for (const id of ["a5", "a6"])
      await session.connect(t, id, [{ app: "web", version: "2.0.0", state: "updated", releaseId: release }]);
    const body = { release, waves: [{ name: "all", percent: 100 }], failureThreshold: { percent: 50 } };
    expect(await preview(t, body)).toContain(
      "body.release: 1 agent(s) run web 2.0.0 already, but their last run of it failed: a1 (failed_not_rolled_back); they are not sent it again and count as failed, enough by themselves to halt the rollout (50% failed of the agents it updates) as it starts, before anything is sent",
    );
    const created = await t.api<{ state: string; reason: string | null }>("POST", "/api/v1/rollouts", {
      token: t.operator,
      body,
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ state: "paused" });
  });
});

describe("an agent owed a release that comes back broken on it", () => {
  it("is not found updated: it is sent the instruction again and its failure counts, the wave does not advance", async () => {
    const t = await session.start({ offlineTimeoutMs: 200 });
    await publishRelease(t, "1.0.0");
    const release = await publishRelease(t, "2.0.0");
    const onOld = [{ app: "web", version: "1.0.0", state: "updated", releaseId: undefined }];
    const a1 = await session.connect(t, "a1", onOld);
    const a2 = await session.connect(t, "a2", onOld);
    const id = (
      await t.api<{ id: string }>("POST", "/api/v1/rollouts", {
        token: t.operator,
        body: {
          release,
          waves: [
            { name: "canary", agents: ["a1"] },
            { name: "rest", percent: 100 },
          ],
          failureThreshold: { count: 2 },
          autoAdvance: true,
        },
      })
    ).body.id;
    const deploy = await a1.next(isDeploy);
    // The network drops mid-update; the update fails there and is left in place.
    a1.ws.terminate();
    const view = async () => (await t.api<View>("GET", `/api/v1/rollouts/${id}`, { token: t.operator })).body;
    await expect.poll(async () => agentsOf(await view()).a1?.state, { timeout: 10_000 }).toBe("timed_out");
    const back = await TestAgent.connect(t.hub.url, await t.agentToken("a1"));
    back.hello("a1", [{ app: "web", version: "2.0.0", state: "failed_not_rolled_back", releaseId: release }]);
    // Sent again (the agent answers with its stored report), not taken for updated.
    expect((await back.next(isDeploy)).deploymentId).toBe(deploy.deploymentId);
    await new Promise((r) => setTimeout(r, 300));
    expect(agentsOf(await view()).a1?.state).toBe("sent");
    expect(a2.received.filter((m) => m.type === "deploy")).toEqual([]);
    const events = await t.hub.store.listEvents({ limit: 100, subject: `${id}:a1` });
    expect(events.map((e) => e.kind)).not.toContain("deployment.succeeded");
    // The agent answers the instruction with the report of the update it carried out.
    await reportAcked(back, deploy, "failed");
    await expect
      .poll(async () => (await view()).reason)
      .toMatch(/^waiting for an operator: wave 1 \(canary\) finished with 0 of 1/);
    expect(a2.received.filter((m) => m.type === "deploy")).toEqual([]);
    back.ws.terminate();
  });
});

describe("a host broken on the release that joins a paused rollout of it", () => {
  it("is weighed against the threshold at once, not accepted by the next resume", async () => {
    const t = await session.start();
    await publishRelease(t, "1.0.0");
    const release = await publishRelease(t, "2.0.0");
    await session.connect(t, "a1", [
      { app: "web", version: "1.0.0", state: "updated", releaseId: undefined },
    ]);
    const id = (
      await t.api<{ id: string }>("POST", "/api/v1/rollouts", {
        token: t.operator,
        body: { release, waves: [{ name: "all", percent: 100 }] },
      })
    ).body.id;
    await t.api("POST", `/api/v1/rollouts/${id}/pause`, { token: t.operator, body: {} });
    // A host that registers now, running 2.0.0 left in place by a failed update.
    await session.connect(t, "late", [
      { app: "web", version: "2.0.0", state: "failed_not_rolled_back", releaseId: release },
    ]);
    const view = async () => (await t.api<View>("GET", `/api/v1/rollouts/${id}`, { token: t.operator })).body;
    await expect.poll(async () => agentsOf(await view()).late?.state, { timeout: 10_000 }).toBe("failed");
    await expect
      .poll(async () => (await view()).reason)
      .toBe(
        "failure threshold (1 failure(s)) reached: 1 failed when it halted (while paused by an operator)",
      );
  });
});
