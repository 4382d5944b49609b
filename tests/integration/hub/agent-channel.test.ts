import { randomUUID } from "node:crypto";
import { request } from "node:http";
import { connect } from "node:net";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { WebSocket } from "ws";
import { isType, manifestText, startTestHub, TestAgent, type TestHub } from "./support.js";

let t: TestHub;
beforeEach(async () => {
  t = await startTestHub({ pingIntervalMs: 60_000, maxPayloadBytes: 16 << 10, maxBufferedBytes: 256 << 10 });
});
afterEach(async () => {
  await t.stop();
});

/** Replaces the hub with one pinging this often (short intervals only where a test is about pings). */
async function withPingInterval(ms: number) {
  await t.stop();
  t = await startTestHub({ pingIntervalMs: ms });
}

/** Attempts an upgrade and returns the HTTP status the hub answered with instead of 101. */
function upgradeStatus(headers: Record<string, string>, path = "/api/v1/agent"): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(`${t.hub.url}${path}`, {
      headers: {
        connection: "Upgrade",
        upgrade: "websocket",
        "sec-websocket-version": "13",
        "sec-websocket-key": Buffer.from(randomUUID().slice(0, 16)).toString("base64"),
        ...headers,
      },
    });
    req.on("upgrade", (res, socket) => {
      socket.destroy();
      resolve(res.statusCode ?? 0);
    });
    req.on("response", (res) => resolve(res.statusCode ?? 0));
    req.on("error", reject);
    req.end();
  });
}

async function stillServes() {
  expect((await t.api("GET", "/healthz")).status).toBe(200);
  const agent = await TestAgent.connect(t.hub.url, await t.agentToken("healthy"));
  agent.hello("healthy");
  agent.send({ type: "progress", deploymentId: "none", step: "x" });
  agent.ws.close();
}

describe("agent WebSocket channel", () => {
  it("refuses unauthenticated, invalid, revoked and non-agent upgrades with an HTTP status before upgrading", async () => {
    expect(await upgradeStatus({})).toBe(401);
    expect(await upgradeStatus({ authorization: "Bearer not.a.token" })).toBe(401);
    const { token, record } = await t.hub.tokens.issue({ role: "agent", agentId: "r", ttlSeconds: 60 });
    t.hub.tokens.revoke(record.jti);
    expect(await upgradeStatus({ authorization: `Bearer ${token}` })).toBe(401);
    expect(await upgradeStatus({ authorization: `Bearer ${t.operator}` })).toBe(403);
    expect(await upgradeStatus({ authorization: `Bearer ${await t.agentToken("a")}` }, "/elsewhere")).toBe(
      404,
    );
    expect(await upgradeStatus({ authorization: `Bearer ${await t.agentToken("a")}` })).toBe(101);
  });

  it("delivers a deploy on hello, takes progress and reports, and acks every report (resends too)", async () => {
    const release = await t.api<{ id: string }>("POST", "/api/v1/releases", {
      token: t.ci,
      body: {
        app: "web",
        version: "2.0.0",
        manifest: manifestText("2.0.0"),
        source: { type: "git", commit: "abcdef1" },
      },
    });
    const agent = await TestAgent.connect(t.hub.url, await t.agentToken("a1"));
    agent.hello("a1");
    await expect
      .poll(
        async () =>
          (await t.api<{ agents: unknown[] }>("GET", "/api/v1/agents", { token: t.operator })).body.agents
            .length,
      )
      .toBe(1);
    const created = await t.api<{ id: string }>("POST", "/api/v1/rollouts", {
      token: t.operator,
      body: { release: release.body.id, waves: [{ name: "all", percent: 100 }] },
    });
    expect(created.status).toBe(201);
    const deploy = await agent.next(isType("deploy"));
    expect(deploy).toMatchObject({
      app: "web",
      rollback: false,
      release: { version: "2.0.0", source: { type: "git" } },
    });
    agent.send({ type: "progress", deploymentId: deploy.deploymentId, step: "fetch", percent: 10 });
    const report = {
      type: "report",
      reportId: randomUUID(),
      deploymentId: deploy.deploymentId,
      app: "web",
      releaseId: release.body.id,
      outcome: "succeeded",
      fromVersion: "1.0.0",
      toVersion: "2.0.0",
      steps: [{ name: "fetch", ok: true, ms: 5 }],
      merges: [
        { file: "config.toml", kept: ["server.port"], added: ["server.workers"], updated: [], removed: [] },
      ],
    };
    agent.send(report);
    expect(await agent.next(isType("ack"))).toMatchObject({ reportId: report.reportId });
    agent.send(report);
    expect(await agent.next(isType("ack"))).toMatchObject({ reportId: report.reportId });
    type Shown = { state: string; waves: { agents: { state: string }[] }[] };
    const show = () => t.api<Shown>("GET", `/api/v1/rollouts/${created.body.id}`, { token: t.operator });
    // Completion is decided by the engine's tick (50 ms here), not by the report itself.
    await expect.poll(async () => (await show()).body.state, { timeout: 10_000 }).toBe("completed");
    const shown = await show();
    expect(shown.body.waves[0]?.agents[0]?.state).toBe("succeeded");
    const detail = await t.api<{ reports: { payload: unknown }[]; apps: { version: string }[] }>(
      "GET",
      "/api/v1/agents/a1",
      { token: t.operator },
    );
    expect(detail.body.reports).toHaveLength(1);
    // The merge report is stored with the report and served by the API as the agent sent it.
    expect(detail.body.reports[0]?.payload).toMatchObject({
      merges: [{ file: "config.toml", kept: ["server.port"], added: ["server.workers"], warnings: [] }],
    });
    expect(detail.body.apps[0]?.version).toBe("2.0.0");
    agent.ws.close();
  });

  it("answers schema-invalid messages with an error and closes on non-JSON with 1008; the hub keeps serving", async () => {
    const agent = await TestAgent.connect(t.hub.url, await t.agentToken("m1"));
    // One line naming every bad field in our words, as the HTTP 400s say it; never zod's own.
    agent.send({ type: "report", reportId: "not-a-uuid" });
    const bad = (await agent.next(isType("error"))).message;
    expect(bad).toMatch(/^message\.reportId: must be a valid uuid; message\.app: is required; /);
    expect(bad).toMatch(
      /message\.outcome: is required \(one of succeeded, failed, rolled_back, restore_failed, skipped\)/,
    );
    agent.send({ type: "reprot", v: 1 });
    expect((await agent.next(isType("error"))).message).toBe(
      'message.type: unknown type "reprot" (expected hello, progress, report)',
    );
    agent.send([1, 2]);
    expect((await agent.next(isType("error"))).message).toBe("message: must be a mapping (got a list)");
    expect(bad).not.toMatch(/Invalid|expected .*, received|Required/);
    expect(bad.split("\n")).toHaveLength(1);
    agent.send({ type: "progress", deploymentId: "x", step: "y" });
    expect((await agent.next(isType("error"))).message).toBe("send hello first");
    const closed = agent.closed();
    agent.ws.send("{not json");
    expect((await closed).code).toBe(1008);
    await stillServes();
  });

  it("refuses a hello for another agent than the token's", async () => {
    const agent = await TestAgent.connect(t.hub.url, await t.agentToken("me"));
    const closed = agent.closed();
    agent.hello("someone-else");
    expect((await closed).code).toBe(1008);
  });

  it("issues no token for an agent id its hello would refuse (one rule: shared/protocol/agent-id.ts)", async () => {
    for (const bad of ["web 1", "a:b", "h".repeat(201)])
      await expect(t.hub.tokens.issue({ role: "agent", agentId: bad, ttlSeconds: 60 })).rejects.toThrow(
        /^agent id ".*" (is 201 characters long: )?must be 1 to 200 characters: letters, digits/,
      );
    // The longest id the rule allows is issued a token and says hello.
    const longest = "h".repeat(200);
    const agent = await TestAgent.connect(t.hub.url, await t.agentToken(longest));
    agent.hello(longest);
    await expect.poll(() => t.hub.registry.isOnline(longest), { timeout: 10_000 }).toBe(true);
    agent.ws.terminate();
  });

  it("closes on an oversize message (1009) and the hub keeps serving", async () => {
    const agent = await TestAgent.connect(t.hub.url, await t.agentToken("big"));
    const closed = agent.closed();
    agent.send({ type: "hello", agentId: "big", hostname: "x".repeat(100_000), agentVersion: "1" });
    expect((await closed).code).toBe(1009);
    await stillServes();
  });

  it("terminates a peer that stops answering pings within two ping intervals", async () => {
    await withPingInterval(100);
    const agent = await TestAgent.connect(t.hub.url, await t.agentToken("silent"), { autoPong: false });
    agent.hello("silent");
    const started = Date.now();
    await agent.closed();
    // Two 100-ms intervals; the margin is for a loaded machine's late timers (250 ms was all it had).
    // Without the ping check the hub never closes it: the wait above would hang to the test's timeout.
    expect(Date.now() - started).toBeLessThan(2 * 100 + 3_000);
    await expect
      .poll(
        async () =>
          (await t.api<{ online: boolean }>("GET", "/api/v1/agents/silent", { token: t.operator })).body
            .online,
      )
      .toBe(false);
  });

  it("keeps a peer that answers pings", async () => {
    // Generous interval: a loaded test machine must not delay a pong past it.
    await withPingInterval(300);
    const agent = await TestAgent.connect(t.hub.url, await t.agentToken("lively"));
    agent.hello("lively");
    await new Promise((r) => setTimeout(r, 1000));
    expect(agent.ws.readyState).toBe(WebSocket.OPEN);
    await expect.poll(() => t.hub.registry.isOnline("lively"), { timeout: 10_000 }).toBe(true);
    expect((await t.api("POST", "/api/v1/agents/lively/check", { token: t.operator })).status).toBe(202);
    expect(await agent.next(isType("check_now"))).toMatchObject({ type: "check_now" });
    agent.ws.close();
  });

  it("drops a slow reader instead of buffering without bound", async () => {
    // A raw socket that completes the handshake, says hello, then never reads again.
    const url = new URL(t.hub.url);
    const socket = connect(Number(url.port), url.hostname);
    await new Promise<void>((resolve) => socket.once("connect", resolve));
    socket.write(
      `GET /api/v1/agent HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n` +
        `Sec-WebSocket-Key: ${Buffer.from("0123456789abcdef").toString("base64")}\r\nAuthorization: Bearer ${await t.agentToken("slow")}\r\n\r\n`,
    );
    await new Promise<void>((resolve) => socket.once("data", () => resolve()));
    const payload = Buffer.from(
      JSON.stringify({ type: "hello", agentId: "slow", hostname: "s", agentVersion: "1" }),
    );
    const mask = Buffer.from([1, 2, 3, 4]);
    const masked = Buffer.from(payload.map((b, i) => b ^ mask[i % 4]!));
    socket.write(Buffer.concat([Buffer.from([0x81, 0x80 | payload.length]), mask, masked]));
    socket.pause();
    await expect.poll(() => t.hub.registry.isOnline("slow"), { timeout: 10_000 }).toBe(true);
    const big = { type: "error" as const, v: 1 as const, message: "x".repeat(64 << 10) };
    let sent = 0;
    let maxBuffered = 0;
    for (let i = 0; i < 2000 && t.hub.registry.send("slow", big); i++) {
      sent++;
      for (const [id, ws] of t.hub.registry.all())
        if (id === "slow") maxBuffered = Math.max(maxBuffered, ws.bufferedAmount);
      if (i % 20 === 0) await new Promise((r) => setImmediate(r));
    }
    expect(sent).toBeLessThan(2000);
    expect(maxBuffered).toBeLessThanOrEqual((256 << 10) + (65 << 10));
    await expect.poll(() => t.hub.registry.isOnline("slow"), { timeout: 10_000 }).toBe(false);
    socket.destroy();
    await stillServes();
  });
});
