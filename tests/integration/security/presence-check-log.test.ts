/**
 * A cluster hub asks the store, at each agent upgrade, whether another process of the agent is
 * connected to another hub. When that read fails (here the database refuses the update it makes;
 * in life a lock or statement timeout on the agents table) every upgrade wrote
 * `could not check where an agent is connected`, one line per agent and reconnect, as the token
 * check did before it was said once a minute. Real hub process, real PostgreSQL, real WebSocket.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AGENT_INSTANCE_HEADER } from "../../../shared/protocol/messages.js";
import { Cluster, canRunCluster } from "../../support/cluster.js";
import { connectAgent, upgradeStatus, writtenLinesOf } from "./agent-channel-client.js";

/** Says hello as `id` and closes once the hub has the agent online. */
async function helloOnce(cluster: Cluster, url: string, id: string, token: string): Promise<void> {
  const ws = await connectAgent(url, id, token, { [AGENT_INSTANCE_HEADER]: `proc-${id}-1` });
  await cluster.waitFor(`${id} online`, async () => {
    const rows = await cluster.must()`SELECT online FROM agents WHERE id = ${id}`;
    return rows[0]?.online === true;
  });
  const closed = new Promise<void>((resolve) => ws.once("close", () => resolve()));
  ws.close();
  await closed;
}

describe.runIf(canRunCluster())("a cluster hub whose presence check fails", () => {
  let cluster: Cluster;
  beforeAll(async () => {
    cluster = await Cluster.start({ hubs: 1, hub: { cluster_hub_timeout_seconds: 300 } });
  }, 120_000);
  afterAll(async () => {
    await cluster?.close();
  });

  it("logs `could not check where an agent is connected` once, not once per upgrade", async () => {
    const hub = cluster.hub(0);
    const ids = ["pres-0", "pres-1", "pres-2"];
    const tokens = await cluster.mintTokens(ids.map((agentId) => ({ role: "agent", agentId })));
    for (const [i, id] of ids.entries()) await helloOnce(cluster, hub.url, id, tokens[i] as string);
    // The presence check's update of the agent's row now fails; the token check still reads.
    await cluster.must().unsafe(`
      CREATE FUNCTION ship_test_refuse_presence() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN RAISE EXCEPTION 'canceling statement due to lock timeout'; END $$;
      CREATE TRIGGER ship_test_refuse_presence BEFORE UPDATE OF instance_id ON agents
        FOR EACH ROW EXECUTE FUNCTION ship_test_refuse_presence();
    `);
    const statuses: number[] = [];
    for (let round = 0; round < 3; round++)
      for (const [i, id] of ids.entries())
        statuses.push(
          await upgradeStatus(hub.url, tokens[i] as string, {
            [AGENT_INSTANCE_HEADER]: `proc-${id}-${round + 2}`,
          }),
        );
    expect(statuses).toEqual(Array(9).fill(503));
    const lines = await writtenLinesOf(hub.logFile, "could not check where an agent is connected");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ agentId: "pres-0", error: expect.stringContaining("lock timeout") });
  }, 60_000);
});
