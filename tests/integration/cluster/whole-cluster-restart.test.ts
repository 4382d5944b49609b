/**
 * Every hub killed at once (a power cut, every VM restarted) and started again within
 * cluster_hub_timeout_seconds. The killed hubs' rows still looked live, so the first hub back
 * read the cluster as never down and counted timeouts from before the crash: an agent that was
 * offline when the hubs died timed out moments after they came back, the downtime counted
 * against it. One hub on SQLite counts from its start; so does a cluster that was wholly down.
 * An agent whose host went down with its hub (a new agent process) was refused by the other hubs
 * as a clone ("two hosts with one agent id?") until the killed hub's row timed out.
 * Real `ship-hub serve` processes on a real PostgreSQL.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AGENT_INSTANCE_HEADER } from "../../../shared/protocol/messages.js";
import { Cluster, canRunCluster } from "../../support/cluster.js";
import { manifestText, TestAgent } from "../hub/support.js";
import { connectAgent, upgradeStatus } from "../security/agent-channel-client.js";

// The file's wall time is these waits (the database's age, the downtime, the offline timeout after
// the restart): 15 and 20 s made it ~35 s. The hub timeout stays well above the downtime (4 s and
// two hub starts), so the first hub back still finds the killed hubs' rows looking live.
const OFFLINE_S = 8;
const HUB_TIMEOUT_S = 15;
/** A fifth of the hub timeout; 12 tries at the agent channel's 30 connects a minute. */
const REJOIN_WITHIN_MS = 3000;
const run = canRunCluster();
let cluster: Cluster;

beforeAll(async () => {
  if (!run) return;
  // The hub timeout is longer than the downtime below.
  cluster = await Cluster.start({
    hubs: 2,
    hub: {
      offline_timeout_seconds: OFFLINE_S,
      cluster_heartbeat_seconds: 1,
      cluster_hub_timeout_seconds: HUB_TIMEOUT_S,
    },
  });
}, 120_000);
afterAll(async () => {
  await cluster?.close();
});

// A database restarted within the hub timeout leaves hubs' listeners reconnecting, and the hubs
// then go by heartbeats alone: this one must have been up longer when a hub asks which hubs are
// live (as it starts, or as an agent connects). `comingSeconds` is a wait the test has still to
// come before that question: the database ages through it, so the wait here is that much shorter
// (the file's database is fresh: the whole wait was ~15 s of a ~45 s file).
const databaseUpLongerThanHubTimeout = (comingSeconds = 0) =>
  cluster.waitFor(
    "the database up longer than the hub timeout",
    async () =>
      (
        await cluster.must()`SELECT now() - pg_postmaster_start_time() > make_interval(secs => ${HUB_TIMEOUT_S - comingSeconds}) AS old`
      )[0]?.old === true,
  );

type Detail = { waves: { agents: { agentId: string; offlineFailsAt?: string }[] }[] };

describe.skipIf(!run)("hubs killed (SIGKILL) while their database runs on", () => {
  it("a whole cluster restarted within the hub timeout counts an offline agent's timeout from the restart, as one hub does", async () => {
    // The hubs are down OFFLINE_S / 2 before they start again: the database ages that much meanwhile.
    await databaseUpLongerThanHubTimeout(OFFLINE_S / 2);
    const agent = await TestAgent.connect(
      cluster.hub(0).url,
      await cluster.tokenCreate("--role", "agent", "--agent", "away"),
    );
    agent.hello("away");
    const online = async () =>
      (await cluster.must()`SELECT online FROM agents WHERE id = 'away'`)[0]?.online === true;
    await cluster.waitFor("the agent online", online);
    agent.ws.close();
    await cluster.waitFor("the agent offline", async () => !(await online()));
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
    await Promise.all([cluster.killHub(0), cluster.killHub(1)]);
    await sleep(OFFLINE_S * 500);
    // Already so (see above); the restart must come after it, whatever the load did to the sleep.
    await databaseUpLongerThanHubTimeout();
    const restartedAt = Date.now();
    await cluster.startHub(0);
    await cluster.startHub(1);
    const state = async () =>
      (await cluster.must()`SELECT state FROM deployments WHERE id = ${`${created.id}:away`}`)[0]?.state;
    const failsAt = async (index: number) =>
      (await cluster.ok<Detail>(index, "GET", `/rollouts/${created.id}`)).waves[0]?.agents[0]?.offlineFailsAt;
    // Both hubs say the same deadline, counted from the restart (not from the rollout's start).
    const first = await failsAt(0);
    expect(first, "timed out already").toBeDefined();
    const deadline = Date.parse(first ?? "");
    expect(deadline).toBeGreaterThanOrEqual(restartedAt + OFFLINE_S * 1000 - 500);
    expect(await failsAt(1)).toBe(await failsAt(0));
    // Past the deadline the rollout started with, the agent has not timed out yet…
    await sleep(Math.max(0, restartedAt + OFFLINE_S * 600 - Date.now()));
    expect(await state()).toBe("pending");
    // …and once it has been away the offline timeout since the restart, it has.
    await cluster.waitFor("the deployment timed out", async () => (await state()) === "timed_out");
  }, 90_000);

  it("lets in a new process of an agent whose hub was killed, not refusing it as a clone", async () => {
    await databaseUpLongerThanHubTimeout();
    const token = await cluster.tokenCreate("--role", "agent", "--agent", "rebooted");
    const before = await connectAgent(cluster.hub(1).url, "rebooted", token, {
      [AGENT_INSTANCE_HEADER]: "process-before-1111",
    });
    await cluster.waitFor(
      "the agent online on hub 1",
      async () => (await cluster.must()`SELECT online FROM agents WHERE id = 'rebooted'`)[0]?.online === true,
    );
    // While hub 1 runs, another process with the id is a clone, and refused.
    expect(
      await upgradeStatus(cluster.hub(0).url, token, { [AGENT_INSTANCE_HEADER]: "process-clone-3333" }),
    ).toBe(409);
    // Its host goes down with hub 1; it boots and its new process reaches hub 0 at once: at most
    // as long as the database takes to see the killed hub's connections gone (its backends exit;
    // under load, a moment), retried as the agent's reconnect does, far within the hub timeout
    // the clone refusal lasted for.
    await cluster.killHub(1);
    before.terminate();
    const killedAt = Date.now();
    for (;;) {
      try {
        const after = await connectAgent(cluster.hub(0).url, "rebooted", token, {
          [AGENT_INSTANCE_HEADER]: "process-after-2222",
        });
        after.close();
        break;
      } catch (error) {
        if (!/\b409\b/.test(String(error)) || Date.now() - killedAt > REJOIN_WITHIN_MS) throw error;
        await sleep(250);
      }
    }
    expect(Date.now() - killedAt).toBeLessThan(REJOIN_WITHIN_MS);
  }, 60_000);
});
