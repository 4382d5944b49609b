/**
 * One agent token cannot make the hub store or do without bound through the channel itself:
 * connections and hellos per agent are rate-limited (each connect and close is two audit events,
 * kept for ever), and a connection that never says hello is not held.
 */
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { WebSocket } from "ws";
import type { HubMessage } from "../../../shared/protocol/messages.js";
import { isType, startTestHub, TestAgent, type TestHub } from "../hub/support.js";

let t: TestHub;
beforeAll(async () => {
  t = await startTestHub({ helloTimeoutMs: 500 });
});
afterAll(async () => {
  await t.stop();
});

/** Opens the agent channel: "open", or the HTTP status and X-Ship-Refused reason of a refusal. */
function connectOutcome(
  token: string,
): Promise<{ ws?: WebSocket; status?: number; reason?: string; retryAfter?: string }> {
  const ws = new WebSocket(`${t.hub.url.replace(/^http/, "ws")}/api/v1/agent`, {
    headers: { authorization: `Bearer ${token}` },
  });
  return new Promise((resolve, reject) => {
    ws.once("open", () => resolve({ ws }));
    ws.once("unexpected-response", (_req, res) => {
      resolve({
        status: res.statusCode ?? 0,
        reason: String(res.headers["x-ship-refused"] ?? ""),
        retryAfter: String(res.headers["retry-after"] ?? ""),
      });
      ws.terminate();
    });
    ws.once("error", (error) => {
      if (!error.message.includes("Unexpected server response")) reject(error);
    });
  });
}

const closeAndWait = (ws: WebSocket) =>
  new Promise<void>((resolve) => {
    ws.once("close", () => resolve());
    ws.close();
  });

describe("the agent channel bounds what one agent token can make the hub do", () => {
  it("connect, hello, close in a loop is refused past 30 a minute (429 saying why): the audit log does not grow with it", async () => {
    const token = await t.agentToken("looper");
    const outcomes: (number | "open")[] = [];
    for (let i = 0; i < 80; i++) {
      const { ws, status, reason, retryAfter } = await connectOutcome(token);
      if (!ws) {
        outcomes.push(status ?? 0);
        expect(reason).toBe("more than 30 connections a minute for this agent; try again later");
        // When the minute's budget is back: the rest of the minute, in seconds.
        expect(Number(retryAfter)).toBeGreaterThanOrEqual(1);
        expect(Number(retryAfter)).toBeLessThanOrEqual(60);
        continue;
      }
      outcomes.push("open");
      ws.send(
        JSON.stringify({
          type: "hello",
          v: 1,
          agentId: "looper",
          hostname: "h",
          agentVersion: "x",
          apps: [],
        }),
      );
      await new Promise((r) => setTimeout(r, 20));
      await closeAndWait(ws);
    }
    expect(outcomes.filter((o) => o === "open")).toHaveLength(30);
    expect(outcomes.filter((o) => o === 429)).toHaveLength(50);
    await expect
      .poll(async () => (await t.hub.store.listEvents({ subject: "looper", limit: 1000 })).length)
      .toBeLessThanOrEqual(60);
    // Its refusals are the operator's to see, as other refused connections are.
    const attention = await t.api<{ refused: { agentId: string; reason: string }[] }>(
      "GET",
      "/api/v1/agents/attention",
      { token: t.operator },
    );
    expect(attention.body.refused).toContainEqual(
      expect.objectContaining({
        agentId: "looper",
        reason: expect.stringMatching(/more than 30 connections/),
      }),
    );
    // Another agent is not held back by it.
    const other = await TestAgent.connect(t.hub.url, await t.agentToken("bystander"));
    other.hello("bystander");
    await expect.poll(() => t.hub.registry.isOnline("bystander"), { timeout: 10_000 }).toBe(true);
    other.ws.terminate();
  });

  it("hellos repeated on one connection count against the same budget: past it they are not taken", async () => {
    const agent = await TestAgent.connect(t.hub.url, await t.agentToken("chatty"));
    for (let i = 0; i < 40; i++)
      agent.send({ type: "hello", v: 1, agentId: "chatty", hostname: `h${i}`, agentVersion: "x", apps: [] });
    const refusal = await agent.next(isType("error"));
    expect(refusal.message).toBe("more than 30 hellos a minute; not taken");
    await new Promise((r) => setTimeout(r, 300));
    // The 30th hello is the last the hub stored.
    expect((await t.hub.store.getAgent("chatty"))?.hostname).toBe("h29");
    agent.ws.terminate();
  });

  it("a connection that says no hello is closed (1008) after the hello timeout", async () => {
    const agent = await TestAgent.connect(t.hub.url, await t.agentToken("silent"));
    const closed = await new Promise<{ code: number; reason: string }>((resolve) =>
      agent.ws.once("close", (code, reason) => resolve({ code, reason: reason.toString() })),
    );
    expect(closed).toEqual({ code: 1008, reason: "no hello within 1 s" });
  }, 5000);
});

describe("an agent message is bounded in keys, as a request body is", () => {
  it("a hello of 60,000 labels (under max_message_kb) closes the socket (1008) before it is parsed; nothing is stored", async () => {
    const big = await startTestHub({ maxPayloadBytes: 1 << 20 });
    try {
      const agent = await TestAgent.connect(big.hub.url, await big.agentToken("labelled"));
      const labels = Object.fromEntries(Array.from({ length: 60_000 }, (_, i) => [`k${i}`, "v"]));
      const closed = new Promise<{ code: number; reason: string }>((resolve) =>
        agent.ws.once("close", (code, reason) => resolve({ code, reason: reason.toString() })),
      );
      agent.send({
        type: "hello",
        v: 1,
        agentId: "labelled",
        hostname: "h",
        agentVersion: "x",
        apps: [],
        labels,
      });
      expect(await closed).toEqual({ code: 1008, reason: "message: more than 10000 keys" });
      expect(await big.hub.store.getAgent("labelled")).toBeUndefined();
      // An agent's ordinary hello still goes through.
      const again = await TestAgent.connect(big.hub.url, await big.agentToken("labelled"));
      again.hello("labelled", undefined, { ring: "canary" });
      await expect
        .poll(async () => (await big.hub.store.getAgent("labelled"))?.labels)
        .toEqual({ ring: "canary" });
      again.ws.terminate();
    } finally {
      await big.stop();
    }
  });
});

describe("what one agent's messages cost the hub is bounded", () => {
  it("a report of 30,000 wrong values (under max_message_kb) closes the socket before validation; /healthz answers meanwhile", async () => {
    const big = await startTestHub({ maxPayloadBytes: 1 << 20 });
    try {
      const agent = await TestAgent.connect(big.hub.url, await big.agentToken("wrong-values"));
      agent.hello("wrong-values");
      const closed = new Promise<{ code: number; reason: string }>((resolve) =>
        agent.ws.once("close", (code, reason) => resolve({ code, reason: reason.toString() })),
      );
      const numbers = Array.from({ length: 1000 }, () => 1);
      // CPU time, not the clock: on a loaded CI machine /healthz can wait for a core, which is not
      // work the hub did; validating the 30,000 wrong values is.
      const before = process.cpuUsage();
      agent.send({
        type: "report",
        v: 1,
        reportId: "00000000-0000-4000-8000-000000000000",
        app: "web",
        outcome: "succeeded",
        fromVersion: null,
        toVersion: null,
        merges: Array.from({ length: 10 }, () => ({
          file: "a",
          kept: numbers,
          added: numbers,
          updated: numbers,
        })),
      });
      const health = await big.api("GET", "/healthz");
      expect(health.status).toBe(200);
      expect(await closed).toEqual({ code: 1008, reason: "message: more than 20000 values" });
      const used = process.cpuUsage(before);
      expect((used.user + used.system) / 1000).toBeLessThan(1000);
    } finally {
      await big.stop();
    }
  });

  it("invalid messages are answered, the sixth in a minute closes the socket (1008)", async () => {
    const agent = await TestAgent.connect(t.hub.url, await t.agentToken("garbled"));
    agent.hello("garbled");
    const closed = new Promise<{ code: number; reason: string }>((resolve) =>
      agent.ws.once("close", (code, reason) => resolve({ code, reason: reason.toString() })),
    );
    for (let i = 0; i < 6; i++) agent.send({ type: "progress", v: 1, deploymentId: "", step: 5 });
    expect(await closed).toEqual({ code: 1008, reason: "more than 5 invalid messages a minute" });
    const answers = agent.received.filter(isType("error"));
    expect(answers).toHaveLength(5);
    expect(answers[0]?.message).toMatch(/^message\.deploymentId: .*; message\.step: must be a string/);
  });

  it("progress messages past 600 a minute are dropped, said once", async () => {
    const agent = await TestAgent.connect(t.hub.url, await t.agentToken("talkative"));
    agent.hello("talkative");
    for (let i = 0; i < 700; i++)
      agent.send({ type: "progress", v: 1, deploymentId: "r:talkative", step: "fetch", percent: i % 100 });
    const said = await agent.next(isType("error"));
    expect(said.message).toBe(
      "more than 600 progress messages a minute; the rest of this minute's are dropped",
    );
    await new Promise((r) => setTimeout(r, 300));
    expect(agent.received.filter(isType("error"))).toEqual([]);
    agent.ws.terminate();
  });
});

/** How many messages of `type` the hub has parsed from agents (its own Prometheus counter). */
async function parsedMessages(type: string): Promise<number> {
  const text = (await t.api<string>("GET", "/metrics")).body;
  const line = text
    .split("\n")
    .find((l) => l.startsWith(`ship_hub_ws_messages_total{direction="in",type="${type}"}`));
  return Number(line?.split(" ").at(-1) ?? 0);
}

describe("what one agent's messages make the hub read is bounded before it reads them", () => {
  it("past 755 messages a minute (what the per-kind budgets allow together) the rest are dropped unread, said once; a report then is not acked", async () => {
    const before = await parsedMessages("progress");
    const agent = await TestAgent.connect(t.hub.url, await t.agentToken("flooder"));
    agent.hello("flooder");
    for (let i = 0; i < 3000; i++)
      agent.send({ type: "progress", v: 1, deploymentId: "r:flooder", step: "fetch", percent: i % 100 });
    const reportId = randomUUID();
    agent.send({
      type: "report",
      v: 1,
      reportId,
      app: "web",
      outcome: "succeeded",
      fromVersion: "1.0.0",
      toVersion: "1.0.0",
    });
    await agent.next(
      (m): m is Extract<HubMessage, { type: "error" }> =>
        m.type === "error" &&
        m.message.includes("messages a minute; the rest of this minute's are dropped unread"),
    );
    await new Promise((r) => setTimeout(r, 500));
    // The hello was the first of the 755; without the bound all 3,000 were parsed (600 taken).
    expect((await parsedMessages("progress")) - before).toBe(754);
    const said = agent.received.filter(isType("error")).map((m) => m.message);
    expect(said).toEqual(["more than 600 progress messages a minute; the rest of this minute's are dropped"]);
    expect(agent.received.filter(isType("ack"))).toEqual([]);
    agent.ws.terminate();
  });

  it("past the bytes the budgets allow together (155 messages of max_message_kb, 600 progress messages) big messages are dropped unread", async () => {
    const agent = await TestAgent.connect(t.hub.url, await t.agentToken("bulky"));
    agent.hello("bulky");
    const before = await parsedMessages("report");
    // Each just under the test hub's 64 KiB max message; past the 120 reports a minute they are
    // refused ("not taken") after being read, and past ~14 MB in all not read at all.
    const log = "x".repeat(19_500);
    for (let i = 0; i < 400; i++)
      agent.send({
        type: "report",
        v: 1,
        reportId: randomUUID(),
        app: "web",
        outcome: "succeeded",
        fromVersion: "1.0.0",
        toVersion: "1.0.0",
        steps: ["fetch", "apply", "check"].map((name) => ({ name, ok: true, ms: 1, log })),
      });
    await agent.next(
      (m): m is Extract<HubMessage, { type: "error" }> =>
        m.type === "error" &&
        m.message === "more than 14 MB of messages a minute; the rest of this minute's are dropped unread",
      20_000,
    );
    await new Promise((r) => setTimeout(r, 500));
    const parsed = (await parsedMessages("report")) - before;
    expect(parsed).toBeGreaterThan(200);
    expect(parsed).toBeLessThan(260);
    agent.ws.terminate();
  });
});

describe("a rollout's labels are bounded as agents' are", () => {
  it("a selector label value of 1.5 MB is a 400 naming it, not a spec stored whole", async () => {
    const release = (
      await t.api<{ id: string }>("POST", "/api/v1/releases", {
        token: t.ci,
        body: {
          app: "bounded",
          version: "1.0.0",
          manifest: 'version: "1.0.0"\n',
          source: { type: "git", commit: "abcdef1" },
        },
      })
    ).body.id;
    const preview = await t.api("POST", "/api/v1/rollouts/preview", {
      token: t.operator,
      body: {
        release,
        selector: { labels: { ring: "x".repeat(1_500_000) } },
        waves: [
          { name: "a", labels: { ["k".repeat(101)]: "v" } },
          { name: "rest", percent: 100 },
        ],
      },
    });
    expect(preview.status).toBe(400);
    expect(preview.body.error).toMatch(
      /^body\.selector\.labels\.ring: a label value must be at most 200 characters; body\.waves\[0\]\.labels\.k{101}: invalid key: a label name must be at most 100 characters$/,
    );
  });
});
