/**
 * Hubs on one PostgreSQL whose clocks disagree, and a hub's last heartbeat racing its clean stop.
 *
 * Heartbeats were stamped with each hub's own clock and the dead-hub cut-off taken from the
 * ticking hub's clock, so a hub whose clock ran a minute behind looked dead to the others, and a
 * hub whose clock ran ahead found every other hub dead: each tick marked the other hubs' agents
 * offline and they reconnected, over and over, while every host was fine. Heartbeats are now
 * stamped and compared with the database's clock. Two real hubs in one process (their `now` is
 * how a skewed clock is made), real WebSocket agents, real PostgreSQL.
 */
import { setTimeout as sleep } from "node:timers/promises";
import postgres from "postgres";
import { afterEach, describe, expect, it } from "vitest";
import { secretFingerprint } from "../../../hub/cluster/shared-secret.js";
import { openPostgresStore } from "../../../hub/store/postgres-store.js";
import { memoryLogger } from "../../../shared/log.js";
import { hasPostgres } from "../../support/servers/postgres.js";
import { onlineAgent, type TestAgent, type TestHub } from "../hub/support.js";
import { CLUSTER_SECRET, inProcessHubs } from "./in-process-hubs.js";

describe.skipIf(!hasPostgres())("hub heartbeats on one PostgreSQL", () => {
  const cluster = inProcessHubs();
  const agents: TestAgent[] = [];
  afterEach(() => {
    for (const a of agents.splice(0)) a.ws.terminate();
  });

  type Finished = { onTestFinished: (fn: () => Promise<void> | void) => void };
  async function startHubs(skews: number[], test: Finished): Promise<TestHub[]> {
    const options = skews.map((skew) => ({
      heartbeatMs: 200,
      hubTimeoutMs: 3_000,
      now: () => Date.now() + skew,
    }));
    return (await cluster.start(options, test)).hubs;
  }

  const connect = (hub: TestHub, agentId: string) => onlineAgent(hub, agentId, agents);
  /** `connect` for a concurrent test: its agents are closed when that test ends, not another. */
  const connectFor = (test: Finished, hub: TestHub, agentId: string) => {
    const own: TestAgent[] = [];
    test.onTestFinished(() => {
      for (const a of own) a.ws.terminate();
    });
    return onlineAgent(hub, agentId, own);
  };

  // These three only wait out hub timeouts, each on its own database and hubs: side by side. (The
  // outage case freezes the whole PostgreSQL server, so it runs alone.)
  it.concurrent.for<[string, number]>([
    ["a minute ahead", 60_000],
    ["a minute behind", -60_000],
  ])(
    "a hub whose clock runs %s releases no agent of a live hub, and none of its own is released",
    async ([, skew], { expect, onTestFinished }) => {
      const [steady, skewed] = (await startHubs([0, skew], { onTestFinished })) as [TestHub, TestHub];
      const onSteady = await connectFor({ onTestFinished }, steady, "on-steady");
      const onSkewed = await connectFor({ onTestFinished }, skewed, "on-skewed");
      const closes = [onSteady.closed(), onSkewed.closed()].map((closed) => closed.then(({ code }) => code));
      // Longer than the hub timeout, with a claimed tick every 100 ms and heartbeats every 200 ms.
      await sleep(4_500);
      for (const id of ["on-steady", "on-skewed"]) {
        expect((await steady.hub.store.getAgent(id))?.online, id).toBe(true);
        const events = await steady.hub.store.listEvents({ limit: 100, subject: id });
        expect(
          events.filter((e) => e.kind === "agent.offline"),
          id,
        ).toEqual([]);
      }
      // Neither hub closed its agent's socket as "presumed dead".
      const settled = await Promise.race([...closes, sleep(0).then(() => "open")]);
      expect(settled).toBe("open");
    },
  );

  it.concurrent("a hub that heartbeats less often than another's timeout, within its own, is not presumed dead", async ({
    expect,
    onTestFinished,
  }) => {
    const lines: { level: string; msg: string }[] = [];
    // Mid-way through a rolling change of hub.toml: A already heartbeats every 1.5 s with a 6 s
    // timeout, B still has a 1 s timeout.
    const started = await cluster.start(
      [
        { heartbeatMs: 1_500, hubTimeoutMs: 6_000, log: memoryLogger(lines) },
        { heartbeatMs: 200, hubTimeoutMs: 1_000 },
      ],
      { onTestFinished },
    );
    const [a] = started.hubs as [TestHub, TestHub];
    const onA = await connectFor({ onTestFinished }, a, "on-slow-beater");
    const closed = onA.closed().then(({ code }) => code);
    await sleep(5_000);
    expect(lines.filter((l) => l.msg.includes("presumed this hub dead"))).toEqual([]);
    const events = await a.hub.store.listEvents({ limit: 100, subject: "on-slow-beater" });
    expect(events.filter((e) => e.kind === "agent.offline")).toEqual([]);
    expect(await Promise.race([closed, sleep(0).then(() => "open")])).toBe("open");
  });

  it("after a database outage longer than the hub timeout no hub presumes another dead", async () => {
    const lines: { level: string; msg: string }[] = [];
    const started = await cluster.start(
      [0, 1].map(() => ({
        heartbeatMs: 200,
        hubTimeoutMs: 1_000,
        log: memoryLogger(lines),
      })),
    );
    const [a, b] = started.hubs as [TestHub, TestHub];
    await connect(a, "on-a");
    await connect(b, "on-b");
    // The database stops answering for 2.5 s (server and backends frozen), then comes back.
    await cluster.freeze(started.url, 2_500);
    // Each hub closed its own agents while silent (its watchdog); afterwards, with heartbeats and
    // claimed ticks running again for longer than the timeout, neither releases the other.
    await sleep(3_000);
    expect(
      lines.filter((l) => l.msg.includes("no heartbeat written within the hub timeout")).length,
    ).toBeGreaterThan(0);
    expect(lines.filter((l) => l.msg.includes("presumed this hub dead"))).toEqual([]);
    for (const id of ["on-a", "on-b"]) {
      const events = await a.hub.store.listEvents({ limit: 100, subject: id });
      expect(
        events.filter((e) => e.kind === "agent.offline" && JSON.stringify(e.data).includes("heartbeating")),
      ).toEqual([]);
    }
  });

  it("a heartbeat waiting on another hub's release of its row says the row was gone", async () => {
    const url = await cluster.server().createDatabase();
    const store = await openPostgresStore(url, { maxConnections: 2 });
    const other = postgres(url, { max: 2, onnotice: () => {} });
    try {
      await store.claimSecret(secretFingerprint(Buffer.from(CLUSTER_SECRET)), {
        hubId: "released",
        at: Date.now(),
        liveForMs: 30_000,
      });
      expect((await store.renewHeartbeat("released", 30_000)).previous).toBeTypeOf("number");
      // Another hub's tick deletes the row (releasing its agents) and commits only after this
      // hub's heartbeat statement has started, read the row, and waits on the delete's lock.
      let beat: ReturnType<typeof store.renewHeartbeat> | undefined;
      await other.begin(async (tx) => {
        await tx`DELETE FROM hubs WHERE id = 'released'`;
        beat = store.renewHeartbeat("released", 30_000);
        for (let i = 0; ; i++) {
          const [waiting] = await other`SELECT count(*)::int AS n FROM pg_stat_activity
            WHERE datname = current_database() AND wait_event_type = 'Lock'`;
          if (waiting?.n === 1) break;
          if (i > 200) throw new Error("the heartbeat never waited on the delete");
          await sleep(10);
        }
      });
      expect((await beat)?.previous).toBeUndefined();
    } finally {
      await other.end();
      await store.close();
    }
  });

  it("a heartbeat in flight when a hub stops does not make the stopped hub count as running", async () => {
    const url = await cluster.server().createDatabase();
    const store = await openPostgresStore(url, { maxConnections: 2 });
    try {
      const other = secretFingerprint(Buffer.from("another secret, after every hub stopped"));
      await store.claimSecret(secretFingerprint(Buffer.from(CLUSTER_SECRET)), {
        hubId: "stopping",
        at: Date.now(),
        liveForMs: 30_000,
      });
      await store.retireHub("stopping", Date.now());
      // The hub's last heartbeat, sent before it stopped, reaches the database after the stop.
      await store.renewHeartbeat("stopping", 30_000);
      // A secret change right after every hub stopped: nothing is running any more.
      expect(await store.claimSecret(other, { hubId: "next", at: Date.now(), liveForMs: 30_000 })).toEqual({
        matches: true,
        replaced: true,
      });
    } finally {
      await store.close();
    }
  });
});
