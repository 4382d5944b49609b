/**
 * One agent id, one live agent process across the hubs of a cluster. Two hosts with one agent_id
 * (a VM cloned with its /etc/machine-id) behind a balancer reached two hubs; each hub saw no socket
 * of its own for the id, so both connections were kept and both hosts carried out every
 * instruction. The agent now names its process at the upgrade; another process is refused (409)
 * while the first is online on a live hub, and the same process moving to another hub is not.
 * Two real hubs in one process on a real PostgreSQL; the agents are the real HubConnection.
 */
import { afterEach, describe, expect, it } from "vitest";
import { WebSocket } from "ws";
import { HubConnection } from "../../../agent/daemon/hub-connection.js";
import { clusterPresenceCheck } from "../../../hub/cluster/presence.js";
import { openPostgresStore } from "../../../hub/store/postgres-store.js";
import { memoryLogger } from "../../../shared/log.js";
import { AGENT_INSTANCE_HEADER } from "../../../shared/protocol/messages.js";
import { hasPostgres } from "../../support/servers/postgres.js";
import type { TestHub } from "../hub/support.js";
import { inProcessHubs } from "./in-process-hubs.js";

describe.skipIf(!hasPostgres())("one agent process per agent id across hubs", () => {
  const cluster = inProcessHubs();
  const connections: HubConnection[] = [];
  afterEach(async () => {
    for (const c of connections.splice(0)) await c.stop();
  });

  const twoHubs = async () => (await cluster.start([{}, {}])).hubs as [TestHub, TestHub];

  /**
   * A real agent connection (as `ship agent` runs it) of process `instanceId`; its log lines.
   * `hubUrl`: the hub as the agent reaches it (another of its addresses).
   */
  async function agentProcess(
    hub: TestHub,
    agentId: string,
    instanceId: string,
    host: string,
    hubUrl = hub.hub.url,
  ) {
    const lines: { level: string; msg: string; data?: Record<string, unknown> }[] = [];
    const connection = new HubConnection({
      hubUrl,
      token: await hub.agentToken(agentId),
      hello: () => ({
        type: "hello",
        v: 1,
        agentId,
        hostname: host,
        labels: {},
        agentVersion: "t",
        apps: [],
      }),
      onMessage: () => {},
      log: memoryLogger(lines),
      instanceId,
      reconnectBaseMs: 60_000,
    });
    connections.push(connection);
    connection.start();
    return lines;
  }

  /** The refusal an agent process logged (status and reason), once it logged one. */
  const refusal = (lines: { msg: string; data?: Record<string, unknown> }[]) => () =>
    lines.find((l) => l.msg.startsWith("hub connection failed: the hub refused the connection"))?.data;

  const holder = async (hub: TestHub, agentId: string) => {
    const agent = await hub.hub.store.getAgent(agentId);
    return agent?.online ? agent.hostname : undefined;
  };

  it("refuses a second process with the agent id on another hub while the first is online there", async () => {
    const [a, b] = await twoHubs();
    const first = await agentProcess(a, "twin", "process-one-1111", "host-one");
    await expect.poll(() => holder(a, "twin"), { timeout: 10_000 }).toBe("host-one");
    const { epoch } = (await a.hub.store.getAgent("twin")) as unknown as { epoch?: number };

    const second = await agentProcess(b, "twin", "process-two-2222", "host-two");
    await expect.poll(refusal(second), { timeout: 10_000 }).toMatchObject({
      status: 409,
      // From the address the first connected from: most likely a second agent on that host,
      // as one hub says it (it read "two hosts with one agent id?" alone).
      reason: `agent twin is connected already from 127.0.0.1 (host host-one) to hub ${a.hub.hubId.slice(0, 8)}: a second ship agent on that host, or two hosts with one agent id? Give each its own [hub] agent_id`,
    });
    // The first keeps the agent: still online, on hub A, never replaced.
    expect(await holder(a, "twin")).toBe("host-one");
    expect(((await a.hub.store.getAgent("twin")) as unknown as { epoch?: number }).epoch).toBe(epoch);
    expect(a.hub.registry.isOnline("twin")).toBe(true);
    expect(b.hub.registry.isOnline("twin")).toBe(false);
    expect(first.filter((l) => l.msg.includes("refused the connection"))).toEqual([]);
  });

  it("asks about two hosts when the second process comes from another address", async () => {
    const [a, b] = await twoHubs();
    await agentProcess(a, "twin", "process-one-7777", "host-one");
    await expect.poll(() => holder(a, "twin"), { timeout: 10_000 }).toBe("host-one");
    const ws = new WebSocket(`${b.hub.url.replace(/^http/, "ws")}/api/v1/agent`, {
      headers: {
        authorization: `Bearer ${await b.agentToken("twin")}`,
        [AGENT_INSTANCE_HEADER]: "process-two-8888",
      },
      localAddress: "127.0.0.2",
    });
    const refused = await new Promise<{ status: number; reason: unknown }>((resolve, reject) => {
      ws.once("open", () => resolve({ status: 101, reason: undefined }));
      ws.once("unexpected-response", (_req, res) =>
        resolve({ status: res.statusCode ?? 0, reason: res.headers["x-ship-refused"] }),
      );
      ws.once("error", reject);
    });
    ws.terminate();
    expect(refused).toEqual({
      status: 409,
      reason: `agent twin is connected already from 127.0.0.1 (host host-one) to hub ${a.hub.hubId.slice(0, 8)}: two hosts with one agent id? Give each its own [hub] agent_id`,
    });
  });

  it("tells a second process on the first one's host as such when the hubs listen on :: and on an IPv4 address", async () => {
    // A cluster's hubs need not listen alike: one on `::` (dual stack) hears an IPv4 peer as
    // ::ffff:A.B.C.D, one on 0.0.0.0 or an IPv4 address hears it as A.B.C.D. The same host then
    // read as another, and the 409 sent the operator hunting for a cloned VM that does not exist.
    const { hubs } = await cluster.start([{ host: "::" }, {}]);
    const [a, b] = hubs as [TestHub, TestHub];
    await agentProcess(
      a,
      "twin",
      "process-one-5555",
      "host-one",
      `http://127.0.0.1:${new URL(a.hub.url).port}`,
    );
    await expect.poll(() => holder(a, "twin"), { timeout: 10_000 }).toBe("host-one");

    const second = await agentProcess(b, "twin", "process-two-6666", "host-one");
    await expect.poll(refusal(second), { timeout: 10_000 }).toMatchObject({
      status: 409,
      reason: `agent twin is connected already from 127.0.0.1 (host host-one) to hub ${a.hub.hubId.slice(0, 8)}: a second ship agent on that host, or two hosts with one agent id? Give each its own [hub] agent_id`,
    });
  });

  it("names the first process's address between its first hello and the recording of its process", async () => {
    // The hub records a process on its agent's row by a statement after the first hello made the
    // row; until it commits (or when it fails: "could not record an agent's process") the upgrade's
    // first claim holds the process. Driven here through the store in the hubs' order: a second
    // process in that window was told "two hosts with one agent id?" with no address, where one
    // hub names the first one's address and asks about a second agent on that host.
    const { url, hubs } = await cluster.start([{}, {}]);
    const [a, b] = hubs as [TestHub, TestHub];
    const store = await openPostgresStore(url);
    try {
      const upgradeAt = (hub: TestHub) => clusterPresenceCheck(store, hub.hub.hubId, 30_000);
      expect(await upgradeAt(a)("twin", "process-one-1212", "127.0.0.1")).toBeUndefined();
      const at = Date.now();
      await store.helloAgent(
        {
          id: "twin",
          hostname: "host-one",
          labels: {},
          agentVersion: "t",
          apps: [],
          online: true,
          lastSeen: at,
        },
        a.hub.hubId,
        at,
      );
      const asked = `agent twin is connected already from 127.0.0.1 (host host-one) to hub ${a.hub.hubId.slice(0, 8)}: `;
      expect(await upgradeAt(b)("twin", "process-two-3434", "127.0.0.1")).toBe(
        `${asked}a second ship agent on that host, or two hosts with one agent id? Give each its own [hub] agent_id`,
      );
      expect(await upgradeAt(b)("twin", "process-two-3434", "127.0.0.2")).toBe(
        `${asked}two hosts with one agent id? Give each its own [hub] agent_id`,
      );
    } finally {
      await store.close();
    }
  });

  it("keeps the refusal's advice for an agent named by the default agent_id (its /etc/machine-id)", async () => {
    // The hub was shortened to 8 characters so that the 200-character header keeps the advice;
    // with the default agent_id (32 characters) and a host's full name it is cut all the same.
    const [a, b] = await twoHubs();
    const id = "3f2a9c4e1b7d48e6a0c5f19d2e8b7a61";
    await agentProcess(a, id, "process-one-9999", "web-1.prod.example.com");
    await expect.poll(() => holder(a, id), { timeout: 10_000 }).toBe("web-1.prod.example.com");
    const second = await agentProcess(b, id, "process-two-9999", "web-1.prod.example.com");
    await expect.poll(refusal(second), { timeout: 10_000 }).toMatchObject({ status: 409 });
    const reason = refusal(second)()?.reason;
    expect(reason).toMatch(
      /a second ship agent on that host, or two hosts with one agent id\? Give each its own \[hub\] agent_id$/,
    );
  });

  it("lets the same process move to another hub, and an agent that names no process connect as before", async () => {
    const [a, b] = await twoHubs();
    await agentProcess(a, "mover", "process-mover-3333", "host-m");
    await expect.poll(() => holder(a, "mover"), { timeout: 10_000 }).toBe("host-m");
    // The same process on hub B (its socket to A not closed yet, as after a network blip).
    await agentProcess(b, "mover", "process-mover-3333", "host-m");
    await expect.poll(() => b.hub.registry.isOnline("mover"), { timeout: 10_000 }).toBe(true);

    // An older agent sends no instance header: nothing to compare, accepted as before.
    await agentProcess(a, "older", "process-older-4444", "host-o");
    await expect.poll(() => holder(a, "older"), { timeout: 10_000 }).toBe("host-o");
    const ws = new WebSocket(`${b.hub.url.replace(/^http/, "ws")}/api/v1/agent`, {
      headers: { authorization: `Bearer ${await b.agentToken("older")}` },
    });
    try {
      await new Promise<void>((resolve, reject) => {
        ws.once("open", () => resolve());
        ws.once("unexpected-response", (_req, res) => reject(new Error(`refused ${res.statusCode}`)));
        ws.once("error", reject);
      });
    } finally {
      ws.terminate();
    }
  });

  /** Opens the agent channel as process `instance` and sends nothing yet: the status the upgrade got. */
  async function upgrade(
    hub: TestHub,
    agentId: string,
    instance: string,
  ): Promise<{ status: number; ws: WebSocket }> {
    const ws = new WebSocket(`${hub.hub.url.replace(/^http/, "ws")}/api/v1/agent`, {
      headers: {
        authorization: `Bearer ${await hub.agentToken(agentId)}`,
        [AGENT_INSTANCE_HEADER]: instance,
      },
    });
    const status = await new Promise<number>((resolve, reject) => {
      ws.once("open", () => resolve(101));
      ws.once("unexpected-response", (_req, res) => resolve(res.statusCode ?? 0));
      ws.once("error", reject);
    });
    return { status, ws };
  }

  it("refuses the second of two clones whose very first connections reach two hubs before either said hello", async () => {
    const [a, b] = await twoHubs();
    // Two VMs cloned with one machine-id, booted together: no row for the id exists yet.
    const first = await upgrade(a, "clone", "process-first-5555");
    const second = await upgrade(b, "clone", "process-second-6666");
    try {
      expect(first.status).toBe(101);
      expect(second.status).toBe(409);
      // The first says hello and holds the agent; the second, trying again, is still refused.
      first.ws.send(
        JSON.stringify({
          type: "hello",
          v: 1,
          agentId: "clone",
          hostname: "host-first",
          labels: {},
          agentVersion: "t",
          apps: [],
        }),
      );
      await expect.poll(() => holder(a, "clone"), { timeout: 10_000 }).toBe("host-first");
      const again = await upgrade(b, "clone", "process-second-6666");
      again.ws.terminate();
      expect(again.status).toBe(409);
      // The same first process reconnecting (to either hub) is let in.
      const back = await upgrade(b, "clone", "process-first-5555");
      back.ws.terminate();
      expect(back.status).toBe(101);
    } finally {
      first.ws.terminate();
      second.ws.terminate();
    }
  });
});
