/**
 * The deployments' references on PostgreSQL are checked once per INSERT statement (a trigger over
 * the inserted rows, see the PostgreSQL migrations), not by row-level foreign keys: a batch naming a rollout,
 * an agent or a release that does not exist is refused as a foreign key would refuse it (23503)
 * and writes nothing, whichever row of the batch names it.
 */
import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openPostgresStore, type PostgresStore } from "../../../hub/store/postgres-store.js";
import type { DeploymentRecord } from "../../../hub/store/store.js";
import { hasPostgres, type PostgresServer, startPostgres } from "../../support/servers/postgres.js";
import { agent, deployment, release, rollout } from "../hub/store-contract/subjects.js";

describe.skipIf(!hasPostgres())("PostgreSQL deployment references", () => {
  let pg: PostgresServer;
  let store: PostgresStore;
  let sql: postgres.Sql;
  const agents = ["a1", "a2", "a3", "a4"];

  beforeAll(async () => {
    pg = await startPostgres();
    const url = await pg.createDatabase();
    store = await openPostgresStore(url, { maxConnections: 2 });
    sql = postgres(url, { max: 1, onnotice: () => {} });
    await store.insertRelease(release("r1"));
    for (const id of agents) await store.upsertAgent(agent(id));
    await store.insertRollout(rollout("ro1", "r1", "completed"));
  }, 60_000);
  afterAll(async () => {
    await sql?.end();
    await store?.close();
    await pg?.stop();
  });

  const count = async () => Number((await sql`SELECT count(*)::int AS n FROM deployments`)[0]?.n);

  it.each([
    ["a rollout", (d: DeploymentRecord) => ({ ...d, rolloutId: "nope", id: "nope:a3" })],
    ["an agent", (d: DeploymentRecord) => ({ ...d, agentId: "nobody", id: "ro1:nobody" })],
    ["a release", (d: DeploymentRecord) => ({ ...d, desiredRelease: "nope" })],
  ])("refuses a batch naming %s that does not exist, in any row, and writes none of it", async (_, bad) => {
    for (const at of [0, 2]) {
      const batch: DeploymentRecord[] = agents.slice(0, 3).map((id) => deployment("ro1", id));
      batch[at] = bad(batch[at] as DeploymentRecord);
      await expect(store.insertDeployments(batch)).rejects.toMatchObject({ code: "23503" });
      expect(await count()).toBe(0);
    }
  });

  it("takes a batch whose every reference exists", async () => {
    expect(await store.insertDeployments(agents.map((id) => deployment("ro1", id)))).toBe(4);
    expect(await count()).toBe(4);
  });
});
