/**
 * How soon a hub's pool uses a database that came back. postgres.js waits before each reconnect
 * attempt, 3^n/100 s after n failed attempts in a row (any connection of the pool), up to 20 s: a
 * database away for a few seconds under a busy hub left that hub answering 503 and writing no
 * heartbeat for up to 20 s after it was back, which with a 30 s hub timeout got its agents released
 * and closed after a 15 s restart. A real PostgreSQL behind a relay that refuses connections for a
 * while, as during a restart.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openPostgresStore } from "../../../hub/store/postgres-store.js";
import { hasPostgres, type PostgresServer, startPostgres } from "../../support/servers/postgres.js";
import { startRelay } from "./pg-relay.js";

describe.skipIf(!hasPostgres())("a hub's database comes back", () => {
  let pg: PostgresServer;
  beforeAll(async () => {
    pg = await startPostgres();
  }, 60_000);
  afterAll(async () => {
    await pg?.stop();
  });

  it("is used within a few seconds, however many attempts failed while it was away", async () => {
    const url = await pg.createDatabase();
    const relay = await startRelay(Number(new URL(url).port));
    const through = new URL(url);
    through.port = String(relay.port);
    const store = await openPostgresStore(through.toString(), { maxConnections: 4 });
    try {
      await store.clock();
      await relay.down();
      // 8 s of a busy hub's timers (heartbeat, tick, resync) querying, each query failing.
      const busy = setInterval(() => void store.clock().catch(() => {}), 100);
      await sleep(8_000);
      clearInterval(busy);
      await relay.up();
      const back = Date.now();
      for (;;) {
        const answered = await Promise.race([
          store.clock().then(
            () => true,
            () => false,
          ),
          sleep(500).then(() => false),
        ]);
        if (answered) break;
        if (Date.now() - back > 30_000) throw new Error("the store never answered again");
      }
      expect(Date.now() - back).toBeLessThan(3_500);
    } finally {
      await store.close();
      await relay.down();
    }
  }, 60_000);

  it("a pool ended while a new connection waits for its first answer: the call fails, the process lives", async () => {
    // The driver's array-type lookup, sent first on each new connection, was a promise nobody held:
    // a pool ended during it (the hub stopping, a silent pool replaced) rejected it unhandled, and
    // Node ends a process on an unhandled rejection.
    const url = await pg.createDatabase();
    const relay = await startRelay(Number(new URL(url).port));
    const through = new URL(url);
    through.port = String(relay.port);
    const unhandled: unknown[] = [];
    const record = (reason: unknown) => unhandled.push(String(reason));
    process.on("unhandledRejection", record);
    const store = await openPostgresStore(through.toString(), { maxConnections: 1 });
    try {
      await store.clock();
      // The pool's connection lost (a restart); the next one logs in, then the database is silent.
      relay.atFirstQuery("hold");
      await relay.down();
      await relay.up();
      let call: Promise<unknown> = Promise.resolve();
      // The first call may still go to the old connection, before its loss is seen.
      for (let i = 0; i < 5 && relay.stopped() === 0; i++) {
        call = store.tx((t) => t.listOnlineAgentIds()).catch((error: unknown) => error);
        await Promise.race([call, sleep(500)]);
      }
      expect(relay.stopped()).toBe(1);
      await store.close(0);
      expect(await call).toBeInstanceOf(Error);
      // A rejection nobody handled is reported once the microtasks ran.
      await sleep(50);
      expect(unhandled).toEqual([]);
    } finally {
      process.off("unhandledRejection", record);
      await store.close(0);
      await relay.down();
    }
  });
});
