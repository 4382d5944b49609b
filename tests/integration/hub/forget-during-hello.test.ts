/**
 * `agents forget` racing an agent's hello on PostgreSQL (read committed): the hello's transaction
 * read the revocations before the forget committed, then its upsert, waiting on the forget's row
 * lock, cleared `forgotten_at` after it. The agent was listed in the fleet again, on a revoked
 * token, and planned into new rollouts, where its silence timed out as a failure. The forget is
 * held open here in a transaction of the test's own (the same two writes `agents forget` commits)
 * until the hello's upsert waits on it. Real hub, real PostgreSQL, real agent channel.
 */
import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hasPostgres, type PostgresServer, startPostgres } from "../../support/servers/postgres.js";
import { CLUSTER_SECRET, startTestHub, TestAgent, type TestHub } from "./support.js";

let pg: PostgresServer | undefined;
let hub: TestHub | undefined;
beforeAll(async () => {
  if (hasPostgres()) pg = await startPostgres();
}, 60_000);
afterAll(async () => {
  await hub?.stop();
  await pg?.stop();
});

const jtiOf = (token: string): string =>
  (JSON.parse(Buffer.from(token.split(".")[1] ?? "", "base64url").toString()) as { jti: string }).jti;

describe.skipIf(!hasPostgres())("agents forget while the agent says hello (PostgreSQL)", () => {
  it("a hello on a token the forget revoked does not bring the agent back", async () => {
    const url = await (pg as PostgresServer).createDatabase();
    hub = await startTestHub({ envSecret: CLUSTER_SECRET, database: { url, file: "test", key: "" } });
    const t = hub;
    const token = await t.agentToken("x1");
    const first = await TestAgent.connect(t.hub.url, token);
    first.hello("x1");
    await expect.poll(async () => (await t.hub.store.getAgent("x1"))?.online).toBe(true);
    first.ws.terminate();
    await expect.poll(async () => (await t.hub.store.getAgent("x1"))?.online).toBe(false);

    const sql = postgres(url, { max: 2, onnotice: () => {} });
    try {
      const forget = await sql.reserve();
      const at = Date.now();
      await forget`BEGIN`;
      await forget`UPDATE agents SET forgotten_at = ${at} WHERE id = 'x1' AND NOT online`;
      await forget`UPDATE tokens SET revoked = ${at} WHERE jti = ${jtiOf(token)}`;
      // Its token is in force as far as the hub can see: the channel opens and the hello is taken.
      const again = await TestAgent.connect(t.hub.url, token);
      const closed = again.closed();
      again.hello("x1");
      await expect
        .poll(
          async () =>
            (
              await sql`SELECT count(*)::int AS n FROM pg_stat_activity
                WHERE wait_event_type = 'Lock' AND datname = current_database()
                  AND query LIKE '%INSERT INTO agents%'`
            )[0]?.n,
          { timeout: 10_000 },
        )
        .toBe(1);
      await forget`COMMIT`;
      forget.release();
      await closed;
      const agent = await t.hub.store.getAgent("x1");
      expect(agent?.forgottenAt).toBe(at);
      expect(agent?.online).toBe(false);
      expect((await t.hub.store.listAgents()).map((a) => a.id)).toEqual([]);
    } finally {
      await sql.end();
    }
  });
});
