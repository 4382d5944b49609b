/**
 * A report the hub could not store got no ack and no word: the hub logged "agent message could not
 * be applied", and the agent sent the report again only with a reconnect's hello, so on a healthy
 * long-lived connection a deployment's success waited hours, its wave with it. Now an unacked
 * report is sent again on the same connection. Real PostgreSQL, a real `ship-hub serve` and a real
 * `ship agent`: the test holds a lock on the reports table so that the hub's transaction storing
 * the report waits, then ends that transaction's connection (a PostgreSQL connection that dropped).
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Cluster, canRunCluster } from "../../support/cluster.js";

describe.skipIf(!canRunCluster())("a report the hub could not store (real PostgreSQL, hub and agent)", () => {
  let cluster: Cluster;
  beforeAll(async () => {
    cluster = await Cluster.start({ hubs: 1 });
  }, 120_000);
  afterAll(async () => {
    await cluster?.close();
  });

  it("reaches the hub once its store works again, without the agent reconnecting", {
    timeout: 120_000,
  }, async () => {
    const sql = cluster.must();
    const [agent] = await cluster.startRealAgents(1, () => cluster.hub(0).url);
    if (agent === undefined) throw new Error("no agent");
    const release = await cluster.publish(0, { version: "2.0.0" });

    const lock = await sql.reserve();
    try {
      await lock`BEGIN`;
      // Writes wait; reads (the API, the dashboard) go on.
      await lock`LOCK TABLE reports IN EXCLUSIVE MODE`;
      const { id } = await cluster.ok<{ id: string }>(0, "POST", "/rollouts", {
        release,
        waves: [{ name: "all", percent: 100 }],
        autoAdvance: true,
      });
      let waiting: number[] = [];
      await cluster.waitFor("the hub's transaction storing the report waits on the lock", async () => {
        waiting = (
          await sql`SELECT pid FROM pg_stat_activity WHERE wait_event_type = 'Lock'
            AND query ILIKE '%INSERT INTO reports%'`
        ).map((r) => r.pid as number);
        return waiting.length > 0;
      });
      expect(await readFile(join(agent.root, "agent.log"), "utf8")).toContain('"msg":"instruction finished"');
      // The connection drops under the transaction: it fails, and the report is not acked.
      await sql`SELECT pg_terminate_backend(pid) FROM unnest(${waiting}::int[]) AS pid`;
      await cluster.waitFor("the hub said the report could not be stored", async () =>
        (await readFile(cluster.hub(0).logFile, "utf8")).includes("agent message could not be applied"),
      );
      await lock`ROLLBACK`;
      // Before: the rollout stayed running, the report in the agent's outbox until a reconnect.
      await cluster.waitFor("the rollout completed", async () => {
        const [row] = await sql`SELECT state FROM rollouts WHERE id = ${id}`;
        return row?.state === "completed";
      });
      const stored = await sql`SELECT count(*)::int AS n FROM reports WHERE agent_id = ${agent.id}
        AND deployment_id IS NOT NULL`;
      expect(stored[0]?.n, "the report stored once").toBe(1);
      const log = await readFile(join(agent.root, "agent.log"), "utf8");
      expect(log.split('"msg":"connected to hub"').length - 1, "the agent reconnected").toBe(1);
      expect(log).toContain("no acknowledgement from the hub for a report; sending it again");
      expect(await cluster.appVersion(agent)).toBe("2.0.0");
    } finally {
      lock.release();
    }
  });
});
