/**
 * A running hub whose PostgreSQL stops taking writes (a failover that left the hub's address on a
 * server now read-only, or default_transaction_read_only switched on): every write failed with
 * SQLSTATE 25006 and the API answered 500 "internal error", logged as a bug. It is now a 503 with
 * Retry-After saying the database takes no writes, as for a database that is away.
 */
import postgres from "postgres";
import { describe, expect, it } from "vitest";
import { hasPostgres } from "../../support/servers/postgres.js";
import type { TestHub } from "../hub/support.js";
import { manifestText } from "../hub/support.js";
import { inProcessHubs } from "./in-process-hubs.js";

describe.skipIf(!hasPostgres())("a hub whose database turns read-only", () => {
  const cluster = inProcessHubs();

  it("answers writes 503 with Retry-After saying the database takes no writes", async () => {
    const { url, hubs } = await cluster.start([{ tickIntervalMs: 1_000 }]);
    const hub = hubs[0] as TestHub;
    const name = new URL(url).pathname.slice(1);
    const admin = postgres(cluster.server().url, { max: 1, onnotice: () => {} });
    try {
      await admin.unsafe(`ALTER DATABASE ${name} SET default_transaction_read_only = on`);
      // The setting applies to new sessions: the hub's pool reconnects.
      await admin`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = ${name}`;
      const publish = () =>
        fetch(`${hub.hub.url}/api/v1/releases`, {
          method: "POST",
          headers: { authorization: `Bearer ${hub.ci}`, "content-type": "application/json" },
          body: JSON.stringify({
            app: "web",
            version: "2.0.0",
            manifest: manifestText("2.0.0"),
            source: { type: "git", commit: "abcdef1" },
          }),
        });
      // The first attempts may meet the terminated connections (unreachable, also a 503).
      await expect
        .poll(
          async () => {
            const res = await publish();
            return { status: res.status, retryAfter: res.headers.get("retry-after"), body: await res.json() };
          },
          { timeout: 30_000 },
        )
        .toEqual({
          status: 503,
          retryAfter: "5",
          body: {
            error:
              "the hub's database takes no writes (read-only: a standby, or default_transaction_read_only); try again",
          },
        });
    } finally {
      await admin.unsafe(`ALTER DATABASE ${name} RESET default_transaction_read_only`);
      await admin.end();
    }
  }, 90_000);
});
