/**
 * The offline timeout of agents a killed hub held. When another hub released them (the killed
 * hub's heartbeat silent past cluster_hub_timeout_seconds) their last sight stayed what their
 * hello wrote, maybe hours before, so an agent that had been away a few seconds counted as away
 * since its wave started: its deployment timed out (failed) at the next tick, "agent offline for
 * N s" naming a time it had been connected, and the failure could halt the rollout. They are now
 * last seen when their hub last heartbeated, as an agent whose socket closes is last seen then.
 * Real `ship-hub serve` processes on a real PostgreSQL; the agent is a WebSocket client of the
 * hub that is killed.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Deploy, HubMessage } from "../../../shared/protocol/messages.js";
import { Cluster, canRunCluster } from "../../support/cluster.js";
import { manifestText, TestAgent } from "../hub/support.js";

// The file's wall time is this timeout, waited out twice (connected past it, then away for it):
// 8 s made it ~4 s longer. The "not yet" check below comes ~4 s into the agent's absence.
const OFFLINE_S = 6;
const run = canRunCluster();
let cluster: Cluster;

beforeAll(async () => {
  if (!run) return;
  cluster = await Cluster.start({
    hubs: 2,
    hub: {
      cluster_heartbeat_seconds: 0.5,
      cluster_hub_timeout_seconds: 2,
      offline_timeout_seconds: OFFLINE_S,
    },
  });
}, 120_000);
afterAll(async () => {
  await cluster?.close();
});

const isDeploy = (m: HubMessage): m is Deploy => m.type === "deploy";

describe.skipIf(!run)("an agent of a hub that was killed", () => {
  it("counts as offline from when its hub died, not from its hello", async () => {
    const agent = await TestAgent.connect(
      cluster.hub(1).url,
      await cluster.tokenCreate("--role", "agent", "--agent", "k1"),
    );
    agent.hello("k1");
    await cluster.waitFor("the agent online", async () => {
      const [row] = await cluster.must()`SELECT online FROM agents WHERE id = 'k1'`;
      return row?.online === true;
    });
    const { id: release } = await cluster.ok<{ id: string }>(
      0,
      "POST",
      "/releases",
      {
        app: "web",
        version: "2.0.0",
        manifest: manifestText("2.0.0"),
        source: { type: "git", commit: "abcdef1" },
      },
      cluster.ci,
    );
    const created = await cluster.ok<{ id: string }>(0, "POST", "/rollouts", {
      release,
      waves: [{ name: "all", percent: 100 }],
      failureThreshold: { count: 1 },
    });
    await agent.next(isDeploy, 15_000);
    const state = async () =>
      (await cluster.must()`SELECT state FROM deployments WHERE id = ${`${created.id}:k1`}`)[0]?.state;
    // Connected and updating for longer than the offline timeout (a long migration).
    await new Promise((resolve) => setTimeout(resolve, (OFFLINE_S + 1) * 1000));
    expect(await state()).toBe("sent");
    await cluster.killHub(1);
    await cluster.waitFor("the agent released by hub 0", async () => {
      const [row] = await cluster.must()`SELECT online FROM agents WHERE id = 'k1'`;
      return row?.online === false;
    });
    // Away about cluster_hub_timeout_seconds so far: not timed out, five ticks (0.2 s) after the
    // release that timed it out at the next one.
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect(await state()).toBe("sent");
    // Once it has been away the offline timeout, it is.
    await cluster.waitFor("the deployment timed out", async () => (await state()) === "timed_out");
  }, 90_000);
});
