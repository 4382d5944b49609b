/**
 * The release id an agent's hello names is its word: the hub takes it as the app's current release
 * (and so as its rollback target) only when it is a release of that app.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Deploy, HubMessage } from "../../../shared/protocol/messages.js";
import { isType, manifestText, startTestHub, TestAgent, type TestHub } from "../hub/support.js";

let t: TestHub;
beforeAll(async () => {
  t = await startTestHub();
});
afterAll(async () => {
  await t.stop();
});

const publish = async (app: string, version: string) =>
  (
    await t.api<{ id: string }>("POST", "/api/v1/releases", {
      token: t.ci,
      body: { app, version, manifest: manifestText(version), source: { type: "git", commit: "abcdef1" } },
    })
  ).body.id;

describe("a release id claimed in a hello", () => {
  it("naming another app's release is not the app's rollback target: abort --rollback sends the app's own release of the version it runs", async () => {
    const own = await publish("web", "1.0.0");
    const next = await publish("web", "2.0.0");
    const foreign = await publish("ledger", "1.0.0");
    const agent = await TestAgent.connect(t.hub.url, await t.agentToken("claimer"));
    agent.hello("claimer", [{ app: "web", version: "1.0.0", state: "up_to_date", releaseId: foreign }]);
    await expect
      .poll(async () => (await t.hub.store.getAgent("claimer"))?.online, { timeout: 10_000 })
      .toBe(true);
    const rollout = await t.api<{ id: string }>("POST", "/api/v1/rollouts", {
      token: t.operator,
      body: { release: next, waves: [{ name: "one", agents: ["claimer"] }] },
    });
    expect(rollout.status).toBe(201);
    expect((await agent.next(isType("deploy"))).release.id).toBe(next);
    const aborted = await t.api("POST", `/api/v1/rollouts/${rollout.body.id}/abort`, {
      token: t.operator,
      body: { rollback: true },
    });
    expect(aborted.status).toBe(200);
    const back = await agent.next((m: HubMessage): m is Deploy => m.type === "deploy" && m.rollback);
    expect({ app: back.app, release: back.release.app, id: back.release.id }).toEqual({
      app: "web",
      release: "web",
      id: own,
    });
    agent.ws.close();
  });

  // The plan (nothing sent, succeeded at create) and the warnings read one rule for "runs it already".
  it.each([
    ["another app's release", "shop", async () => publish("ledger", "3.0.0")],
    ["a release this hub never had", "blog", async () => "not-a-release-of-this-hub"],
  ])(
    "naming %s at the release's version: the plan and the warnings agree that it runs the release already",
    async (_name, app, claim) => {
      const release = await publish(app, "3.0.0");
      const claimed = await claim();
      const agentId = `claims-for-${app}`;
      const agent = await TestAgent.connect(t.hub.url, await t.agentToken(agentId));
      agent.hello(agentId, [{ app, version: "3.0.0", state: "up_to_date", releaseId: claimed }]);
      await expect
        .poll(async () => (await t.hub.store.getAgent(agentId))?.online, { timeout: 10_000 })
        .toBe(true);
      const body = { release, waves: [{ name: "one", agents: [agentId] }] };
      const preview = await t.api<{ warnings: string[] }>("POST", "/api/v1/rollouts/preview", {
        token: t.operator,
        body,
      });
      const created = await t.api<{ id: string; state: string; warnings?: string[] }>(
        "POST",
        "/api/v1/rollouts",
        { token: t.operator, body },
      );
      expect(created.status).toBe(201);
      const said = `body.release: every one of the rollout's 1 agent(s) runs ${app} 3.0.0 already (${agentId}): the rollout sends nothing, tests nothing, and completes at once`;
      expect({
        planned: (await t.hub.store.getDeployment(`${created.body.id}:${agentId}`))?.state,
        state: created.body.state,
        preview: preview.body.warnings,
        created: created.body.warnings,
      }).toEqual({ planned: "succeeded", state: "completed", preview: [said], created: [said] });
      agent.ws.close();
    },
  );
});
