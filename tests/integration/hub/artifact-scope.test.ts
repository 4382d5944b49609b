/** An agent token downloads only artifacts of releases the hub has sent that agent. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isType, manifestText, startTestHub, TestAgent, type TestHub } from "./support.js";

let t: TestHub;
beforeAll(async () => {
  t = await startTestHub();
});
afterAll(async () => {
  await t.stop();
});

async function upload(body: string): Promise<string> {
  const res = await fetch(`${t.hub.url}/api/v1/artifacts`, {
    method: "PUT",
    headers: { authorization: `Bearer ${t.ci}`, "content-type": "application/octet-stream" },
    body,
  });
  return ((await res.json()) as { sha256: string }).sha256;
}

const download = (token: string, sha256: string) =>
  fetch(`${t.hub.url}/api/v1/artifacts/${sha256}`, { headers: { authorization: `Bearer ${token}` } });

describe("GET /artifacts/:sha256 with an agent token", () => {
  it("serves the artifact of a release sent to this agent, and nothing else", async () => {
    const web = await upload("web release bytes");
    const secret = await upload("another app's release bytes");
    const release = await t.api<{ id: string }>("POST", "/api/v1/releases", {
      token: t.ci,
      body: {
        app: "web",
        version: "2.0.0",
        manifest: manifestText("2.0.0"),
        source: { type: "hub", sha256: web },
      },
    });
    await t.api("POST", "/api/v1/releases", {
      token: t.ci,
      body: {
        app: "payroll",
        version: "1.0.0",
        manifest: manifestText("1.0.0"),
        source: { type: "hub", sha256: secret },
      },
    });
    const a1Token = await t.agentToken("a1");
    const a2Token = await t.agentToken("a2");
    const a1 = await TestAgent.connect(t.hub.url, a1Token);
    a1.hello("a1");
    const a2 = await TestAgent.connect(t.hub.url, a2Token);
    a2.hello("a2");

    // Before any rollout, a1 has been sent nothing.
    expect((await download(a1Token, web)).status).toBe(403);
    const rollout = await t.api("POST", "/api/v1/rollouts", {
      token: t.operator,
      body: { release: release.body.id, waves: [{ name: "only-a1", agents: ["a1"] }] },
    });
    expect(rollout.status).toBe(201);
    await a1.next(isType("deploy"));

    const sent = await download(a1Token, web);
    expect(sent.status).toBe(200);
    expect(await sent.text()).toBe("web release bytes");
    const other = await download(a1Token, secret);
    expect(other.status).toBe(403);
    expect(((await other.json()) as { error: string }).error).toMatch(/no release this agent was sent/);
    expect((await download(a2Token, web)).status).toBe(403);
    // Operators and CI are not limited.
    expect((await download(t.operator, secret)).status).toBe(200);
    a1.ws.close();
    a2.ws.close();
  });

  it("a release id the agent claims to run reaches no artifact: not another app's, not its own app's before a rollback sends it", async () => {
    const shop = await upload("shop 3.0.0 bytes");
    const secret = await upload("ledger's release bytes");
    const newer = await upload("shop 9.0.0 bytes, not rolled out yet");
    const publish = async (app: string, version: string, sha256: string) =>
      (
        await t.api<{ id: string }>("POST", "/api/v1/releases", {
          token: t.ci,
          body: { app, version, manifest: manifestText(version), source: { type: "hub", sha256 } },
        })
      ).body.id;
    const release = await publish("shop", "3.0.0", shop);
    const ledger = await publish("ledger", "1.0.0", secret);
    const unreleased = await publish("shop", "9.0.0", newer);

    const claims = [
      { agent: "liar-1", releaseId: ledger, sha256: secret },
      { agent: "liar-2", releaseId: unreleased, sha256: newer },
    ];
    for (const { agent: id, releaseId, sha256 } of claims) {
      const token = await t.agentToken(id);
      const agent = await TestAgent.connect(t.hub.url, token);
      // The hello says this host runs shop from that release: the hub's previous release for it.
      agent.hello(id, [{ app: "shop", version: "1.0.0", state: "up_to_date", releaseId }]);
      await expect.poll(async () => (await t.hub.store.getAgent(id))?.online, { timeout: 10_000 }).toBe(true);
      const rollout = await t.api<{ id: string }>("POST", "/api/v1/rollouts", {
        token: t.operator,
        body: { release, waves: [{ name: "one", agents: [id] }] },
      });
      expect(rollout.status).toBe(201);
      await agent.next(isType("deploy"));
      expect((await download(token, shop)).status).toBe(200);
      const claimed = await download(token, sha256);
      expect(claimed.status).toBe(403);
      expect(((await claimed.json()) as { error: string }).error).toMatch(/no release this agent was sent/);
      await t.api("POST", `/api/v1/rollouts/${rollout.body.id}/abort`, { token: t.operator, body: {} });
      agent.ws.close();
    }
  });

  it("the previous release of its app is served once a rollback sends it back there", async () => {
    const older = await upload("rb 1.0.0 bytes");
    const bad = await upload("rb 2.0.0 bytes");
    const publish = async (version: string, sha256: string) =>
      (
        await t.api<{ id: string }>("POST", "/api/v1/releases", {
          token: t.ci,
          body: { app: "rb", version, manifest: manifestText(version), source: { type: "hub", sha256 } },
        })
      ).body.id;
    const first = await publish("1.0.0", older);
    const second = await publish("2.0.0", bad);
    const token = await t.agentToken("rb-1");
    const agent = await TestAgent.connect(t.hub.url, token);
    agent.hello("rb-1", [{ app: "rb", version: "1.0.0", state: "up_to_date", releaseId: first }]);
    await expect
      .poll(async () => (await t.hub.store.getAgent("rb-1"))?.online, { timeout: 10_000 })
      .toBe(true);
    const rollout = await t.api<{ id: string }>("POST", "/api/v1/rollouts", {
      token: t.operator,
      body: { release: second, waves: [{ name: "one", agents: ["rb-1"] }] },
    });
    const deploy = await agent.next(isType("deploy"));
    expect(deploy.release.id).toBe(second);
    const aborted = await t.api("POST", `/api/v1/rollouts/${rollout.body.id}/abort`, {
      token: t.operator,
      body: { rollback: true },
    });
    expect(aborted.status).toBe(200);
    const back = await agent.next(
      (m): m is Extract<typeof m, { type: "deploy" }> => m.type === "deploy" && m.rollback,
    );
    expect(back.release.id).toBe(first);
    const served = await download(token, older);
    expect(served.status).toBe(200);
    expect(await served.text()).toBe("rb 1.0.0 bytes");
    agent.ws.close();
  });
});
