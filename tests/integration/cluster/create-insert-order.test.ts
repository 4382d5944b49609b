/**
 * A wave start on PostgreSQL: the database inserts the rows that write no event (other hubs'
 * agents) while the creating hub computes the rollout's warnings, instead of waiting for them; the
 * audit log keeps its order (the `rollout.created` event, with its warnings, before every
 * `deployment.sent`); the new rows are not counted again before the commit; a pair planned twice
 * goes in once, whichever of the insert's statements its copies fall in. Two real hubs in one
 * process on a real PostgreSQL, real WebSocket agents; the create is held at its event by a table
 * lock an admin connection takes.
 */

import { execFileSync } from "node:child_process";
import { join } from "node:path";
import postgres from "postgres";
import { afterEach, describe, expect, it } from "vitest";
import { Dispatch } from "../../../hub/rollouts/dispatch.js";
import type { StoreOps } from "../../../hub/store/async-store.js";
import { openPostgresStore } from "../../../hub/store/postgres-store.js";
import { hasPostgres, postgresBinDir } from "../../support/servers/postgres.js";
import { rollout } from "../hub/store-contract/subjects.js";
import { publishRelease, TestAgent, type TestHub } from "../hub/support.js";
import { inProcessHubs } from "./in-process-hubs.js";

describe.skipIf(!hasPostgres())("a wave start's insert on PostgreSQL", () => {
  const cluster = inProcessHubs();
  const agents: TestAgent[] = [];
  afterEach(() => {
    for (const a of agents.splice(0)) a.ws.terminate();
  });

  async function hello(hub: TestHub, id: string): Promise<void> {
    const agent = await TestAgent.connect(hub.hub.url, await hub.agentToken(id));
    agents.push(agent);
    agent.hello(id, [{ app: "web", version: "1.0.0", state: "ok", releaseId: undefined }]);
    await expect.poll(async () => (await hub.hub.store.getAgent(id))?.online).toBe(true);
  }

  it("inserts the other hubs' agents' rows while the created event waits, and writes that event before every sent one", async () => {
    const { url, hubs } = await cluster.start([{}, {}]);
    const [a, b] = hubs as [TestHub, TestHub];
    const release = await publishRelease(a, "2.0.0");
    await hello(a, "on-a");
    for (const id of ["on-b-1", "on-b-2", "on-b-3"]) await hello(b, id);
    const admin = postgres(url, { max: 2, onnotice: () => {} });
    // An agent that went away: its wave warns of it.
    await admin`INSERT INTO agents (id, hostname, labels, agent_version, apps, online, last_seen)
      VALUES ('away', 'away', '{}', '1.0.0', '[{"app":"web","version":"1.0.0","state":"ok"}]', false, 0)`;
    // Every statement logged with its transaction: which ones the create's transaction ran.
    await admin`ALTER SYSTEM SET log_statement = 'all'`;
    await admin`ALTER SYSTEM SET log_line_prefix = '%m [%p] xid=%x '`;
    await admin`SELECT pg_reload_conf()`;
    const holder = await admin.reserve();
    let locked = true;
    try {
      await holder`BEGIN`;
      await holder`LOCK TABLE events IN EXCLUSIVE MODE`;
      const created = a.api<{ id: string }>("POST", "/api/v1/rollouts", {
        token: a.operator,
        body: { release, waves: [{ name: "all", percent: 100 }] },
      });
      // Awaited below; a failed expectation before that stops the hubs under it.
      created.catch(() => {});
      const waiting = async () =>
        admin`SELECT pid, query FROM pg_stat_activity
          WHERE datname = current_database() AND wait_event_type = 'Lock' AND wait_event = 'relation'`;
      await expect.poll(async () => (await waiting()).length, { timeout: 20_000 }).toBe(1);
      const [waiter] = await waiting();
      expect(String(waiter?.query)).toMatch(/INSERT INTO events/);
      // The transaction waiting to write its first event has inserted deployments already.
      const writing = await admin`SELECT 1 FROM pg_locks
        WHERE pid = ${Number(waiter?.pid)} AND relation = 'deployments'::regclass AND mode = 'RowExclusiveLock'`;
      expect(writing.length, "the create holds a write lock on deployments while its event waits").toBe(1);
      await holder`COMMIT`;
      locked = false;
      const answer = await created;
      expect(answer.status).toBe(201);
      // Hub B's wake-up marks its agents' rows after the commit: their events come later still.
      const events = await admin`SELECT kind, subject, data FROM events
        WHERE kind IN ('rollout.created', 'deployment.sent') ORDER BY id`;
      expect(events.map((e) => e.kind)).toEqual([
        "rollout.created",
        ...events.slice(1).map(() => "deployment.sent"),
      ]);
      expect(events[0]?.subject).toBe(answer.body.id);
      expect(events.map((e) => e.subject)).toContain(`${answer.body.id}:on-a`);
      const data = events[0]?.data as { agents: number; warnings?: string[] };
      expect(data.agents).toBe(5);
      expect(data.warnings?.join("\n")).toMatch(/away/);
      const rows = await admin`SELECT agent_id FROM deployments ORDER BY agent_id`;
      expect(rows.map((r) => r.agent_id)).toEqual(["away", "on-a", "on-b-1", "on-b-2", "on-b-3"]);
      // Its evaluation counted the rows it had just inserted from the rows in hand, not again.
      const [tx] = await admin`SELECT tx::text AS xid FROM events WHERE kind = 'rollout.created'`;
      const ran = (await cluster.server().log()).split("\n").filter((l) => l.includes(` xid=${tx?.xid} `));
      expect(ran.filter((l) => l.includes("INSERT INTO deployments")).length).toBeGreaterThan(0);
      expect(ran.filter((l) => l.includes("SELECT d.wave, d.state, COUNT(*) AS n"))).toEqual([]);
    } finally {
      // A failed expectation must not leave the create waiting for the lock.
      if (locked) await holder`ROLLBACK`;
      holder.release();
      await admin`ALTER SYSTEM RESET ALL`;
      await admin`SELECT pg_reload_conf()`;
      await admin.end();
    }
  });

  it("has the database insert the rows while the hub works, on a connection that never ran the insert", async () => {
    // The driver describes a statement new to its connection first and holds the transaction's
    // other statements until that is answered: work done without yielding then left the database
    // idle. Seen from outside, synchronously, while that work runs: the transaction's connection
    // has begun a statement since the one-row insert before the others (a pipelined insert), by
    // PostgreSQL's own stamps. Not "since the work began": under load this process can be off the
    // CPU between its sends and the work's first line for longer than the database takes to begin
    // all five inserts, which then began before the work and the check failed with the overlap
    // there (CI run G of round 51 failed a WAL measure read in the work: one psql start under load
    // outlasted the whole insert).
    const url = await cluster.server().createDatabase();
    const admin = postgres(url, { max: 1, onnotice: () => {} });
    const store = await openPostgresStore(url, { maxConnections: 1 });
    // When the transaction's backend (the client holding an xid in this database: not autovacuum's
    // pass over the new agents, which also runs meanwhile) began its latest statement: the
    // database's own stamp, in microseconds, so a slow psql start under load cannot hide it.
    const lastStatementAt = () =>
      BigInt(
        execFileSync(join(postgresBinDir() ?? "", "psql"), [
          url,
          "-Atc",
          "SELECT coalesce(extract(epoch FROM max(query_start)) * 1000000, 0)::bigint FROM pg_stat_activity WHERE backend_type = 'client backend' AND backend_xid IS NOT NULL AND datname = current_database()",
        ])
          .toString()
          .trim(),
      );
    try {
      const ids = Array.from({ length: 5_000 }, (_, i) => `w-${String(i).padStart(4, "0")}`);
      await admin`INSERT INTO agents (id, hostname, labels, agent_version, apps, online, last_seen)
        SELECT x, 'h', '{}', '1', '[]', true, 0 FROM unnest(${`{${ids.join(",")}}`}::text[]) x`;
      await admin`INSERT INTO releases (id, app, version, manifest, source, created, created_by)
        VALUES ('w-rel', 'w', '1', '', '{}', 0, 'test')`;
      let startedDuring = false;
      await store.tx(async (t) => {
        await t.insertRollout(rollout("w-ro", "w-rel"));
        const channel = { isOnline: () => false, connectedAgentIds: () => [], send: () => false };
        // The store as it is, but the one-row insert's start read as it returns (the connection
        // then idle, so its latest statement is that insert).
        let headStart: bigint | undefined;
        const probed: StoreOps = Object.create(t);
        probed.insertDeployments = async (...args) => {
          const inserted = await t.insertDeployments(...args);
          headStart ??= lastStatementAt();
          return inserted;
        };
        const dispatch = new Dispatch({ store, channel, now: () => 5 }, probed);
        const planned = ids.map((agentId) => ({
          id: `w-ro:${agentId}`,
          rolloutId: "w-ro",
          agentId,
          wave: 0,
          desiredRelease: "w-rel",
          previousRelease: null,
          state: "pending" as const,
          attempts: 0,
          updatedAt: 5,
          error: null,
        }));
        await dispatch.insertNew(
          planned,
          "operator",
          () => true,
          () => {
            const until = Date.now() + 10_000;
            while (!startedDuring && Date.now() < until)
              startedDuring = headStart !== undefined && lastStatementAt() > headStart;
          },
        );
      });
      expect(startedDuring, "the database began an insert while the hub's work ran").toBe(true);
      expect((await admin`SELECT count(*)::int AS n FROM deployments`)[0]?.n).toBe(5_000);
    } finally {
      await store.close();
      await admin.end();
    }
  }, 60_000);

  it("inserts a pair named twice once, whichever of the wave start's statements its copies fall in", async () => {
    // The wave start inserts in three statements (one row first, the rows that write no event,
    // the `sent` rows): a pair whose copies fell in two of them broke the unique index (23505).
    const url = await cluster.server().createDatabase();
    const admin = postgres(url, { max: 1, onnotice: () => {} });
    const store = await openPostgresStore(url, { maxConnections: 1 });
    try {
      const ids = ["twice-unsent", "twice-sent", "once-a", "once-b"];
      await admin`INSERT INTO agents (id, hostname, labels, agent_version, apps, online, last_seen)
        SELECT x, 'h', '{}', '1', '[]', true, 0 FROM unnest(${`{${ids.join(",")}}`}::text[]) x`;
      await admin`INSERT INTO releases (id, app, version, manifest, source, created, created_by)
        VALUES ('p-rel', 'p', '1', '', '{}', 0, 'test')`;
      const row = (agentId: string, wave: number) => ({
        id: `p-ro:${agentId}`,
        rolloutId: "p-ro",
        agentId,
        wave,
        desiredRelease: "p-rel",
        previousRelease: null,
        state: "pending" as const,
        attempts: 0,
        updatedAt: 5,
        error: null,
      });
      // The first copy of each is what counts, as ON CONFLICT DO NOTHING would have kept: a copy
      // in the first (awaited) row and the next statement; a later-wave copy, unsent, and a due one
      // of an agent connected here, sent.
      const planned = [
        row("twice-unsent", 1),
        row("twice-unsent", 0),
        row("twice-sent", 1),
        row("once-a", 0),
        row("twice-sent", 0),
        row("once-b", 1),
      ];
      const connected = new Set(["twice-sent", "twice-unsent", "once-a"]);
      const channel = {
        isOnline: (id: string) => connected.has(id),
        connectedAgentIds: () => [...connected],
        send: () => false,
      };
      const inserted = await store.tx(async (t) => {
        await t.insertRollout(rollout("p-ro", "p-rel"));
        const dispatch = new Dispatch({ store, channel, now: () => 5 }, t);
        return dispatch.insertNew(planned, "operator", (d) => d.wave === 0);
      });
      const stored = await admin`SELECT agent_id, wave, state FROM deployments ORDER BY agent_id`;
      expect(stored.map((r) => `${r.agent_id} ${r.wave} ${r.state}`)).toEqual([
        "once-a 0 sent",
        "once-b 1 pending",
        "twice-sent 1 pending",
        "twice-unsent 1 pending",
      ]);
      // What the create counts and delivers is what went in: each pair once.
      expect(inserted.map((d) => `${d.agentId} ${d.wave} ${d.state}`).sort()).toEqual(
        stored.map((r) => `${r.agent_id} ${r.wave} ${r.state}`),
      );
      const sent = await admin`SELECT subject FROM events WHERE kind = 'deployment.sent'`;
      expect(sent.map((e) => e.subject)).toEqual(["p-ro:once-a"]);
    } finally {
      await store.close();
      await admin.end();
    }
  });
});
