/**
 * Two live connections with one agent id (two hosts sharing an id: a VM cloned with its
 * /etc/machine-id). The hub used to let each newcomer replace the other, so both hosts carried out
 * the hub's instructions in turn and both reported on one deployment. A connection of an id whose
 * current connection still answers a ping is refused (409, said to the agent and on the attention
 * list); one whose current connection is gone without a word (its host rebooted, lost its network)
 * still takes its place. From the address the connected one uses, the refusal names a second
 * `ship agent` on that host first (two daemons with their own config or state directory and one
 * agent id read as "two hosts?" alone). Real hub (in process) over real WebSocket.
 */

import { afterEach, describe, expect, it } from "vitest";
import { WebSocket } from "ws";
import { isType, publishRelease, startTestHub, TestAgent, type TestHub } from "./support.js";

let hub: TestHub | undefined;
const sockets: WebSocket[] = [];
afterEach(async () => {
  for (const ws of sockets.splice(0)) ws.terminate();
  await hub?.stop();
  hub = undefined;
});

async function connect(t: TestHub, id: string, token: string, autoPong = true): Promise<TestAgent> {
  const agent = await TestAgent.connect(t.hub.url, token, { autoPong });
  sockets.push(agent.ws);
  agent.hello(id);
  await expect.poll(() => t.hub.registry.isOnline(id), { timeout: 10_000 }).toBe(true);
  return agent;
}

/**
 * Opens the agent channel (from `localAddress`, another loopback address standing for another
 * host) and resolves with the hub's HTTP refusal (status and reason), or "opened".
 */
function attempt(
  t: TestHub,
  token: string,
  localAddress?: string,
): Promise<{ status: number; reason: string } | "opened"> {
  const ws = new WebSocket(`${t.hub.url.replace(/^http/, "ws")}/api/v1/agent`, {
    headers: { authorization: `Bearer ${token}` },
    ...(localAddress === undefined ? {} : { localAddress }),
  });
  sockets.push(ws);
  return new Promise((resolve, reject) => {
    ws.once("open", () => resolve("opened"));
    ws.once("unexpected-response", (_req, res) => {
      resolve({ status: res.statusCode ?? 0, reason: String(res.headers["x-ship-refused"] ?? "") });
      ws.terminate();
    });
    ws.once("error", (error) => {
      if (!/Unexpected server response|closed before the connection/.test(error.message)) reject(error);
    });
  });
}

describe("two live connections with one agent id", () => {
  it("the second is refused while the first answers; only the first is sent the release", async () => {
    const t = await startTestHub();
    hub = t;
    const v2 = await publishRelease(t, "2.0.0");
    const token = await t.agentToken("web-1");
    const first = await connect(t, "web-1", token);
    const held = t.hub.registry.socketOf("web-1");

    // From the address the connected one uses: a second `ship agent` on that host is named first
    // (it read "two hosts with one agent id?" alone, and the operator looked for a cloned VM).
    const refused = await attempt(t, token);
    expect(refused).toEqual({
      status: 409,
      reason:
        "agent web-1 is connected already from 127.0.0.1 (host web-1) and answering: a second ship agent on that host, or two hosts with one agent id? Give each its own [hub] agent_id",
    });
    // From another address: another host.
    expect(await attempt(t, token, "127.0.0.2")).toEqual({
      status: 409,
      reason:
        "agent web-1 is connected already from 127.0.0.1 (host web-1) and answering: two hosts with one agent id? Give each its own [hub] agent_id",
    });
    // The first connection is untouched: still the agent's, still sent its instructions.
    expect(t.hub.registry.socketOf("web-1")).toBe(held);
    expect(first.ws.readyState).toBe(WebSocket.OPEN);
    await t.api("POST", "/api/v1/rollouts", {
      token: t.operator,
      body: { release: v2, waves: [{ name: "all", percent: 100 }] },
    });
    expect((await first.next(isType("deploy"))).release.id).toBe(v2);

    // The operator sees it at the hub, not only in the second host's log.
    const attention = await t.api<{ refused: { agentId: string; reason: string; count: number }[] }>(
      "GET",
      "/api/v1/agents/attention",
      { token: t.operator },
    );
    expect(attention.body.refused).toEqual([
      expect.objectContaining({
        agentId: "web-1",
        count: 1,
        reason: expect.stringContaining("two hosts with one agent id"),
      }),
    ]);
  });

  it("the refusal keeps its advice for an agent named by the default agent_id (its /etc/machine-id)", async () => {
    // The default agent_id is the host's /etc/machine-id, 32 characters, and the hello's hostname
    // here is as long: the reason the agent reads (the X-Ship-Refused header, cut at 200) lost
    // "Give each its own [hub] agent_id" and half the question, the words the operator acts on.
    const t = await startTestHub();
    hub = t;
    const id = "3f2a9c4e1b7d48e6a0c5f19d2e8b7a61";
    const token = await t.agentToken(id);
    await connect(t, id, token);
    const refused = await attempt(t, token);
    expect(refused).toMatchObject({ status: 409 });
    expect((refused as { reason: string }).reason).toMatch(
      /a second ship agent on that host, or two hosts with one agent id\? Give each its own \[hub\] agent_id$/,
    );
  });

  it("names an IPv4 peer of a hub listening on :: by its IPv4 address, not ::ffff:A.B.C.D", async () => {
    // A dual-stack socket hears an IPv4 peer as ::ffff:127.0.0.1: the reason showed that form,
    // which the operator's `ip addr` on the host never prints.
    const t = await startTestHub({ host: "::" });
    hub = t;
    const ipv4 = { ...t, hub: { ...t.hub, url: `http://127.0.0.1:${new URL(t.hub.url).port}` } } as TestHub;
    const token = await t.agentToken("web-1");
    await connect(ipv4, "web-1", token);
    expect(await attempt(ipv4, token)).toEqual({
      status: 409,
      reason:
        "agent web-1 is connected already from 127.0.0.1 (host web-1) and answering: a second ship agent on that host, or two hosts with one agent id? Give each its own [hub] agent_id",
    });
  });

  it("a first connection that no longer answers (its host gone) is replaced by the reconnect", async () => {
    const t = await startTestHub();
    hub = t;
    const token = await t.agentToken("web-1");
    // Half-open: the socket stays open at the hub, but nothing answers its pings.
    const gone = await connect(t, "web-1", token, false);
    const closed = new Promise<number>((resolve) => gone.ws.once("close", (code) => resolve(code)));
    const back = await TestAgent.connect(t.hub.url, token);
    sockets.push(back.ws);
    back.hello("web-1");
    expect(await closed).toBe(4000);
    await expect.poll(() => t.hub.registry.isOnline("web-1"), { timeout: 10_000 }).toBe(true);
    expect(back.ws.readyState).toBe(WebSocket.OPEN);
  });

  it("a token revoked while the first is probed is refused 401 when the probe ends; the first keeps its place", async () => {
    const t = await startTestHub();
    hub = t;
    // Half-open: the probe waits its whole 2 s, then would let the newcomer replace it. The token
    // was checked before that wait only: one revoked meanwhile opened the channel, its hello took
    // the agent's place and the hub's instructions went to it until the next session check.
    const gone = await connect(t, "web-1", await t.agentToken("web-1"), false);
    const held = t.hub.registry.socketOf("web-1");
    const stolen = await t.agentToken("web-1");
    const probed = new Promise<void>((resolve) => gone.ws.once("ping", () => resolve()));
    const outcome = attempt(t, stolen);
    await probed;
    const jti = (
      JSON.parse(Buffer.from(stolen.split(".")[1] as string, "base64url").toString()) as { jti: string }
    ).jti;
    expect(await t.hub.tokens.revoke(jti)).toBe(true);
    expect(await outcome).toEqual({ status: 401, reason: "token revoked" });
    expect(t.hub.registry.socketOf("web-1")).toBe(held);
    expect(gone.ws.readyState).toBe(WebSocket.OPEN);
  });
});
