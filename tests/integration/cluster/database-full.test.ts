/**
 * A hub whose PostgreSQL has no connection slot left (max_connections taken: more hubs than the
 * server was sized for, a report storm growing every hub's pool, another client's leak). Each
 * request that needed a new connection was answered 500 "internal error", with one ERROR
 * "request failed … too many clients already" per request, as if the hub had a bug, and no
 * Retry-After. It is the database being unavailable: 503 with Retry-After, said once a minute.
 * Real `ship-hub serve` on a real PostgreSQL whose slots a client holds.
 */
import { readFile } from "node:fs/promises";
import postgres from "postgres";
import { describe, expect, it } from "vitest";
import { canRunCluster } from "../../support/cluster.js";
import { clusterPerFile } from "./cluster-per-file.js";

const run = canRunCluster();
const started = clusterPerFile(run, { hubs: 1 });

describe.runIf(run)("a hub whose database has no connection slot left", () => {
  it("answers API requests 503 with Retry-After, logged once, and 200 again once slots are free", async () => {
    const cluster = started();
    const hub = cluster.hub(0);
    const get = () =>
      fetch(`${hub.url}/api/v1/rollouts`, { headers: { authorization: `Bearer ${cluster.operator}` } });
    expect((await get()).status).toBe(200);
    // The hub's pool must open new connections: its idle ones go (the wake-up listener stays).
    await cluster.must()`SELECT pg_terminate_backend(pid) FROM pg_stat_activity
      WHERE datname = current_database() AND application_name = 'postgres.js' AND pid <> pg_backend_pid()`;
    // Every slot taken: sessions that sleep until the test ends them.
    const hog = postgres(cluster.databaseUrl, { max: 100, onnotice: () => {} });
    const held = Array.from({ length: 100 }, () => hog`SELECT pg_sleep(120)`.catch(() => {}));
    try {
      await cluster.waitFor("every slot taken", async () => {
        const [row] =
          await cluster.must()`SELECT count(*)::int AS n FROM pg_stat_activity WHERE query LIKE 'SELECT pg_sleep%'`;
        return (row?.n ?? 0) > 40;
      });
      // A request served by a connection the pool opened before the slots ran out is a 200.
      const answers = await Promise.all(Array.from({ length: 5 }, get));
      const refused = answers.filter((a) => a.status !== 200);
      expect(refused.length).toBeGreaterThan(0);
      expect(refused.map((a) => [a.status, a.headers.get("retry-after")])).toEqual(
        refused.map(() => [503, "5"]),
      );
      expect(await refused[0]?.json()).toEqual({ error: "the hub's database is unreachable; try again" });
      // One line for the minute (the unreachable database's), not one per request. The hub's stderr
      // is buffered (pino's async destination): the line may land after the answers did.
      const failedLines = async () =>
        (await readFile(hub.logFile, "utf8"))
          .split("\n")
          .filter((line) => line.includes('"msg":"request failed"'));
      await expect.poll(async () => (await failedLines()).length).toBeGreaterThan(0);
      expect(await failedLines()).toHaveLength(1);
    } finally {
      // A backend in pg_sleep does not notice its client went; end them from here.
      await cluster.must()`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query LIKE 'SELECT pg_sleep%'`;
      await hog.end({ timeout: 0 });
      await Promise.all(held);
    }
    await cluster.waitFor("the hub answering again", async () => (await get()).status === 200);
  }, 90_000);
});
