/**
 * Two hubs in one process on one real PostgreSQL (cluster mode as `serve --database-url` runs it,
 * real WebSocket agents): presence epochs, the concurrent-advance refusal, the dead-hub sweep in
 * the claimed tick, presence seen across hubs, and a hub that loses its database closing its own
 * agents' sockets. The three-process cluster tests live in tests/integration/cluster/.
 */

import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import postgres from "postgres";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { HubOptions } from "../../../hub/server.js";
import type { Deploy } from "../../../shared/protocol/messages.js";
import { hasPostgres, type PostgresServer, startPostgres } from "../../support/servers/postgres.js";
import { freezeDatabase } from "../../support/servers/postgres-freeze.js";
import {
  deployOf,
  isType,
  manifestText,
  publishRelease,
  reportInstalled,
  startTestHub,
  TestAgent,
  type TestHub,
} from "./support.js";

const SECRET = "a-shared-secret-of-at-least-32-bytes-for-every-hub";

describe.skipIf(!hasPostgres())("cluster mode: two hubs on one PostgreSQL", () => {
  let pg: PostgresServer;
  let dir: string;
  let hubs: TestHub[] = [];
  const agents: TestAgent[] = [];

  beforeAll(async () => {
    pg = await startPostgres();
    dir = await mkdtemp(join(tmpdir(), "ship-cluster-mode-"));
  }, 60_000);
  afterEach(async () => {
    for (const a of agents.splice(0)) a.ws.terminate();
    for (const h of hubs) await h.stop();
    hubs = [];
  });
  afterAll(async () => {
    await pg?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  let url = "";
  async function cluster(n: number, overrides: Partial<HubOptions> = {}): Promise<TestHub[]> {
    url = await pg.createDatabase();
    for (let i = 0; i < n; i++)
      hubs.push(
        await startTestHub(
          {
            envSecret: SECRET,
            database: { url, file: "test", key: "" },
            tickIntervalMs: 100,
            ...overrides,
          },
          join(dir, `unused-${hubs.length}`),
        ),
      );
    return hubs.slice(-n);
  }

  async function connect(hub: TestHub, agentId: string): Promise<TestAgent> {
    const agent = await TestAgent.connect(hub.hub.url, await hub.agentToken(agentId));
    agents.push(agent);
    agent.hello(agentId);
    return agent;
  }

  /** Which hub the database says holds the agent. */
  const holder = async (agentId: string) => {
    const sql = postgres(url, { max: 1, onnotice: () => {} });
    try {
      const [row] = await sql`SELECT hub_id FROM agents WHERE id = ${agentId}`;
      return row?.hub_id as string | undefined;
    } finally {
      await sql.end();
    }
  };

  const online = async (hub: TestHub, agentId: string) =>
    (await hub.api<{ online: boolean }>("GET", `/api/v1/agents/${agentId}`, { token: hub.operator })).body
      .online;

  it("a socket that closes after its agent reconnected to another hub does not mark it offline", async () => {
    const [a, b] = (await cluster(2)) as [TestHub, TestHub];
    const first = await connect(a, "mover");
    await expect.poll(() => online(b, "mover"), { timeout: 10_000 }).toBe(true);
    // The agent reconnects to hub B (a new epoch) while its old socket on hub A is still open.
    await connect(b, "mover");
    await expect.poll(() => holder("mover"), { timeout: 10_000 }).toBe(b.hub.hubId);
    first.ws.close();
    await first.closed();
    // Hub A processed the close (its registry dropped the socket); the store still says online.
    await expect.poll(() => a.hub.registry.isOnline("mover"), { timeout: 10_000 }).toBe(false);
    await new Promise((r) => setTimeout(r, 300));
    expect(await online(a, "mover")).toBe(true);
    expect((await a.hub.store.getAgent("mover"))?.online).toBe(true);
    const offline = (await a.hub.store.listEvents({ limit: 100, subject: "mover" })).filter(
      (e) => e.kind === "agent.offline",
    );
    expect(offline).toEqual([]);
  });

  it("two concurrent advances of the same wave on two hubs: one 200, one 409 saying it moved", async () => {
    const [a, b] = (await cluster(2)) as [TestHub, TestHub];
    const release = await a.api<{ id: string }>("POST", "/api/v1/releases", {
      token: a.ci,
      body: {
        app: "web",
        version: "2.0.0",
        manifest: manifestText("2.0.0"),
        source: { type: "git", commit: "abcdef1" },
      },
    });
    // A rollout needs an agent to hold (one that holds nobody is a 400).
    await connect(b, "adv-1");
    await expect
      .poll(async () => (await a.hub.store.getAgent("adv-1"))?.online, { timeout: 10_000 })
      .toBe(true);
    const created = await a.api<{ id: string }>("POST", "/api/v1/rollouts", {
      token: a.operator,
      body: {
        release: release.body.id,
        waves: [
          { name: "one", percent: 10 },
          { name: "two", percent: 50 },
          { name: "three", percent: 100 },
        ],
      },
    });
    expect(created.status).toBe(201);
    const path = `/api/v1/rollouts/${created.body.id}/advance`;
    // Both operators looked at wave 0 and ask to leave it, one on each hub.
    const results = await Promise.all([
      a.api("POST", path, { token: a.operator, body: { fromWave: 0 } }),
      b.api("POST", path, { token: b.operator, body: { fromWave: 0 } }),
    ]);
    expect(results.map((r) => r.status).sort()).toEqual([200, 409]);
    const refused = results.find((r) => r.status === 409);
    expect(refused?.body.error).toMatch(/already moved from wave 1 \(one\) to wave 2 \(two\)/);
    const view = await b.api<{ currentWave: number }>("GET", `/api/v1/rollouts/${created.body.id}`, {
      token: b.operator,
    });
    expect(view.body.currentWave).toBe(1);
    const advanced = (await a.hub.store.listEvents({ limit: 100, subject: created.body.id })).filter(
      (e) => e.kind === "rollout.advanced",
    );
    expect(advanced).toHaveLength(1);
  });

  it("a rollout created on one hub reaches an agent on the other; presence shows across hubs", async () => {
    const [a, b] = (await cluster(2)) as [TestHub, TestHub];
    const agent = await connect(b, "far");
    await expect.poll(() => online(a, "far"), { timeout: 10_000 }).toBe(true);
    const release = await a.api<{ id: string }>("POST", "/api/v1/releases", {
      token: a.ci,
      body: {
        app: "web",
        version: "3.0.0",
        manifest: manifestText("3.0.0"),
        source: { type: "git", commit: "abcdef1" },
      },
    });
    const created = await a.api<{ id: string }>("POST", "/api/v1/rollouts", {
      token: a.operator,
      body: { release: release.body.id, waves: [{ name: "all", percent: 100 }] },
    });
    expect(created.status).toBe(201);
    const deploy = await agent.next(isType("deploy"), 15_000);
    expect(deploy.deploymentId).toBe(`${created.body.id}:far`);
    // A hub joining the cluster does not mark the others' agents offline (one SQLite hub does).
    hubs.push(
      await startTestHub({ envSecret: SECRET, database: { url, file: "test", key: "" } }, join(dir, "late")),
    );
    expect((await a.hub.store.getAgent("far"))?.online).toBe(true);
    // Sent once: hub B marked it sent; hub A had no socket for it.
    const d = await a.hub.store.getDeployment(`${created.body.id}:far`);
    expect(d).toMatchObject({ state: "sent", attempts: 1 });
  });

  it("a delivery whose statement committed but whose answer was lost is sent by the resync", async () => {
    const [a, b] = (await cluster(2, { resyncMs: 300 })) as [TestHub, TestHub];
    await connect(a, "first");
    const agent = await connect(b, "lost-answer");
    await expect.poll(() => online(a, "lost-answer"), { timeout: 10_000 }).toBe(true);
    const release = await a.api<{ id: string }>("POST", "/api/v1/releases", {
      token: a.ci,
      body: {
        app: "web",
        version: "3.1.0",
        manifest: manifestText("3.1.0"),
        source: { type: "git", commit: "abcdef1" },
      },
    });
    const created = await a.api<{ id: string }>("POST", "/api/v1/rollouts", {
      token: a.operator,
      body: {
        release: release.body.id,
        waves: [
          { name: "one", agents: ["first"] },
          { name: "two", agents: ["lost-answer"] },
        ],
      },
    });
    expect(created.status).toBe(201);
    const id = `${created.body.id}:lost-answer`;
    // What hub B's wake-up delivery leaves when its statement commits and the connection drops
    // before the answer: the row `sent` (with its attempt), and nothing handed to the socket. Then
    // the wave starts (the trigger wakes B, whose delivery finds nothing pending).
    const sql = postgres(url, { max: 1, onnotice: () => {} });
    try {
      await sql`UPDATE deployments SET state = 'sent', attempts = 1, updated_at = ${Date.now() - 60_000}
        WHERE id = ${id}`;
      await sql`UPDATE rollouts SET current_wave = 1 WHERE id = ${created.body.id}`;
    } finally {
      await sql.end();
    }
    const deploy = await agent.next(isType("deploy"), 15_000);
    expect(deploy.deploymentId).toBe(id);
    // Sent again without a second mark: still the one attempt, still sent.
    expect(await a.hub.store.getDeployment(id)).toMatchObject({ state: "sent", attempts: 1 });
  });

  it("a wake-up mark the database lost in a crash is sent again by the resync, and the agent's report counts", async () => {
    const [a, b] = (await cluster(2, { resyncMs: 300 })) as [TestHub, TestHub];
    const agent = await connect(b, "lost-mark");
    await expect.poll(() => online(a, "lost-mark"), { timeout: 10_000 }).toBe(true);
    const v2 = await publishRelease(a, "2.0.0");
    const created = await a.api<{ id: string }>("POST", "/api/v1/rollouts", {
      token: a.operator,
      body: { release: v2, waves: [{ name: "all", agents: ["lost-mark"] }] },
    });
    expect(created.status).toBe(201);
    const id = `${created.body.id}:lost-mark`;
    expect((await agent.next(deployOf(created.body.id), 15_000)).deploymentId).toBe(id);
    // A woken hub's marks commit without waiting for the WAL flush (mark-commit.test.ts), so a
    // database crash may forget one whose chunk hub B already sent: the row as before the mark,
    // `pending` with no attempt and no `deployment.sent` event, and the agent holding its instruction.
    const sql = postgres(url, { max: 1, onnotice: () => {} });
    try {
      await sql.begin(async (t) => {
        await t`UPDATE deployments SET state = 'pending', attempts = 0 WHERE id = ${id}`;
        await t`DELETE FROM events WHERE subject = ${id} AND kind = 'deployment.sent'`;
      });
    } finally {
      await sql.end();
    }
    const again = await agent.next(deployOf(created.body.id), 15_000);
    expect(again.deploymentId).toBe(id);
    expect(await a.hub.store.getDeployment(id)).toMatchObject({ state: "sent", attempts: 1 });
    await reportInstalled(agent, again, "succeeded", "1.0.0", v2);
    await expect
      .poll(async () => (await a.hub.store.getRollout(created.body.id))?.state, { timeout: 10_000 })
      .toBe("completed");
  });

  /**
   * Two agents on web 1.0.0 (a hub release), on-a held by `a` and on-b by `b`, and a rollout of
   * 2.0.0 created on `a`: on-a in its first wave, on-b in its second, or in the first with `oneWave`.
   */
  async function rolloutOverBothHubs(a: TestHub, b: TestHub, oneWave = false) {
    const v1 = await publishRelease(a, "1.0.0");
    const v2 = await publishRelease(a, "2.0.0");
    const onV1 = [{ app: "web", version: "1.0.0", state: "ok", releaseId: v1 as string | undefined }];
    const onA = await TestAgent.connect(a.hub.url, await a.agentToken("on-a"));
    const onB = await TestAgent.connect(b.hub.url, await b.agentToken("on-b"));
    agents.push(onA, onB);
    onA.hello("on-a", onV1);
    onB.hello("on-b", onV1);
    await expect
      .poll(async () => (await online(a, "on-a")) && (await online(a, "on-b")), { timeout: 10_000 })
      .toBe(true);
    const created = await a.api<{ id: string }>("POST", "/api/v1/rollouts", {
      token: a.operator,
      body: {
        release: v2,
        waves: oneWave
          ? [{ name: "all", agents: ["on-a", "on-b"] }]
          : [
              { name: "one", agents: ["on-a"] },
              { name: "two", agents: ["on-b"] },
            ],
      },
    });
    expect(created.status).toBe(201);
    return { id: created.body.id, v1, v2, onA, onB };
  }

  /** The rollback instruction of rollout `id` to `agent`: a deploy of 1.0.0 marked as a rollback. */
  const rollbackOf = (agent: TestAgent, id: string) =>
    agent.next((m): m is Deploy => deployOf(id)(m) && m.rollback, 15_000);

  it("an abort with rollback on one hub reaches an agent held by another, after an abort without rollback too", async () => {
    // No resync within the test: only the wake-up and the aborting hub itself can deliver.
    const [a, b] = (await cluster(2, { resyncMs: 600_000 })) as [TestHub, TestHub];
    const { id, v2, onA, onB } = await rolloutOverBothHubs(a, b);
    await reportInstalled(onA, await onA.next(deployOf(id)), "succeeded", "1.0.0", v2);
    // Stopped before its second wave: aborted without rollback first, as an operator who only
    // wanted it to stop, then with rollback once the release turned out bad.
    const stopped = await b.api("POST", `/api/v1/rollouts/${id}/abort`, {
      token: b.operator,
      body: { rollback: false },
    });
    expect(stopped.status).toBe(200);
    const back = await b.api("POST", `/api/v1/rollouts/${id}/abort`, {
      token: b.operator,
      body: { rollback: true },
    });
    expect(back.status, JSON.stringify(back.body)).toBe(200);
    const toA = await rollbackOf(onA, id);
    expect(toA.release.version).toBe("1.0.0");
    // on-b never got 2.0.0: nothing to send it back from.
    expect(onB.received.filter((m) => m.type === "deploy")).toEqual([]);
  });

  it("a rollback whose abort committed but whose answer was lost reaches the other hubs' agents", async () => {
    const [a, b] = (await cluster(2, { resyncMs: 600_000 })) as [TestHub, TestHub];
    const { id, v2, onA, onB } = await rolloutOverBothHubs(a, b, true);
    await reportInstalled(onA, await onA.next(deployOf(id)), "succeeded", "1.0.0", v2);
    await reportInstalled(onB, await onB.next(deployOf(id)), "succeeded", "1.0.0", v2);
    await expect
      .poll(async () => (await a.hub.store.getRollout(id))?.state, { timeout: 10_000 })
      .toBe("completed");
    // What hub A's abort leaves when its COMMIT is applied and the connection drops before the
    // answer: the rows owe a rollback, the rollout is aborted, and A itself sent nothing.
    const sql = postgres(url, { max: 1, onnotice: () => {} });
    try {
      await sql.begin(async (t) => {
        await t`UPDATE deployments SET state = 'rollback_pending' WHERE rollout_id = ${id}`;
        await t`UPDATE rollouts SET state = 'aborted', reason = 'aborted with rollback' WHERE id = ${id}`;
      });
    } finally {
      await sql.end();
    }
    for (const agent of [onA, onB]) expect((await rollbackOf(agent, id)).release.version).toBe("1.0.0");
  });

  it("the claimed tick releases the agents of a hub that stopped heartbeating", async () => {
    // A heartbeat well within the timeout, as serve requires (timeout ≥ twice the heartbeat): a hub
    // presumes others dead only once it has heartbeated for a whole timeout itself.
    const [a] = (await cluster(1, { hubTimeoutMs: 2_000, heartbeatMs: 500 })) as [TestHub];
    await connect(a, "orphan");
    await expect.poll(() => online(a, "orphan"), { timeout: 10_000 }).toBe(true);
    // The agent's row now names a hub that died long ago (as after a SIGKILL).
    await a.hub.store.tx(async (t) => {
      await t.heartbeatHub("dead-hub", Date.now() - 60_000);
      await t.claimAgent("orphan", "dead-hub", Date.now() - 60_000);
    });
    await expect
      .poll(async () => (await a.hub.store.getAgent("orphan"))?.online, { timeout: 10_000 })
      .toBe(false);
    const events = await a.hub.store.listEvents({ limit: 100, subject: "orphan" });
    expect(events.find((e) => e.kind === "agent.offline")?.data).toEqual({
      reason: "its hub stopped heartbeating",
    });
  });

  it("a hub that cannot write its heartbeat past the timeout closes its agents' sockets", async () => {
    const [a] = (await cluster(1, { hubTimeoutMs: 1_000, heartbeatMs: 200 })) as [TestHub];
    const agent = await connect(a, "cut-off");
    await expect.poll(() => a.hub.registry.isOnline("cut-off"), { timeout: 10_000 }).toBe(true);
    const closed = agent.closed();
    // The database stops answering: its server and its processes are frozen, so every query and
    // every new connection hangs, as behind a dead network. (Terminating them instead trips a
    // postgres.js 3.4.9 bug: a write scheduled on a closed socket throws uncaught.)
    const frozen = await freezeDatabase(pg, new URL(url).pathname.slice(1));
    try {
      expect((await closed).code).toBe(1012);
    } finally {
      await frozen.thaw();
    }
  });

  it("an agent whose hello gets through after the hub dropped its agents is dropped too while no heartbeat is written", async () => {
    // A heartbeat far apart from a short timeout: the hub is past its timeout (and drops its
    // agents) while its database still answers, as when the database is slow rather than gone.
    // Before, the watchdog dropped once per outage, so an agent that connected after that drop
    // stayed on a hub the others counted as dead (seen as a CI flake of the SIGSTOP test above).
    const [a] = (await cluster(1, { hubTimeoutMs: 500, heartbeatMs: 60_000 })) as [TestHub];
    await sleep(1_500);
    const late = await connect(a, "late");
    const closed = late.closed();
    expect((await closed).code).toBe(1012);
  });

  it("a dashboard stream on one hub announces another hub's event that committed after a newer one", async () => {
    const [a, b] = (await cluster(2)) as [TestHub, TestHub];
    const abort = new AbortController();
    const res = await fetch(`${b.hub.url}/api/v1/stream`, {
      headers: { authorization: `Bearer ${b.operator}` },
      signal: abort.signal,
    });
    const seen: { at: number; id: number }[] = [];
    const reading = (async () => {
      const decoder = new TextDecoder();
      let buffer = "";
      for await (const chunk of res.body as AsyncIterable<Uint8Array>) {
        buffer += decoder.decode(chunk, { stream: true });
        for (let end = buffer.indexOf("\n\n"); end >= 0; end = buffer.indexOf("\n\n")) {
          const data = buffer
            .slice(0, end)
            .split("\n")
            .find((l) => l.startsWith("data:"));
          buffer = buffer.slice(end + 2);
          if (data) seen.push({ at: Date.now(), id: (JSON.parse(data.slice(5)) as { id: number }).id });
        }
      }
    })().catch(() => {});
    await expect.poll(() => seen.length, { timeout: 10_000 }).toBe(1);
    const event = (subject: string) => ({ at: Date.now(), actor: "test", kind: "test", subject, data: {} });
    // "late" takes its id first and commits last; "early" takes a higher id and commits at once.
    let release = () => {};
    const held = new Promise<void>((r) => {
      release = r;
    });
    const late = a.hub.store.tx(async (t) => {
      await t.appendEvent(event("late"));
      await held;
    });
    await new Promise((r) => setTimeout(r, 200));
    await a.hub.store.appendEvent(event("early"));
    await new Promise((r) => setTimeout(r, 800));
    release();
    await late;
    const committed = Date.now();
    // Something is announced after the late event committed: a stream that followed the largest id
    // would have announced "early" and then stayed silent, and the dashboard missed "late".
    await expect
      .poll(() => seen.filter((m) => m.at >= committed).length, { timeout: 20_000 })
      .toBeGreaterThan(0);
    const ids = (await a.hub.store.listEvents({ limit: 10 })).map((e) => e.id);
    expect(ids).toContain(seen.at(-1)?.id);
    abort.abort();
    await reading;
  });

  it("a dashboard stream on one hub announces another hub's change while another database on the server holds a transaction open", async () => {
    const [a, b] = (await cluster(2)) as [TestHub, TestHub];
    // Another application on the same PostgreSQL server: a transaction with a txid, left open.
    const other = postgres(await pg.createDatabase(), { max: 1, onnotice: () => {} });
    let end = () => {};
    const ended = new Promise<void>((r) => {
      end = r;
    });
    let opened = () => {};
    const isOpen = new Promise<void>((r) => {
      opened = r;
    });
    const otherTx = other.begin(async (t) => {
      await t`SELECT pg_current_xact_id()`;
      opened();
      await ended;
    });
    const abort = new AbortController();
    try {
      await isOpen;
      const res = await fetch(`${b.hub.url}/api/v1/stream`, {
        headers: { authorization: `Bearer ${b.operator}` },
        signal: abort.signal,
      });
      const seen: number[] = [];
      const reading = (async () => {
        const decoder = new TextDecoder();
        let buffer = "";
        for await (const chunk of res.body as AsyncIterable<Uint8Array>) {
          buffer += decoder.decode(chunk, { stream: true });
          for (let at = buffer.indexOf("\n\n"); at >= 0; at = buffer.indexOf("\n\n")) {
            const data = buffer
              .slice(0, at)
              .split("\n")
              .find((l) => l.startsWith("data:"));
            buffer = buffer.slice(at + 2);
            if (data) seen.push((JSON.parse(data.slice(5)) as { id: number }).id);
          }
        }
      })().catch(() => {});
      await expect.poll(() => seen.length, { timeout: 10_000 }).toBe(1);
      // A change on hub A (an audit event) while the other transaction is open.
      await a.hub.store.appendEvent({
        at: Date.now(),
        actor: "test",
        kind: "test",
        subject: "changed",
        data: {},
      });
      const [newest] = await a.hub.store.listEvents({ limit: 1 });
      await expect.poll(() => seen.at(-1), { timeout: 10_000 }).toBe(newest?.id);
      abort.abort();
      await reading;
    } finally {
      abort.abort();
      end();
      await otherTx.catch(() => {});
      await other.end();
    }
  });

  it("two hubs creating a rollout of the same app at once: one 201, one 409", async () => {
    const [a, b] = (await cluster(2)) as [TestHub, TestHub];
    const release = await a.api<{ id: string }>("POST", "/api/v1/releases", {
      token: a.ci,
      body: {
        app: "web",
        version: "4.0.0",
        manifest: manifestText("4.0.0"),
        source: { type: "git", commit: "abcdef1" },
      },
    });
    await connect(a, "race-1");
    await expect
      .poll(async () => (await b.hub.store.getAgent("race-1"))?.online, { timeout: 10_000 })
      .toBe(true);
    const body = { release: release.body.id, waves: [{ name: "all", percent: 100 }] };
    const results = await Promise.all([
      a.api("POST", "/api/v1/rollouts", { token: a.operator, body }),
      b.api("POST", "/api/v1/rollouts", { token: b.operator, body }),
    ]);
    expect(results.map((r) => r.status).sort()).toEqual([201, 409]);
    expect(results.find((r) => r.status === 409)?.body.error).toMatch(/finish or abort it/);
    const active = await a.api<{ rollouts: unknown[] }>("GET", "/api/v1/rollouts", { token: a.operator });
    expect(active.body.rollouts).toHaveLength(1);
  });

  it("an auto-advance decided by one hub's tick reaches every hub's agents through the wake-up", async () => {
    // No resync within the test: only the LISTEN/NOTIFY wake-up can deliver on the other hubs.
    const [a, b] = (await cluster(2, { tickIntervalMs: 200, resyncMs: 600_000 })) as [TestHub, TestHub];
    const ids = Array.from({ length: 24 }, (_, i) => `w${i}`);
    const byId = new Map<string, TestAgent>();
    for (const [i, id] of ids.entries()) byId.set(id, await connect(i % 2 === 0 ? a : b, id));
    await expect
      .poll(async () => (await a.hub.store.listAgents()).filter((x) => x.online).length, { timeout: 10_000 })
      .toBe(24);
    const release = await a.api<{ id: string }>("POST", "/api/v1/releases", {
      token: a.ci,
      body: {
        app: "web",
        version: "5.0.0",
        manifest: manifestText("5.0.0"),
        source: { type: "git", commit: "abcdef1" },
      },
    });
    const created = await b.api<{ id: string }>("POST", "/api/v1/rollouts", {
      token: b.operator,
      body: {
        release: release.body.id,
        autoAdvance: true,
        failureThreshold: { count: 100 },
        waves: [
          { name: "one", percent: 10 },
          { name: "two", percent: 40 },
          { name: "all", percent: 100 },
        ],
      },
    });
    expect(created.status).toBe(201);
    // Every agent reports success for each deploy it gets, so the waves advance by themselves.
    const reported = new Set<string>();
    await expect
      .poll(
        async () => {
          for (const [id, agent] of byId) {
            const deploy = agent.received.find((m) => m.type === "deploy");
            if (deploy?.type !== "deploy" || reported.has(id)) continue;
            reported.add(id);
            agent.send({
              type: "report",
              v: 1,
              reportId: `00000000-0000-4000-8000-${String(reported.size).padStart(12, "0")}`,
              deploymentId: deploy.deploymentId,
              app: "web",
              releaseId: release.body.id,
              outcome: "succeeded",
              fromVersion: "1.0.0",
              toVersion: "5.0.0",
              steps: [],
            });
          }
          return reported.size;
        },
        { timeout: 20_000, interval: 100 },
      )
      .toBe(24);
    await expect
      .poll(
        async () =>
          (
            await a.api<{ state: string }>("GET", `/api/v1/rollouts/${created.body.id}`, {
              token: a.operator,
            })
          ).body.state,
        { timeout: 10_000 },
      )
      .toBe("completed");
  });
});
