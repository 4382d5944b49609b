/**
 * The cross-hub wake-up against a real PostgreSQL: changes committed on another connection (as
 * another hub would) wake delivery for that rollout, a rolled-back or report-level change does
 * not, a burst collapses, and the listener survives its backend being terminated (then resyncs).
 */
import postgres from "postgres";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { type ClusterWakeup, startClusterWakeup } from "../../../hub/cluster/wakeup.js";
import type { PostgresStore } from "../../../hub/store/postgres-store.js";
import { openPostgresStore, WAKEUP_APPLICATION_NAME } from "../../../hub/store/postgres-store.js";
import { memoryLogger } from "../../../shared/log.js";
import { hasPostgres, type PostgresServer, startPostgres } from "../../support/servers/postgres.js";
import { silenceableRelay } from "../../support/servers/silent-relay.js";
import { steppedClocks } from "../../support/stepped-clocks.js";
import { gate, release, rollout, sleep } from "../hub/store-contract/subjects.js";
import { startRelay } from "./pg-relay.js";

const available = hasPostgres();

/** What the wake-up asked this "hub" to do, in order. */
interface Recorder {
  deliveries: (string | undefined)[];
  /** Per delivery, the agents it was limited to (sorted), or undefined for a whole delivery. */
  limits: (string[] | undefined)[];
  /** Echoes this "hub" expects (its own creates), taken as echoOf is asked. */
  echoes: Map<string, ReadonlySet<string>>;
  wakes: number;
  /** Agents it was asked to check: heard at once, while deliveries wait behind `block`. */
  checks: string[];
  block?: Promise<void>;
}

async function eventually(check: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

describe.skipIf(!available)("cluster wake-up (LISTEN/NOTIFY on real PostgreSQL)", () => {
  let server: PostgresServer;
  let url: string;
  let store: PostgresStore;
  let admin: postgres.Sql;
  let wakeup: ClusterWakeup | undefined;
  let seen: Recorder;
  const lines: { level: string; msg: string }[] = [];

  beforeAll(async () => {
    server = await startPostgres();
    url = await server.createDatabase();
    store = await openPostgresStore(url);
    admin = postgres(url, { max: 1, onnotice: () => {} });
    await store.insertRelease(release("r1"));
  });
  afterAll(async () => {
    await store?.close();
    await admin?.end();
    await server?.stop();
  });
  beforeEach(() => {
    seen = { deliveries: [], limits: [], echoes: new Map(), wakes: 0, checks: [] };
  });
  afterEach(async () => {
    await wakeup?.close();
    wakeup = undefined;
    await admin`DELETE FROM rollouts`;
  });

  const start = async (resyncMs = 600_000) => {
    wakeup = await startClusterWakeup(
      { url, log: memoryLogger(lines), resyncMs },
      {
        async deliverPending(id, only) {
          seen.deliveries.push(id);
          seen.limits.push(only && [...only].sort());
          await seen.block;
        },
        echoOf(id) {
          const echo = seen.echoes.get(id);
          seen.echoes.delete(id);
          return echo;
        },
        wakeEvents() {
          seen.wakes++;
        },
        checkNow(agentId) {
          seen.checks.push(agentId);
        },
      },
    );
    return wakeup;
  };
  const deliveriesOf = (id: string | undefined) => seen.deliveries.filter((d) => d === id).length;

  it("wakes delivery of a rollout created or advanced by another connection, only once it commits", async () => {
    await start();
    let insideTx = -1;
    await store.tx(async (t) => {
      await t.insertRollout(rollout("ro1", "r1"));
      // A notification would have arrived by now if it were sent before commit.
      await sleep(400);
      insideTx = seen.deliveries.length;
    });
    expect(insideTx).toBe(0);
    await eventually(() => deliveriesOf("ro1") === 1, "the wake-up for the created rollout");
    expect(seen.wakes).toBe(1);

    await store.updateRollout("ro1", { currentWave: 1, waveStartedAt: 20, updated: 20 });
    await eventually(() => deliveriesOf("ro1") === 2, "the wake-up for the advanced wave");
    for (const state of ["paused", "running", "aborted"] as const) {
      const before = deliveriesOf("ro1");
      await store.updateRollout("ro1", { state, updated: 30 });
      await eventually(() => deliveriesOf("ro1") === before + 1, `the wake-up for ${state}`);
    }
    expect(seen.deliveries.every((d) => d === "ro1")).toBe(true);
  });

  it("stays quiet for a rolled-back change and for a change that is not rollout-level", async () => {
    await store.insertRollout(rollout("ro2", "r1"));
    await start();
    await expect(
      store.tx(async (t) => {
        await t.updateRollout("ro2", { state: "paused", updated: 40 });
        throw new Error("changed my mind");
      }),
    ).rejects.toThrow("changed my mind");
    // Only the timestamp: what a report-level write would look like if one touched the row.
    await store.updateRollout("ro2", { updated: 50 });
    // A real wake-up after both proves the listener was live all along.
    await admin`SELECT pg_notify('ship_rollout', 'marker')`;
    await eventually(() => deliveriesOf("marker") === 1, "the marker");
    expect(seen.deliveries).toEqual(["marker"]);
  });

  it("limits the echo of this hub's own create to the agents it names; another hub's later change is whole", async () => {
    await start();
    seen.echoes.set("ro7", new Set(["a2", "a1"]));
    await store.insertRollout(rollout("ro7", "r1"));
    await eventually(() => deliveriesOf("ro7") === 1, "the echo's delivery");
    expect(seen.limits).toEqual([["a1", "a2"]]);
    // The echo is taken once: the next commit on the rollout (another hub's advance) is not this hub's.
    await store.updateRollout("ro7", { currentWave: 1, waveStartedAt: 20, updated: 20 });
    await eventually(() => deliveriesOf("ro7") === 2, "the advance's delivery");
    expect(seen.limits).toEqual([["a1", "a2"], undefined]);
    expect(seen.wakes).toBe(2);
    // One active rollout per app: this one ends before the next starts.
    await store.updateRollout("ro7", { state: "completed", updated: 25 });
    await eventually(() => deliveriesOf("ro7") === 3, "the completion's delivery");

    // An echo folded with another hub's change while a delivery runs: one whole delivery answers both.
    const hold = gate();
    seen.block = hold.wait;
    await admin`SELECT pg_notify('ship_rollout', 'busy')`;
    await eventually(() => deliveriesOf("busy") === 1, "a delivery holding the queue");
    seen.echoes.set("ro8", new Set(["a1"]));
    await store.insertRollout(rollout("ro8", "r1"));
    await store.updateRollout("ro8", { state: "paused", updated: 30 });
    await admin`SELECT pg_notify('ship_check_now', 'heard')`;
    await eventually(() => seen.checks.includes("heard"), "the notifications sent while delivery was held");
    seen.block = undefined;
    hold.open();
    await eventually(() => deliveriesOf("ro8") === 1, "the folded delivery");
    await admin`SELECT pg_notify('ship_rollout', 'marker')`;
    await eventually(() => deliveriesOf("marker") === 1, "the marker");
    expect(deliveriesOf("ro8")).toBe(1);
    expect(seen.limits.at(seen.deliveries.indexOf("ro8"))).toBeUndefined();
  });

  it("folds a burst of wake-ups for one rollout into at most one more delivery", async () => {
    await start();
    const hold = gate();
    seen.block = hold.wait;
    await admin`SELECT pg_notify('ship_rollout', 'ro3')`;
    await eventually(() => deliveriesOf("ro3") === 1, "the first delivery");
    for (let i = 0; i < 20; i++) await admin`SELECT pg_notify('ship_rollout', 'ro3')`;
    await admin`SELECT pg_notify('ship_rollout', 'ro4')`;
    // The listener hears notifications in commit order: once this check is in, so are the 21 above.
    // A fixed 300 ms wait for them assumed a machine fast enough; any heard after the hold opens
    // find ro3's second delivery under way and make a third.
    await admin`SELECT pg_notify('ship_check_now', 'heard')`;
    await eventually(() => seen.checks.includes("heard"), "the notifications sent while delivery was held");
    seen.block = undefined;
    hold.open();
    await eventually(() => deliveriesOf("ro4") === 1, "the other rollout's delivery");
    expect(deliveriesOf("ro3")).toBe(2);
  });

  it("resyncs every resyncMs, and a failing delivery does not stop the next one", async () => {
    let calls = 0;
    wakeup = await startClusterWakeup(
      { url, log: memoryLogger(lines), resyncMs: 150 },
      {
        async deliverPending(id) {
          calls++;
          seen.deliveries.push(id);
          if (calls === 1) throw new Error("database hiccup");
        },
        wakeEvents() {},
        checkNow() {},
      },
    );
    await eventually(() => deliveriesOf(undefined) >= 3, "three resyncs");
    expect(lines.some((l) => l.level === "warn" && l.msg.includes("failed"))).toBe(true);
  });

  /** A wake-up whose first `failures` deliveries fail, as on a pooled connection a restart ended. */
  const failingFirst = async (failures: number) => {
    let left = failures;
    wakeup = await startClusterWakeup(
      { url, log: memoryLogger(lines), resyncMs: 600_000 },
      {
        async deliverPending(id) {
          seen.deliveries.push(id);
          if (left-- > 0) throw new Error("terminating connection due to administrator command");
        },
        wakeEvents() {},
        checkNow() {},
      },
    );
    return wakeup;
  };

  it("tries a failed delivery again within seconds, not at the next resync", async () => {
    await failingFirst(2);
    await admin`SELECT pg_notify('ship_rollout', 'ro6')`;
    await eventually(() => deliveriesOf("ro6") === 3, "the delivery tried again until it went through");
    expect(deliveriesOf(undefined)).toBe(0);
  });

  it("tries a failed resync after a re-listen again: what it may have missed is not left for the next one", async () => {
    const running = await failingFirst(1);
    await admin`SELECT pg_terminate_backend(pid) FROM pg_stat_activity
      WHERE application_name = ${WAKEUP_APPLICATION_NAME} AND datname = current_database()`;
    await eventually(() => running.stats.listens === 2, "the listener's second LISTEN");
    await eventually(() => deliveriesOf(undefined) === 2, "the resync tried again after it failed");
  });

  it("listens again after its backend is terminated, and resyncs for what it may have missed", async () => {
    const running = await start();
    const terminated = await admin`SELECT pg_terminate_backend(pid) AS done FROM pg_stat_activity
      WHERE application_name = ${WAKEUP_APPLICATION_NAME} AND datname = current_database()`;
    expect(terminated.length).toBe(1);
    // Sent while the listener is gone: lost to it, which the resync on re-listen makes up for.
    await admin`SELECT pg_notify('ship_rollout', 'lost')`;
    await eventually(() => running.stats.listens === 2, "the listener's second LISTEN");
    await eventually(() => deliveriesOf(undefined) === 1, "the resync after reconnecting");
    await admin`SELECT pg_notify('ship_rollout', 'after')`;
    await eventually(() => deliveriesOf("after") === 1, "a wake-up on the new connection");
  });

  it("says once that it reconnected after a database outage, however many attempts it took", async () => {
    // The listener reaches the database through a relay that can refuse it, as during a restart:
    // each failed attempt queued another LISTEN, and each answered on reconnect, so one outage was
    // logged ("reconnected; resyncing") and counted once per attempt.
    const relay = await startRelay(Number(new URL(url).port));
    try {
      const through = new URL(url);
      through.port = String(relay.port);
      wakeup = await startClusterWakeup(
        { url: through.toString(), log: memoryLogger(lines), resyncMs: 600_000 },
        { deliverPending: async (id) => void seen.deliveries.push(id), wakeEvents() {}, checkNow() {} },
      );
      const running = wakeup;
      const reconnected = () => lines.filter((l) => l.msg.includes("listener reconnected")).length;
      const before = reconnected();
      await relay.down();
      // Down for several attempts (the driver's backoff starts at 25–50 ms and doubles): without
      // the one-reconnect window, 1.5 s still logs it 4 times; 3 s only waited longer.
      await sleep(1_500);
      await relay.up();
      await eventually(() => running.stats.listens >= 2, "the listener's LISTEN after the outage", 20_000);
      // Every attempt's LISTEN has been answered by now.
      await sleep(1_000);
      expect(reconnected() - before).toBe(1);
      expect(running.stats.listens).toBe(2);
      expect(deliveriesOf(undefined)).toBe(1);
    } finally {
      await wakeup?.close();
      wakeup = undefined;
      await relay.down();
    }
  });

  /** A wake-up listening through the relay on `relayPort`, once a check relayed to it arrived. */
  const listenThrough = async (relayPort: number, checks: string[]) => {
    const through = new URL(url);
    through.port = String(relayPort);
    wakeup = await startClusterWakeup(
      // An answer timeout a loaded CI machine's probes stay well inside (300 ms failed one at load 15).
      { url: through.toString(), log: memoryLogger(lines), resyncMs: 100, answerTimeoutMs: 1500 },
      { deliverPending: async () => {}, wakeEvents() {}, checkNow: (id) => void checks.push(id) },
    );
    await admin`SELECT pg_notify('ship_check_now', 'before')`;
    await eventually(() => checks.includes("before"), "a relayed check on the first connection");
  };
  /** Relayed again until one gets through: those sent before a new LISTEN are lost to it. */
  const relayedAgain = (checks: string[]) =>
    eventually(
      () => {
        // A query of this driver runs once it is awaited (or caught).
        admin`SELECT pg_notify('ship_check_now', 'after')`.catch(() => {});
        return checks.includes("after");
      },
      "a relayed check on a new connection",
      15_000,
    );

  it("replaces a listening connection that went silent: a check relayed by another hub reaches it again", async () => {
    // Silent, not lost (a NAT that dropped its state): the driver never notices, so before, the
    // listener heard nothing more and every relayed check_now was lost.
    const relay = await silenceableRelay(Number(new URL(url).port));
    const checks: string[] = [];
    try {
      await listenThrough(relay.port, checks);
      // A connection that answers keeps answering its probes: not replaced, over twice the time
      // that would replace one whose probes went unanswered.
      await sleep(3200);
      expect(lines.filter((l) => l.msg.includes("did not answer"))).toEqual([]);
      expect(relay.silenceOpen()).toBeGreaterThanOrEqual(1);
      await relayedAgain(checks);
      // The new connection hears checks once its LISTEN on their channel is answered, before its
      // probe channel's LISTEN is and the replacement is logged: two answers, in either order.
      await eventually(
        () => lines.some((l) => l.msg.includes("listener replaced")),
        "the replacement's log line",
      );
    } finally {
      await wakeup?.close();
      wakeup = undefined;
      await relay.close();
    }
  });

  it("replaces a listening connection that went silent though the wall clock is set back an hour meanwhile", async () => {
    // The probe's wait was counted on the wall clock: set back an hour after a probe went out (NTP),
    // the silent connection was kept for the hour, and every relayed check_now was lost.
    const shift = steppedClocks();
    const relay = await silenceableRelay(Number(new URL(url).port));
    const checks: string[] = [];
    try {
      await listenThrough(relay.port, checks);
      expect(relay.silenceOpen()).toBeGreaterThanOrEqual(1);
      // A resync's probe goes out on the silent connection, then the clock is set back.
      await sleep(300);
      shift.wall = -3_600_000;
      await relayedAgain(checks);
    } finally {
      vi.restoreAllMocks();
      await wakeup?.close();
      wakeup = undefined;
      await relay.close();
    }
  });

  it("keeps a listener that came back after a database restart: probes unsent meanwhile are no silence", async () => {
    // pg_ctl restart -m fast, as an operator runs it. A probe sent while the server was down failed
    // and stayed "out", and the listener the driver had re-established was replaced for not
    // answering it, with a warning, after every restart.
    const own = await startPostgres();
    const ownLines: { level: string; msg: string }[] = [];
    try {
      const ownUrl = await own.createDatabase();
      wakeup = await startClusterWakeup(
        { url: ownUrl, log: memoryLogger(ownLines), resyncMs: 100, answerTimeoutMs: 1500 },
        { deliverPending: async () => {}, wakeEvents() {}, checkNow() {} },
      );
      const running = wakeup;
      await own.restart();
      await eventually(() => running.stats.listens >= 2, "the LISTEN after the restart", 20_000);
      // Twice the answer timeout, with a probe every 100 ms: a probe left out would replace it.
      await sleep(3000);
      expect(ownLines.filter((l) => l.msg.includes("did not answer"))).toEqual([]);
      expect(running.stats.listens).toBe(2);
    } finally {
      await wakeup?.close();
      wakeup = undefined;
      await own.stop();
    }
  }, 60_000);
});
