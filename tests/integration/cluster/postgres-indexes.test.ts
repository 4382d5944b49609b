/**
 * Indexes the PostgreSQL schema needs for the hub's periodic reads, on a real server: /metrics
 * counts deployments by state on every hub (at most every 10 s each), which read every deployment
 * row without an index on state (SQLite got the same index in its migration 9). An agent's page
 * of deployments (GET /agents/:id) reads that agent's rows, not every deployment of the fleet.
 */
import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openPostgresStore, type PostgresStore } from "../../../hub/store/postgres-store.js";
import { hasPostgres, type PostgresServer, startPostgres } from "../../support/servers/postgres.js";

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
      return t`EXPLAIN SELECT state, COUNT(*) AS n FROM deployments GROUP BY state`;
    });
    const text = plan.map((row) => String(row["QUERY PLAN"])).join("\n");
    expect(text).toMatch(/Index Only Scan using deployments_state on deployments/);
  });

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
});
