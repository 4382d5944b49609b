import { readFile } from "node:fs/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openPostgresStore } from "../../../hub/store/postgres-store.js";
import { Cluster, canRunCluster, type LoadAgents, type MintedAgent } from "../../support/cluster.js";

// A hub whose agents another hub released (marked offline) while they were still connected to it
// left them offline for good: only a hello marks an agent online, and a connected agent sends none.
// That happens when another hub's clock runs ahead by more than cluster_hub_timeout_seconds, or
// when a heartbeat stuck behind a slow database gets through just after the others gave up on
// this hub but before its own watchdog noticed. The dashboard showed the agents offline and their
// deployments timed out while they were fine.
const run = canRunCluster();

let cluster: Cluster;
let load: LoadAgents;
let agent: MintedAgent;

beforeAll(async () => {
  if (!run) return;
  cluster = await Cluster.start({
    hubs: 2,
    hub: { cluster_heartbeat_seconds: 1, cluster_hub_timeout_seconds: 30 },
  });
  const minted = await cluster.loadAgents(1, "dead");
  load = minted.load;
  agent = minted.agents[0] as MintedAgent;
  await load.call("connect", {
    url: `${cluster.hub(0).url.replace(/^http/, "ws")}/api/v1/agent`,
    agents: [agent],
    mode: "hub",
    app: "loadapp",
    inFlight: 1,
    reconnectUrl: `${cluster.frontUrl.replace(/^http/, "ws")}/api/v1/agent`,
  });
}, 120_000);
afterAll(async () => {
  await cluster?.close();
});

const presence = async () =>
  (await cluster.must()`SELECT online, epoch FROM agents WHERE id = ${agent.id}`)[0] as {
    online: boolean;
    epoch: number;
  };

describe.skipIf(!run)("a hub the others presumed dead", () => {
  it("closes the connections of the agents they released, which say hello again and are online", async () => {
    await cluster.waitFor("the agent online", async () => (await presence()).online);
    const { epoch } = await presence();
    // Another hub's claimed tick finding this hub's heartbeat older than the timeout (a heartbeat
    // that gets through just too late): the row's own timeout cleared and a cut-off a minute on.
    // Tried again if a heartbeat lands in between.
    const other = await openPostgresStore(cluster.databaseUrl, { maxConnections: 1 });
    try {
      await cluster.waitFor("the agent released", async () => {
        await cluster.must()`UPDATE hubs SET timeout_ms = NULL`;
        return (await other.releaseSilentHubs(Date.now() + 60_000)).includes(agent.id);
      });
    } finally {
      await other.close();
    }
    expect((await presence()).online).toBe(false);
    await cluster.waitFor(
      "the agent online again, after a new hello",
      async () => {
        const now = await presence();
        return now.online && Number(now.epoch) > Number(epoch);
      },
      15_000,
    );
    const logs = await Promise.all(cluster.hubs.map((hub) => readFile(hub.logFile, "utf8")));
    expect(logs.join("")).toContain("another hub presumed this hub dead and released its agents");
  }, 60_000);

  it("a hub stopped cleanly marks its agents offline at once, not after cluster_hub_timeout_seconds", async () => {
    // An agent that does not come back (its own host went down too): nothing else marks it.
    const { load: stray, agents } = await cluster.loadAgents(1, "stray");
    const [gone] = agents;
    if (!gone) throw new Error("no agent minted");
    await stray.call("connect", {
      url: `${cluster.hub(1).url.replace(/^http/, "ws")}/api/v1/agent`,
      agents: [gone],
      mode: "hub",
      app: "loadapp",
      inFlight: 1,
    });
    const online = async () =>
      ((await cluster.must()`SELECT online FROM agents WHERE id = ${gone.id}`)[0]?.online as boolean) ===
      true;
    await cluster.waitFor("the stray agent online", online);
    await cluster.killHub(1, "SIGTERM");
    await cluster.waitFor("the stray agent offline", async () => !(await online()), 5_000);
    const [event] = await cluster.must()`SELECT data FROM events WHERE kind = 'agent.offline'
      AND subject = ${gone.id}`;
    expect(event?.data).toEqual({ reason: "its hub stopped" });
    // Its row is retired (heartbeat_at 0, until the next tick deletes it): only hub 0 counts as live.
    expect((await cluster.must()`SELECT count(*)::int AS n FROM hubs WHERE heartbeat_at > 0`)[0]?.n).toBe(1);
  }, 60_000);
});
