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
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import postgres from "postgres";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { secretFingerprint } from "../../../hub/cluster/shared-secret.js";
import type { HubOptions } from "../../../hub/server.js";
import { openPostgresStore } from "../../../hub/store/postgres-store.js";
import { memoryLogger } from "../../../shared/log.js";
import { hasPostgres, type PostgresServer, startPostgres } from "../../support/servers/postgres.js";
import { startTestHub, TestAgent, type TestHub } from "../hub/support.js";

const SECRET = "a-shared-secret-of-at-least-32-bytes-for-every-hub";

describe.skipIf(!hasPostgres())("hub heartbeats on one PostgreSQL", () => {
  let pg: PostgresServer;
  let dir: string;
  let hubs: TestHub[] = [];
  const agents: TestAgent[] = [];

  beforeAll(async () => {
    pg = await startPostgres();
    dir = await mkdtemp(join(tmpdir(), "ship-hub-clocks-"));
  }, 60_000);
  afterEach(async () => {
    for (const a of agents.splice(0)) a.ws.terminate();
    for (const h of hubs) await h.stop();
    hubs = [];
  });
  afterAll(async () => {
    await pg?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  async function startHubs(
    url: string,
    skews: number[],
    overrides: Partial<HubOptions> = {},
  ): Promise<TestHub[]> {
    for (const skew of skews) {
      const options: Partial<HubOptions> = {
        envSecret: SECRET,
        database: { url, file: "test", key: "" },
        tickIntervalMs: 100,
        heartbeatMs: 200,
        hubTimeoutMs: 3_000,
        now: () => Date.now() + skew,
        ...overrides,
      };
      hubs.push(await startTestHub(options, join(dir, `unused-${hubs.length}`)));
    }
    return hubs.slice(-skews.length);
  }

  async function connect(hub: TestHub, agentId: string): Promise<TestAgent> {
    const agent = await TestAgent.connect(hub.hub.url, await hub.agentToken(agentId));
    agents.push(agent);
    agent.hello(agentId);
    await expect.poll(async () => (await hub.hub.store.getAgent(agentId))?.online).toBe(true);
    return agent;
  }

  it.each([
    ["a minute ahead", 60_000],
    ["a minute behind", -60_000],
  ])(
    "a hub whose clock runs %s releases no agent of a live hub, and none of its own is released",
    async (_, skew) => {
      const url = await pg.createDatabase();
      const [steady, skewed] = (await startHubs(url, [0, skew])) as [TestHub, TestHub];
      const onSteady = await connect(steady, "on-steady");
      const onSkewed = await connect(skewed, "on-skewed");
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
    30_000,
  );

  it("after a database outage longer than the hub timeout no hub presumes another dead", async () => {
    const url = await pg.createDatabase();
    const lines: { level: string; msg: string }[] = [];
    const [a, b] = (await startHubs(url, [0, 0], { hubTimeoutMs: 1_000, log: memoryLogger(lines) })) as [
      TestHub,
      TestHub,
    ];
    await connect(a, "on-a");
    await connect(b, "on-b");
    // The database stops answering for 2.5 s (server and backends frozen), then comes back.
    const admin = postgres(pg.url, { max: 1, onnotice: () => {} });
    const name = new URL(url).pathname.slice(1);
    const backends = (await admin`SELECT pid FROM pg_stat_activity WHERE datname = ${name}`).map((r) =>
      Number(r.pid),
    );
    const postmaster = Number(
      (await readFile(`/proc/${backends[0]}/stat`, "utf8")).split(") ")[1]?.split(" ")[1],
    );
    const pids = [postmaster, ...backends];
    try {
      for (const pid of pids) process.kill(pid, "SIGSTOP");
      await sleep(2_500);
    } finally {
      for (const pid of pids) process.kill(pid, "SIGCONT");
      await admin.end();
    }
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
  }, 40_000);

  it("a heartbeat in flight when a hub stops does not make the stopped hub count as running", async () => {
    const url = await pg.createDatabase();
    const store = await openPostgresStore(url, { maxConnections: 2 });
    try {
      const other = secretFingerprint(Buffer.from("another secret, after every hub stopped"));
      await store.claimSecret(secretFingerprint(Buffer.from(SECRET)), {
        hubId: "stopping",
        at: Date.now(),
        liveForMs: 30_000,
      });
      await store.retireHub("stopping", Date.now());
      // The hub's last heartbeat, sent before it stopped, reaches the database after the stop.
      await store.renewHeartbeat("stopping");
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
