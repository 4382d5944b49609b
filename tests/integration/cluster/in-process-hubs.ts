/**
 * Hubs in the test process on one real PostgreSQL (cluster mode as `serve --database-url` runs
 * it), for tests that need a hub's options a real `ship-hub serve` does not take (its clock, its
 * logger). Registers its own hooks: the server starts once per file, hubs stop after each test.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, afterEach, beforeAll } from "vitest";
import type { HubOptions } from "../../../hub/server.js";
import { type PostgresServer, startPostgres } from "../../support/servers/postgres.js";
import { freezeDatabase } from "../../support/servers/postgres-freeze.js";
import { startTestHub, type TestHub } from "../hub/support.js";

export const CLUSTER_SECRET = "a-shared-secret-of-at-least-32-bytes-for-every-hub";

export interface InProcessHubs {
  /**
   * A fresh database and one hub on it per entry of `each` (its own options). The hubs stop after
   * the test; a concurrent test passes its context's `onTestFinished`, so that another test ending
   * first does not stop them.
   */
  start(
    each: Partial<HubOptions>[],
    test?: { onTestFinished: (fn: () => Promise<void>) => void },
  ): Promise<{ url: string; hubs: TestHub[] }>;
  /**
   * Freezes the server and the database's backends (SIGSTOP) for `ms`, as a database that stops
   * answering; resolves once they run again.
   */
  freeze(url: string, ms: number, options?: FreezeOptions): Promise<void>;
  server(): PostgresServer;
}

export interface FreezeOptions {
  /** Called once every process is stopped (the freeze looks them up first, in the database). */
  onFrozen?: () => void;
  /** Thaws before `ms` ran out: a test that saw what it waited for need not sit out the rest. */
  thaw?: AbortSignal;
}

export function inProcessHubs(): InProcessHubs {
  let pg: PostgresServer | undefined;
  let dir = "";
  const hubs: TestHub[] = [];
  let count = 0;
  beforeAll(async () => {
    pg = await startPostgres();
    dir = await mkdtemp(join(tmpdir(), "ship-in-process-hubs-"));
  }, 60_000);
  afterEach(async () => {
    for (const h of hubs.splice(0)) await h.stop();
  });
  afterAll(async () => {
    await pg?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });
  const server = () => {
    if (!pg) throw new Error("PostgreSQL not started");
    return pg;
  };
  return {
    server,
    async start(each, test) {
      const url = await server().createDatabase();
      const started: TestHub[] = [];
      test?.onTestFinished(async () => {
        for (const h of started) await h.stop();
      });
      for (const options of each) {
        const hub = await startTestHub(
          {
            envSecret: CLUSTER_SECRET,
            database: { url, file: "test", key: "" },
            tickIntervalMs: 100,
            ...options,
          },
          join(dir, `unused-${count++}`),
        );
        if (!test) hubs.push(hub);
        started.push(hub);
      }
      return { url, hubs: started };
    },
    async freeze(url, ms, options = {}) {
      const frozen = await freezeDatabase(server(), new URL(url).pathname.slice(1));
      try {
        options.onFrozen?.();
        await sleep(ms, undefined, options.thaw === undefined ? {} : { signal: options.thaw }).catch(
          (error: unknown) => {
            if (!options.thaw?.aborted) throw error;
          },
        );
      } finally {
        await frozen.thaw();
      }
    },
  };
}
