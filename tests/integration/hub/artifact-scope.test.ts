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
});
