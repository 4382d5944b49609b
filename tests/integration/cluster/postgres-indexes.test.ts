/**
 * Indexes the PostgreSQL schema needs for the hub's periodic reads, on a real server: /metrics
 * counts deployments by state on every hub (at most every 10 s each), which read every deployment
 * row without an index on state (SQLite got the same index in its migration 9). An agent's page
 * of deployments (GET /agents/:id) reads that agent's rows, not every deployment of the fleet.
 * A woken hub's mark of its agents' rows in a rollout created a moment ago costs what its agents'
 * rows cost, not the rollout's size times the agents named, whatever plan each of the store's
 * connections keeps for it. A wave start's insert of its new rollout's rows looks none of them up
 * in an index first.
 */
import { readFileSync } from "node:fs";
import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { postgresMigrations } from "../../../hub/store/postgres-migrations.js";
import { openPostgresStore, type PostgresStore } from "../../../hub/store/postgres-store.js";
import { RolloutSpec } from "../../../shared/api/bodies.js";
import { hasPostgres, type PostgresServer, startPostgres } from "../../support/servers/postgres.js";
import { startRelay } from "./pg-relay.js";

describe.skipIf(!hasPostgres())("PostgreSQL schema indexes", () => {
  let pg: PostgresServer;
  let store: PostgresStore;
  let sql: postgres.Sql;

  beforeAll(async () => {
    pg = await startPostgres();
    const url = await pg.createDatabase();
    store = await openPostgresStore(url, { maxConnections: 1 });
    sql = postgres(url, { max: 1, onnotice: () => {} });
  }, 60_000);
  afterAll(async () => {
    await sql?.end();
    await store?.close();
    await pg?.stop();
  });

  it("counts deployments by state (the /metrics query) from an index, not by reading the table", async () => {
    // The planner prefers a sequential scan of a small table; forbidding it shows whether an index
    // can answer at all (without one the plan is still a sequential scan).
    const plan = await sql.begin(async (t) => {
      await t`SET LOCAL enable_seqscan = off`;
      // The statement countDeploymentsByState runs: `pending` and `sent` are one counted_state.
      return t`EXPLAIN SELECT counted_state AS state, COUNT(*) AS n FROM deployments
          WHERE counted_state <> 'pending' GROUP BY counted_state
        UNION ALL SELECT state, COUNT(*) AS n FROM deployments
          WHERE counted_state = 'pending' GROUP BY state`;
    });
    const text = plan.map((row) => String(row["QUERY PLAN"])).join("\n");
    expect(text).toMatch(/Index Only Scan using deployments_counted_state on deployments/);
    expect(text).not.toMatch(/Seq Scan/);
  });

  it("finds unanswered rollback instructions across rollouts (the tick, every 10 s) from an index, not by reading the table", async () => {
    const plan = await sql.begin(async (t) => {
      await t`SET LOCAL enable_seqscan = off`;
      // The statement listDeploymentsStuckIn runs.
      return t`EXPLAIN SELECT * FROM deployments WHERE rollback_since IS NOT NULL AND rollback_since <= ${50}
        ORDER BY rollback_since, id COLLATE "C" LIMIT ${10}`;
    });
    const text = plan.map((row) => String(row["QUERY PLAN"])).join("\n");
    expect(text).toMatch(/Index Scan using deployments_rollback_since on deployments/);
    expect(text).not.toMatch(/Seq Scan/);
  });

  it("a wave start's insert sends the database each row's values once, not its keys and its rollout's names again", async () => {
    // What the creating hub sends for a 3,000-agent rollout's rows (a third inserted `sent`, as
    // its own connected agents are), counted on the wire: what the database reads and parses
    // before the commit every hub waits for. Each row as a JSON record (json_to_recordset) was 286
    // bytes, its ten keys spelled out in each; one array per column (unnest) is 176, the values.
    const url = await pg.createDatabase();
    const admin = postgres(url, { max: 1, onnotice: () => {} });
    const relay = await startRelay(Number(new URL(url).port));
    const relayed = new URL(url);
    relayed.port = String(relay.port);
    const via = await openPostgresStore(relayed.toString(), { maxConnections: 1 });
    try {
      const agents = Array.from({ length: 3_000 }, (_, i) => `host-${String(i).padStart(4, "0")}`);
      await admin`INSERT INTO agents (id, hostname, labels, agent_version, apps, online, last_seen)
        SELECT x, 'h', '{}', '1', '[]', true, 0 FROM unnest(${`{${agents.join(",")}}`}::text[]) x`;
      const rolloutId = "7d1c2a9e-4b6f-4f0e-9a51-3c8e2f6b1d40";
      const releaseId = "3f5e8c1a-2b7d-4e9f-8a6c-1d0b9e7f5a32";
      await admin`INSERT INTO releases (id, app, version, manifest, source, created, created_by)
        VALUES (${releaseId}, 'web', '2.0.0', '', '{}', 0, 'test')`;
      await admin`INSERT INTO rollouts (id, release_id, app, spec, state, current_wave, wave_started_at, created, updated)
        VALUES (${rolloutId}, ${releaseId}, 'web', '{}', 'running', 0, 0, 0, 0)`;
      const rows = agents.map((agentId, i) => ({
        id: `${rolloutId}:${agentId}`,
        rolloutId,
        agentId,
        wave: 0,
        desiredRelease: releaseId,
        previousRelease: null,
        state: i % 3 === 0 ? ("sent" as const) : ("pending" as const),
        attempts: i % 3 === 0 ? 1 : 0,
        updatedAt: 1_796_615_167_642,
        error: null,
      }));
      const before = relay.sentBytes();
      const inserted = await via.tx((t) =>
        t.insertDeployments(rows, { at: 1_796_615_167_642, actor: "operator", kind: "deployment.sent" }),
      );
      const perRow = (relay.sentBytes() - before) / rows.length;
      expect(inserted).toBe(3_000);
      expect((await via.listDeployments({ rolloutId })).map((d) => [d.id, d.state, d.attempts])).toEqual(
        rows.map((d) => [d.id, d.state, d.attempts]),
      );
      expect(perRow, `${perRow.toFixed(0)} bytes sent per row`).toBeLessThan(200);
    } finally {
      await via.close();
      await relay.down();
      await admin.end();
    }
  }, 60_000);

  it("a wave start inserts its new rollout's rows without probing the unique indexes for a conflict first", async () => {
    // ON CONFLICT DO NOTHING makes PostgreSQL look each row up in both unique indexes (the id, and
    // rollout and agent) before inserting it: ~20 % of the database's CPU for the insert every hub
    // waits for. Rows of a rollout the same transaction inserted can conflict with nothing.
    const url = await pg.createDatabase();
    const admin = postgres(url, { max: 1, onnotice: () => {} });
    const via = await openPostgresStore(url, { maxConnections: 1 });
    try {
      const agents = Array.from({ length: 3_000 }, (_, i) => `n-${String(i).padStart(4, "0")}`);
      await admin`INSERT INTO agents (id, hostname, labels, agent_version, apps, online, last_seen)
        SELECT x, 'h', '{}', '1', '[]', true, 0 FROM unnest(${`{${agents.join(",")}}`}::text[]) x`;
      await admin`INSERT INTO releases (id, app, version, manifest, source, created, created_by)
        VALUES ('n-rel', 'n', '1', '', '{}', 0, 'test')`;
      const rows = agents.map((agentId, i) => ({
        id: `n-ro:${agentId}`,
        rolloutId: "n-ro",
        agentId,
        wave: 0,
        desiredRelease: "n-rel",
        previousRelease: null,
        state: i % 3 === 0 ? ("sent" as const) : ("pending" as const),
        attempts: i % 3 === 0 ? 1 : 0,
        updatedAt: 5,
        error: null,
      }));
      const scans = async () =>
        Object.fromEntries(
          (
            await admin`SELECT indexrelname AS name, idx_scan::int AS n FROM pg_stat_user_indexes
              WHERE relname = 'deployments'`
          ).map((r) => [String(r.name), Number(r.n)]),
        );
      const before = await scans();
      const inserted = await via.tx(async (t) => {
        await t.insertRollout({
          id: "n-ro",
          releaseId: "n-rel",
          spec: RolloutSpec.parse({ release: "n-rel", waves: [{ name: "all", percent: 100 }] }),
          state: "running",
          currentWave: 0,
          waveStartedAt: 5,
          reason: null,
          failureAllowance: 0,
          created: 5,
          updated: 5,
        });
        // Each pair once: the caller's promise (Dispatch.insertNew keeps the first of each).
        return t.insertDeployments(rows, { at: 5, actor: "operator", kind: "deployment.sent" }, true);
      });
      expect(inserted).toBe(3_000);
      // A backend reports its counts to the statistics when it exits (idle, only every 10 s).
      await via.close();
      const inserts = async () =>
        Number(
          (await admin`SELECT n_tup_ins::int AS n FROM pg_stat_user_tables WHERE relname = 'deployments'`)[0]
            ?.n,
        );
      const deadline = Date.now() + 20_000;
      while ((await inserts()) < 3_000 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      expect(await inserts()).toBe(3_000);
      const after = await scans();
      const probed = Object.entries(after).map(([name, n]) => [name, n - (before[name] ?? 0)]);
      expect(
        probed.filter(([, n]) => Number(n) > 0),
        "index scans during the insert",
      ).toEqual([]);
      // Read after the counts (a read by the index would count): the rows and events as before.
      const stored = await admin`SELECT id, state FROM deployments ORDER BY id COLLATE "C"`;
      expect(stored.map((r) => [r.id, r.state])).toEqual(rows.map((d) => [d.id, d.state]));
      const [events] = await admin`SELECT count(*)::int AS n FROM events WHERE kind = 'deployment.sent'`;
      expect(events?.n).toBe(1_000);
    } finally {
      await via.close();
      await admin.end();
    }
  }, 60_000);

  it("a wave start writes no index entry the primary key already holds: one row per pair is the key's, and a rollout's rows are read as a range of it", async () => {
    const url = await pg.createDatabase();
    const admin = postgres(url, { max: 1, onnotice: () => {} });
    const via = await openPostgresStore(url, { maxConnections: 1 });
    try {
      // What every inserted row costs: one entry in each index without a predicate. The id is the
      // rollout and the agent, so an index of the pair repeated the key (an entry per row).
      const entryPerRow = await admin`SELECT c.relname AS name FROM pg_index i
        JOIN pg_class c ON c.oid = i.indexrelid WHERE i.indrelid = 'deployments'::regclass
        AND i.indpred IS NULL ORDER BY 1`;
      expect(entryPerRow.map((r) => String(r.name))).toEqual([
        "deployments_agent",
        "deployments_counted_state",
        "deployments_pkey",
      ]);
      const agents = Array.from({ length: 300 }, (_, i) => `p-${String(i).padStart(3, "0")}`);
      // "p-ro:x" extends "p-ro" with a ':': its rows fall inside p-ro's range of ids.
      await seedRollout(admin, "p", "p-ro", agents, "completed");
      await seedRollout(admin, "q", "p-ro:x", agents.slice(0, 100), "running");
      await seedRollout(admin, "r", "p-rp", agents.slice(0, 50), "running");
      await admin`ANALYZE deployments`;
      // Still one row per pair: under its own id (the key) or under another (the CHECK).
      const again = (id: string) =>
        admin`INSERT INTO deployments (id, rollout_id, agent_id, wave, desired_release, state, updated_at)
          VALUES (${id}, 'p-rp', 'p-000', 0, 'r-rel', 'pending', 0)`;
      await expect(again("p-rp:p-000")).rejects.toMatchObject({ code: "23505" });
      await expect(again("other")).rejects.toMatchObject({ code: "23514" });
      // Each rollout-wide read: exactly the rollout's rows.
      const ids = (rows: readonly { id: string }[]) => rows.map((d) => d.id).sort();
      const own = (n: number, ro: string) =>
        agents
          .slice(0, n)
          .map((a) => `${ro}:${a}`)
          .sort();
      expect(ids(await via.listDeployments({ rolloutId: "p-ro" }))).toEqual(own(300, "p-ro"));
      expect(ids(await via.listDeployments({ rolloutId: "p-ro:x" }))).toEqual(own(100, "p-ro:x"));
      expect(ids(await via.listDeployments({ rolloutId: "p-ro", agentId: "p-007" }))).toEqual(["p-ro:p-007"]);
      const counted = await via.countDeploymentsOfRollout("p-ro");
      expect(counted.reduce((n, c) => n + c.count, 0)).toBe(300);
      const stalled = await via.listStalledDeployments({
        rolloutId: "p-ro:x",
        maxWave: 0,
        states: ["pending"],
        updatedBefore: 1,
      });
      expect(ids(stalled)).toEqual(own(100, "p-ro:x"));
      const stale = await via.listStaleDeployments({
        rolloutId: "p-rp",
        maxWave: 0,
        states: ["pending"],
        seenBefore: 1,
      });
      expect(ids(stale)).toEqual(own(50, "p-rp"));
      // By the key's range, not by reading the table.
      const plan = await admin.begin(async (t) => {
        await t`SET LOCAL enable_seqscan = off`;
        return t`EXPLAIN SELECT * FROM deployments WHERE id >= ${"p-rp:"} AND id < ${"p-rp;"}
          AND rollout_id = ${"p-rp"}`;
      });
      const text = plan.map((row) => String(row["QUERY PLAN"])).join("\n");
      expect(text).toMatch(/Index Scan using deployments_pkey/);
      expect(text).not.toMatch(/Seq Scan/);
    } finally {
      await via.close();
      await admin.end();
    }
  }, 60_000);

  it("two woken hubs' marks at once are HOT updates: no index names a column a mark changes, and each page leaves room for them", async () => {
    // The benchmark's shape in a database of its own: a wave start's 3,000 rows `pending`, each
    // woken hub marks every third agent's row (its agents), 250 a statement. An index whose key or
    // predicate names state or updated_at (deployments_state, deployments_rollback_pending until
    // migration 24) made each mark a new entry in every index of the table: no HOT update at all.
    const url = await pg.createDatabase();
    const admin = postgres(url, { max: 1, onnotice: () => {} });
    const pool = await openPostgresStore(url);
    const other = await openPostgresStore(url);
    try {
      const agents = Array.from({ length: 3_000 }, (_, i) => `h-${String(i).padStart(4, "0")}`);
      await seedRollout(admin, "h", "h-ro", agents, "running");
      // Two woken hubs at once, each with its own pool: two of every three rows of a page get a
      // new version in overlapping transactions, which must fit in the page's free space (the
      // fillfactor) to stay HOT: 30 % free left 67-93 % of them HOT.
      const sent = { at: 1, actor: "hub", kind: "deployment.sent" };
      const markAll = async (store: PostgresStore, mine: string[]) => {
        let marked = 0;
        for (let from = 0; from < mine.length; from += 250)
          marked += (
            await store.markDueDeploymentsSent(
              { rolloutId: "h-ro", agentIds: mine.slice(from, from + 250) },
              sent,
            )
          ).length;
        return marked;
      };
      const marked = await Promise.all([
        markAll(
          pool,
          agents.filter((_, i) => i % 3 === 1),
        ),
        markAll(
          other,
          agents.filter((_, i) => i % 3 === 2),
        ),
      ]);
      expect(marked).toEqual([1_000, 1_000]);
      // What the indexes answer is unchanged: the marked rows counted as `sent`.
      expect(await pool.countDeploymentsByState()).toEqual({ pending: 1_000, sent: 2_000 });
      // A backend reports its counts to the statistics when it exits (idle, only every 10 s).
      await pool.close();
      await other.close();
      const counts = async () =>
        (
          await admin`SELECT n_tup_upd::int AS upd, n_tup_hot_upd::int AS hot FROM pg_stat_user_tables
          WHERE relname = 'deployments'`
        )[0] ?? { upd: 0, hot: 0 };
      const deadline = Date.now() + 20_000;
      while ((await counts()).upd < 2_000 && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 100));
      const { upd, hot } = await counts();
      expect(upd).toBe(2_000);
      expect(hot, `${hot} of ${upd} marks HOT`).toBe(upd);
    } finally {
      await pool.close();
      await other.close();
      await admin.end();
    }
  }, 60_000);

  it("an existing database migrates: its deployments counted by state and its unanswered rollbacks found as before, its rows rewritten with room for HOT marks", async () => {
    const url = await pg.createDatabase();
    const admin = postgres(url, { max: 1, onnotice: () => {} });
    try {
      // The schema before migration 24, with rows in it.
      await admin.begin(async (t) => {
        await t`CREATE TABLE schema_version (version INTEGER NOT NULL)`;
        for (let i = 0; i < 23; i++) {
          await t.unsafe(postgresMigrations[i] as string).simple();
          await t`INSERT INTO schema_version (version) VALUES (${i + 1})`;
        }
        await t`INSERT INTO agents (id, hostname, labels, agent_version, apps, online, last_seen)
          SELECT 'm-' || i, 'h', '{}', '1', '[]', true, 0 FROM generate_series(0, 5) i`;
        await t`INSERT INTO releases (id, app, version, manifest, source, created, created_by)
          VALUES ('m-rel', 'm', '1', '', '{}', 0, 'test')`;
        await t`INSERT INTO rollouts (id, release_id, app, spec, state, current_wave, wave_started_at, created, updated)
          VALUES ('m-ro', 'm-rel', 'm', '{}', 'aborted', 0, 0, 0, 0)`;
        await t`INSERT INTO deployments (id, rollout_id, agent_id, wave, desired_release, state, updated_at)
          VALUES ('m-ro:m-0', 'm-ro', 'm-0', 0, 'm-rel', 'pending', 10),
            ('m-ro:m-1', 'm-ro', 'm-1', 0, 'm-rel', 'sent', 10),
            ('m-ro:m-2', 'm-ro', 'm-2', 0, 'm-rel', 'rollback_pending', 30),
            ('m-ro:m-3', 'm-ro', 'm-3', 0, 'm-rel', 'rollback_pending', 20),
            ('m-ro:m-4', 'm-ro', 'm-4', 0, 'm-rel', 'rollback_pending', 90),
            ('m-ro:m-5', 'm-ro', 'm-5', 0, 'm-rel', 'rolled_back', 10)`;
        // A running rollout's rows written at the fillfactor before migration 24.
        await t`INSERT INTO agents (id, hostname, labels, agent_version, apps, online, last_seen)
          SELECT 'r-' || lpad(i::text, 4, '0'), 'h', '{}', '1', '[]', true, 0 FROM generate_series(0, 599) i`;
        await t`INSERT INTO releases (id, app, version, manifest, source, created, created_by)
          VALUES ('r-rel', 'r', '1', '', '{}', 0, 'test')`;
        await t`INSERT INTO rollouts (id, release_id, app, spec, state, current_wave, wave_started_at, created, updated)
          VALUES ('r-ro', 'r-rel', 'r', '{}', 'running', 0, 0, 0, 0)`;
        await t`INSERT INTO deployments (id, rollout_id, agent_id, wave, desired_release, state, updated_at)
          SELECT 'r-ro:' || a.id, 'r-ro', a.id, 0, 'r-rel', 'pending', 0 FROM agents a WHERE a.id LIKE 'r-%'`;
      });
    } finally {
      await admin.end();
    }
    const migrated = await openPostgresStore(url);
    try {
      expect(await migrated.countDeploymentsByState()).toEqual({
        pending: 601,
        sent: 1,
        rollback_pending: 3,
        rolled_back: 1,
      });
      const stuck = await migrated.listDeploymentsStuckIn({
        state: "rollback_pending",
        updatedBefore: 50,
        limit: 10,
      });
      expect(stuck.map((d) => d.id)).toEqual(["m-ro:m-3", "m-ro:m-2"]);
      // The migration's one rewrite left the rows already there as much room as fresh ones: two
      // woken hubs' marks of that rollout are HOT updates.
      const ids = Array.from({ length: 600 }, (_, i) => `r-${String(i).padStart(4, "0")}`);
      const sent = { at: 1, actor: "hub", kind: "deployment.sent" };
      await migrated.markDueDeploymentsSent(
        { rolloutId: "r-ro", agentIds: ids.filter((_, i) => i % 3 !== 0) },
        sent,
      );
    } finally {
      await migrated.close();
    }
    const admin2 = postgres(url, { max: 1, onnotice: () => {} });
    try {
      const counts = async () =>
        (
          await admin2`SELECT n_tup_upd::int AS upd, n_tup_hot_upd::int AS hot FROM pg_stat_user_tables
          WHERE relname = 'deployments'`
        )[0] ?? { upd: 0, hot: 0 };
      const deadline = Date.now() + 20_000;
      while ((await counts()).upd < 400 && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 100));
      const { upd, hot } = await counts();
      expect(upd).toBe(400);
      expect(hot, `${hot} of ${upd} marks HOT`).toBe(upd);
    } finally {
      await admin2.end();
    }
  }, 60_000);

  it("pages an agent's deployments (GET /agents/:id) from the agent's index, each joined to its rollout by key", async () => {
    const plan = await sql.begin(async (t) => {
      await t`SET LOCAL enable_seqscan = off`;
      // The statement pageAgentDeployments runs, with a cursor.
      return t`EXPLAIN SELECT d.*, r.created AS rollout_created
        FROM deployments d JOIN rollouts r ON r.id = d.rollout_id
        WHERE d.agent_id = ${"a1"}
        AND (${1}::bigint IS NULL OR r.created < ${1} OR (r.created = ${1} AND d.id > ${"x"}))
        ORDER BY r.created DESC, d.id LIMIT ${51}`;
    });
    const text = plan.map((row) => String(row["QUERY PLAN"])).join("\n");
    expect(text).toMatch(/Index Scan (on|using) deployments_agent/);
    expect(text).toMatch(/Index Scan using rollouts_pkey on rollouts/);
    expect(text).not.toMatch(/Seq Scan/);
  });

  it("marks a woken hub's agents in a rollout the statistics do not know yet without comparing every row with every agent id", async () => {
    // The cluster benchmark's shape: the fleet and an earlier rollout analyzed, then a wave start
    // inserts every agent's row `pending` and each woken hub marks its agents' rows by their ids
    // (markDueDeploymentsSent). The planner estimates the new rollout at a few rows, takes the
    // bitmap of its rows AND the pending ones, and an id list it cannot hash was compared with
    // each of them: 1,000 ids × 20,000 rows per statement. Measured as the CPU of the store's
    // database backend, so a loaded machine does not decide: marking 1,000 agents of a
    // 20,000-row rollout must cost about what marking the 1,000 rows of a 1,000-row rollout does.
    const agents = 20_000;
    const named = 1_000;
    await sql`ALTER TABLE deployments SET (autovacuum_enabled = false)`;
    await sql`INSERT INTO agents (id, hostname, labels, agent_version, apps, online, last_seen)
      SELECT 'mark-' || lpad(i::text, 5, '0'), 'h', '{}', '1', '[]', true, 0 FROM generate_series(0, ${agents - 1}) i`;
    await sql`INSERT INTO releases (id, app, version, manifest, source, created, created_by)
      SELECT 'mark-rel-' || a, 'mark-' || a, '1', '', '{}', 0, 'test' FROM unnest(ARRAY['old', 'big', 's0', 's1', 's2']) a`;
    const rollout = async (app: string, count: number, state: string) => {
      await sql`INSERT INTO rollouts (id, release_id, app, spec, state, current_wave, wave_started_at, created, updated)
        VALUES (${`mark-ro-${app}`}, ${`mark-rel-${app}`}, ${`mark-${app}`}, '{}', ${state}, 0, 0, 0, 0)`;
      await sql`INSERT INTO deployments (id, rollout_id, agent_id, wave, desired_release, state, updated_at)
        SELECT ${`mark-ro-${app}:mark-`} || lpad(i::text, 5, '0'), ${`mark-ro-${app}`}, 'mark-' || lpad(i::text, 5, '0'), 0,
          ${`mark-rel-${app}`}, ${state === "running" ? "pending" : "succeeded"}, 0
        FROM generate_series(0, ${count - 1}) i`;
      return `mark-ro-${app}`;
    };
    await rollout("old", agents, "completed");
    await sql`ANALYZE`;
    const big = await rollout("big", agents, "running");
    const small = [
      await rollout("s0", named, "running"),
      await rollout("s1", named, "running"),
      await rollout("s2", named, "running"),
    ];
    const ids = (from: number) =>
      Array.from({ length: named }, (_, i) => `mark-${String(from + i).padStart(5, "0")}`);
    const sent = { at: 1, actor: "hub", kind: "deployment.sent" };
    const markCpuMs = async (rolloutId: string, agentIds: string[]) => {
      const before = await backendCpuMs();
      const marked = await store.markDueDeploymentsSent({ rolloutId, agentIds }, sent);
      expect(marked).toHaveLength(named);
      return (await backendCpuMs()) - before;
    };
    const bigMs: number[] = [];
    const smallMs: number[] = [];
    for (let round = 0; round < 3; round++) {
      bigMs.push(await markCpuMs(big, ids((round + 1) * 5_000)));
      smallMs.push(await markCpuMs(small[round] ?? "", ids(0)));
    }
    const median = (ms: number[]) => [...ms].sort((a, b) => a - b)[1] ?? 0;
    // 20× the rows the small rollout has: by probes or hashed ids that costs a little more; compared
    // row by row with each id it cost 10–40× (the backend's clock ticks every 10 ms, hence + 30).
    expect(median(bigMs), `big ${bigMs.join(", ")} ms, small ${smallMs.join(", ")} ms`).toBeLessThan(
      3 * median(smallMs) + 30,
    );
  }, 60_000);

  it("a woken hub's marks and the resync after them find its agents' rows by probing, whatever plan each connection keeps", async () => {
    // The cluster benchmark's shape, in a database of its own: a wave start inserts 10,000 rows
    // `pending`, a woken hub marks its 3,333 agents 250 a statement, two at a time on the store's
    // pool, and its resync every 3 s asks for them all again (nothing is pending). The driver
    // prepares each statement once per connection; after five runs PostgreSQL may keep a generic
    // plan, costed with the statistics of that moment, for the connection's life. Taken while the
    // statistics put the new rollout and the state at a few rows, that plan was the bitmap of the
    // rollout's rows AND the state index's entries, the ids a filter it cannot hash: each statement
    // compared each of the rollout's rows with every id it named (auto_explain: 118 ms for one
    // 250-agent mark; the resync of 3,333 agents 250–550 ms of backend CPU, 4–20 ms by probes).
    // Whether the planner takes it depends on when autovacuum analyzed the table, so this shape
    // is run as the hubs run it, three rollouts in a row, and what is bounded is the resync's
    // backend CPU (an absolute bound: ~10× what probes cost on the 2-core CI machine).
    const url = await pg.createDatabase();
    const admin = postgres(url, { max: 1, onnotice: () => {} });
    const pool = await openPostgresStore(url);
    try {
      const agents = Array.from({ length: 10_000 }, (_, i) => `w-${String(i).padStart(5, "0")}`);
      const list = `{${agents.join(",")}}`;
      await admin`INSERT INTO agents (id, hostname, labels, agent_version, apps, online, last_seen)
        SELECT x, 'h', '{}', '1', '[]', true, 0 FROM unnest(${list}::text[]) x`;
      await admin`INSERT INTO releases (id, app, version, manifest, source, created, created_by)
        VALUES ('w-rel', 'w', '1', '', '{}', 0, 'test')`;
      const mine = agents.filter((_, i) => i % 3 === 1);
      const sent = { at: 1, actor: "hub", kind: "deployment.sent" };
      const resyncMs: number[] = [];
      for (let round = 0; round < 3; round++) {
        const id = `w-ro-${round}`;
        await admin`UPDATE rollouts SET state = 'aborted' WHERE state = 'running'`;
        await admin`UPDATE deployments SET state = 'cancelled' WHERE state = 'pending'`;
        await admin`INSERT INTO rollouts (id, release_id, app, spec, state, current_wave, wave_started_at, created, updated)
          VALUES (${id}, 'w-rel', 'w', '{}', 'running', 0, 0, 0, 0)`;
        await admin`INSERT INTO deployments (id, rollout_id, agent_id, wave, desired_release, state, updated_at)
          SELECT ${`${id}:`} || x, ${id}, x, 0, 'w-rel', 'pending', 0 FROM unnest(${list}::text[]) x`;
        let next = 0;
        const marked: number[] = [];
        const worker = async () => {
          for (let from = next; from < mine.length; from = next) {
            next += 250;
            const rows = await pool.markDueDeploymentsSent(
              { rolloutId: id, agentIds: mine.slice(from, from + 250) },
              sent,
            );
            marked.push(rows.length);
          }
        };
        await Promise.all([worker(), worker()]);
        expect(marked.reduce((a, b) => a + b, 0)).toBe(mine.length);
        const before = await backendCpuMs(admin);
        for (let i = 0; i < 3; i++)
          expect(await pool.markDueDeploymentsSent({ rolloutId: id, agentIds: mine }, sent)).toEqual([]);
        resyncMs.push((await backendCpuMs(admin)) - before);
      }
      expect(Math.max(...resyncMs), `3 resyncs per rollout: ${resyncMs.join(", ")} ms`).toBeLessThan(200);
    } finally {
      await pool.close();
      await admin.end();
    }
  }, 60_000);

  it("a woken hub's first marks of a new rollout read its agents' rows, not the whole rollout's, on each fresh connection", async () => {
    // A fleet's next wave start: a 10,000-row rollout inserted a moment ago, a hub's 3,333
    // agents marked 250 a statement, two at a time, on connections that never ran the statement
    // (the first five runs on a connection get a custom plan). The planner puts the new rollout at
    // a few rows (no statistics know it), so the custom plan took every index entry of the rollout
    // and filtered its 10,000 rows by the 250 ids: the 14 marks and one read of 250 agents read
    // 150,000 entries for 3,583 rows. Counted by PostgreSQL's own statistics, written when the
    // store's backends exit.
    const url = await pg.createDatabase();
    const setup = postgres(url, { max: 1, onnotice: () => {} });
    const agents = Array.from({ length: 10_000 }, (_, i) => `f-${String(i).padStart(5, "0")}`);
    const mine = agents.filter((_, i) => i % 3 === 1);
    try {
      await (await openPostgresStore(url, { maxConnections: 1 })).close();
      // An earlier rollout of the fleet, which the statistics know: a fleet's history.
      await seedRollout(setup, "f", "f-old", agents, "completed");
      await setup`ANALYZE`;
      await seedRollout(setup, "f", "f-ro", agents, "running");
    } finally {
      await setup.end();
    }
    const pool = await openPostgresStore(url);
    const sent = { at: 1, actor: "hub", kind: "deployment.sent" };
    let marked = 0;
    try {
      let next = 0;
      const worker = async () => {
        for (let from = next; from < mine.length; from = next) {
          next += 250;
          const chunk = mine.slice(from, from + 250);
          const rows = await pool.markDueDeploymentsSent({ rolloutId: "f-ro", agentIds: chunk }, sent);
          marked += rows.length;
        }
      };
      await Promise.all([worker(), worker()]);
      // A hello's read of an agent's rows in the rollout (rollback instructions), same shape.
      expect(
        await pool.listDeploymentsOfAgents({
          rolloutId: "f-ro",
          agentIds: mine.slice(0, 250),
          states: ["sent"],
        }),
      ).toHaveLength(250);
    } finally {
      await pool.close();
    }
    expect(marked).toBe(mine.length);
    const read = await deploymentsReadOnceIdle(url);
    const rows = mine.length + 250;
    expect(read.entries + read.scanned, `entries ${read.entries}, scanned ${read.scanned}`).toBeLessThan(
      2 * rows,
    );
  }, 60_000);

  it("applies a report storm's results to a rollout the statistics do not know yet by probing its rows, not reading the table per batch", async () => {
    // The bench's first fan-out: a 10,000-row rollout inserted a moment ago into a table no ANALYZE
    // has seen, then every agent's result, applied in batches of reports (updateDeployments). The
    // planner put the JSON records at 100 rows against a table it guessed small and chose a hash
    // join over a sequential scan: every batch read the whole table. Counted by PostgreSQL's own
    // statistics, written when the store's backend exits.
    const url = await pg.createDatabase();
    const setup = postgres(url, { max: 1, onnotice: () => {} });
    const agents = Array.from({ length: 10_000 }, (_, i) => `r-${String(i).padStart(5, "0")}`);
    try {
      await (await openPostgresStore(url, { maxConnections: 1 })).close();
      await seedRollout(setup, "r", "r-ro", agents, "running");
    } finally {
      await setup.end();
    }
    const pool = await openPostgresStore(url, { maxConnections: 1 });
    const batch = 500;
    try {
      for (let from = 0; from < agents.length; from += batch)
        await pool.updateDeployments(
          agents.slice(from, from + batch).map((agent) => ({
            id: `r-ro:${agent}`,
            state: "succeeded" as const,
            error: null,
            updatedAt: 2,
            ran: true,
          })),
        );
    } finally {
      await pool.close();
    }
    const read = await deploymentsReadOnceIdle(url);
    expect(read.succeeded).toBe(agents.length);
    // Each row's key probed once (10,000 entries at most). A connection's first five runs of the
    // statement get a custom plan, which costs a sequential scan with the 500 ids hashed below
    // 500 probes of a table no ANALYZE has seen, so those five may still read the table (5 ×
    // 10,000); the other fifteen batches must not (20 × 10,000 read before).
    expect(read.entries, `entries ${read.entries}`).toBeLessThanOrEqual(agents.length);
    expect(read.scanned, `scanned ${read.scanned}`).toBeLessThanOrEqual(5 * agents.length);
  }, 60_000);

  /**
   * What was read of `deployments` in `url` (index entries, rows scanned) and how many rows are
   * `succeeded`, once every other backend has gone: the store's backends write their statistics
   * as they exit.
   */
  async function deploymentsReadOnceIdle(
    url: string,
  ): Promise<{ entries: number; scanned: number; succeeded: number }> {
    const admin = postgres(url, { max: 1, onnotice: () => {} });
    try {
      await expect
        .poll(
          async () =>
            (
              await admin`SELECT count(*)::int AS n FROM pg_stat_activity
          WHERE datname = current_database() AND pid <> pg_backend_pid()`
            )[0]?.n,
          { timeout: 20_000 },
        )
        .toBe(0);
      const [read] = await admin`SELECT
          (SELECT count(*)::int FROM deployments WHERE state = 'succeeded') AS succeeded,
          (SELECT coalesce(sum(idx_tup_read), 0)::int FROM pg_stat_user_indexes WHERE relname = 'deployments') AS entries,
          (SELECT coalesce(seq_tup_read, 0)::int FROM pg_stat_user_tables WHERE relname = 'deployments') AS scanned`;
      return {
        entries: Number(read?.entries),
        scanned: Number(read?.scanned),
        succeeded: Number(read?.succeeded),
      };
    } finally {
      await admin.end();
    }
  }

  /**
   * A rollout of app `app` (release `${app}-rel`) with a row for each agent (`pending` while it
   * runs, `succeeded` once completed); the agents and the release are inserted first if missing.
   */
  async function seedRollout(
    on: postgres.Sql,
    app: string,
    id: string,
    agents: readonly string[],
    state: "running" | "completed",
  ): Promise<void> {
    const list = `{${agents.join(",")}}`;
    const rel = `${app}-rel`;
    await on`INSERT INTO agents (id, hostname, labels, agent_version, apps, online, last_seen)
      SELECT x, 'h', '{}', '1', '[]', true, 0 FROM unnest(${list}::text[]) x ON CONFLICT DO NOTHING`;
    await on`INSERT INTO releases (id, app, version, manifest, source, created, created_by)
      VALUES (${rel}, ${app}, '1', '', '{}', 0, 'test') ON CONFLICT DO NOTHING`;
    await on`INSERT INTO rollouts (id, release_id, app, spec, state, current_wave, wave_started_at, created, updated)
      VALUES (${id}, ${rel}, ${app}, '{}', ${state}, 0, 0, 0, 0)`;
    await on`INSERT INTO deployments (id, rollout_id, agent_id, wave, desired_release, state, updated_at)
      SELECT ${`${id}:`} || x, ${id}, x, 0, ${rel}, ${state === "running" ? "pending" : "succeeded"}, 0
      FROM unnest(${list}::text[]) x`;
  }

  /** CPU (user + system) of the database's backends serving the store, from /proc: ticks of 10 ms. */
  async function backendCpuMs(on: postgres.Sql = sql): Promise<number> {
    const rows = await on`SELECT pid FROM pg_stat_activity
      WHERE datname = current_database() AND pid <> pg_backend_pid() AND backend_type = 'client backend'`;
    let ticks = 0;
    for (const { pid } of rows) {
      // Fields after the command's closing parenthesis: utime and stime are the 12th and 13th.
      const stat = readFileSync(`/proc/${Number(pid)}/stat`, "utf8");
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      ticks += Number(fields[11]) + Number(fields[12]);
    }
    return ticks * 10;
  }
});
