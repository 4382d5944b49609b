/**
 * The rollout engine's time on hubs whose clocks disagree. Heartbeats already used the database's
 * clock; tick claims and every timeout still used each hub's own: a hub a minute ahead claimed
 * every tick (its claim was due a minute later by the others' clocks) and timed out the other
 * hubs' deployments after a fraction of progress_timeout, and a hub a minute behind wrote its
 * deployments' times a minute old, so the others timed them out as early. A cluster hub's time is
 * now the database's clock. Two real hubs in one process (their `now` is how a skewed clock is
 * made), real WebSocket agents, real PostgreSQL.
 */
import { setTimeout as sleep } from "node:timers/promises";
import postgres from "postgres";
import { afterEach, describe, expect, it } from "vitest";
import { hasPostgres } from "../../support/servers/postgres.js";
import {
  isType,
  onlineAgent,
  publishRelease,
  startTestHub,
  type TestAgent,
  type TestHub,
} from "../hub/support.js";
import { CLUSTER_SECRET, inProcessHubs } from "./in-process-hubs.js";

// A minute of skew times a deployment out at the first tick whatever the timeout: 6 s is the
// timeout's wait (twice, at the start and the end), 8 s made each case 4 s longer.
const PROGRESS_TIMEOUT_MS = 6_000;

describe.skipIf(!hasPostgres())("rollout timeouts and tick claims on hubs whose clocks differ", () => {
  const cluster = inProcessHubs();
  const agents: TestAgent[] = [];
  afterEach(() => {
    for (const a of agents.splice(0)) a.ws.terminate();
  });

  async function startHubs(skews: number[], test?: { onTestFinished: (fn: () => Promise<void>) => void }) {
    return cluster.start(
      skews.map((skew) => ({
        heartbeatMs: 200,
        hubTimeoutMs: 3_000,
        progressTimeoutMs: PROGRESS_TIMEOUT_MS,
        now: () => Date.now() + skew,
      })),
      test,
    );
  }

  const connect = (hub: TestHub, agentId: string) => onlineAgent(hub, agentId, agents);

  // Each case with the rollout created where it showed: a rollout younger than the timeout by the
  // ticking hub's clock is not scanned at all. The two run side by side, each on its own database
  // and hubs: each is 20 s of waiting for timeouts, which the other need not sit out.
  it.concurrent.for<[string, string, number]>([
    ["a minute ahead", "steady", 60_000],
    ["a minute behind", "skewed", -60_000],
  ])(
    "with a hub whose clock runs %s, no deployment times out before progress_timeout (rollout created on the %s hub)",
    { timeout: 60_000 },
    async ([, createdOn, skew], { expect, onTestFinished }) => {
      const { hubs } = await startHubs([0, skew], { onTestFinished });
      const [steady, skewed] = hubs as [TestHub, TestHub];
      const own: TestAgent[] = [];
      onTestFinished(() => {
        for (const a of own) a.ws.terminate();
      });
      // A hub counts no time before its own start: only hubs running longer than the timeout
      // time anything out.
      await sleep(PROGRESS_TIMEOUT_MS + 500);
      const onSteady = await onlineAgent(steady, "on-steady", own);
      const onSkewed = await onlineAgent(skewed, "on-skewed", own);
      const release = await publishRelease(steady, "2.0.0");
      const creator = createdOn === "steady" ? steady : skewed;
      const created = await creator.api<{ id: string }>("POST", "/api/v1/rollouts", {
        token: creator.operator,
        body: { release, waves: [{ name: "all", percent: 100 }], failureThreshold: { count: 2 } },
      });
      expect(created.status).toBe(201);
      // Both agents get the release and say nothing more: the deployments stay sent.
      await onSteady.next(isType("deploy"), 15_000);
      await onSkewed.next(isType("deploy"), 15_000);
      // Well inside the 6 s progress timeout, with a claimed tick every 100 ms on either hub: 20 ticks.
      await sleep(2_000);
      const state = async (agentId: string) =>
        (await steady.hub.store.getDeployment(`${created.body.id}:${agentId}`))?.state;
      for (const agentId of ["on-steady", "on-skewed"]) expect(await state(agentId), agentId).toBe("sent");
      // And once the timeout has passed by the cluster's clock, both do.
      for (const agentId of ["on-steady", "on-skewed"])
        await expect.poll(() => state(agentId), { timeout: 15_000 }).toBe("timed_out");
    },
  );

  it("a hub whose clock runs a minute ahead leaves the tick to the others once it stops", async () => {
    const { url, hubs } = await startHubs([0, 60_000]);
    const [steady, ahead] = hubs as [TestHub, TestHub];
    const sql = postgres(url, { max: 1, onnotice: () => {} });
    try {
      const claimedBy = async () => (await sql`SELECT hub_id FROM ticks WHERE name = 'engine'`)[0]?.hub_id;
      // Either hub may hold the claim now that both read the database's clock (which one is a matter
      // of their timers' phase); before the fix the hub a minute ahead held it for good.
      await expect.poll(claimedBy, { timeout: 10_000 }).toBeDefined();
      await ahead.stop();
      // Ticks run every 100 ms: the steady hub claims the next one within a moment, not once the
      // stopped hub's claim is due by its clock, a minute later.
      await expect.poll(claimedBy, { timeout: 10_000 }).toBe(steady.hub.hubId);
    } finally {
      await sql.end();
    }
  });

  it("a hub started later says when an offline agent fails as the running hubs do", async () => {
    type Detail = { waves: { agents: { agentId: string; offlineFailsAt?: string }[] }[] };
    const { url, hubs } = await cluster.start([{ offlineTimeoutMs: 60_000 }]);
    const first = hubs[0] as TestHub;
    const away = await connect(first, "away");
    away.ws.close();
    await expect
      .poll(async () => (await first.hub.store.getAgent("away"))?.online, { timeout: 10_000 })
      .toBe(false);
    const release = await publishRelease(first, "2.0.0");
    const created = await first.api<{ id: string }>("POST", "/api/v1/rollouts", {
      token: first.operator,
      body: { release, waves: [{ name: "all", percent: 100 }], failureThreshold: { count: 1 } },
    });
    expect(created.status).toBe(201);
    await sleep(2_000);
    // A hub started (or restarted) while the cluster ran: the time the cluster was up counts.
    const later = await startTestHub({
      envSecret: CLUSTER_SECRET,
      database: { url, file: "test", key: "" },
      tickIntervalMs: 100,
      offlineTimeoutMs: 60_000,
    });
    try {
      const failsAt = async (hub: TestHub) =>
        (await hub.api<Detail>("GET", `/api/v1/rollouts/${created.body.id}`, { token: hub.operator })).body
          .waves[0]?.agents[0]?.offlineFailsAt;
      const expected = await failsAt(first);
      expect(expected).toBeDefined();
      expect(await failsAt(later)).toBe(expected);
    } finally {
      await later.stop();
    }
  });
});
