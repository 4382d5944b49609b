/**
 * A hub on PostgreSQL whose database goes away: API calls answer 503 saying the database is
 * unreachable (not "500 internal error", which names nothing), so `ship-hub rollout list` prints
 * one line an operator can act on and exits 1; the hub process itself stays up.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Cluster, canRunCluster } from "../../support/cluster.js";
import { runHubCli } from "../../support/hub-cli.js";

describe.runIf(canRunCluster())("a hub whose PostgreSQL is down", () => {
  let cluster: Cluster;
  beforeAll(async () => {
    cluster = await Cluster.start({ hubs: 1 });
  }, 120_000);
  afterAll(async () => {
    await cluster?.close();
  });

  it("ship-hub rollout list: exit 1, one line saying the hub's database is unreachable", async () => {
    const hub = cluster.hub(0);
    const rolloutList = () =>
      runHubCli(cluster.dir, ["rollout", "list", "--hub", hub.url, "--token", cluster.operator]);
    const before = await rolloutList();
    expect(before.code, before.stderr).toBe(0);
    await cluster.stopDatabase();
    const run = await rolloutList();
    expect(run.code).toBe(1);
    const lines = run.stderr.trim().split("\n");
    expect(lines, run.stderr).toHaveLength(1);
    expect(lines[0]).toMatch(/503.*database is unreachable/);
    expect(hub.child?.exitCode).toBeNull();
  }, 120_000);
});
