/**
 * How a woken hub's marks commit, on a real PostgreSQL with fsync on: a mark the wake-up makes on
 * the pool (its statement commits alone) does not wait for the WAL flush, since a mark lost in a
 * crash leaves its rows `pending` and they are sent again; a mark inside a transaction, and every
 * other commit, still waits. The database is given a flush that takes 100 ms (`commit_delay`,
 * which only a commit waiting for the flush sleeps), so which commits wait is plain in their time
 * whatever the machine's load.
 */
import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openPostgresStore, type PostgresStore } from "../../../hub/store/postgres-store.js";
import { hasPostgres, type PostgresServer, startPostgres } from "../../support/servers/postgres.js";

const FLUSH_MS = 100;
const AGENTS = 12;

describe.skipIf(!hasPostgres())("a woken hub's marks and the WAL flush", () => {
  let pg: PostgresServer;
  let store: PostgresStore;
  let admin: postgres.Sql;
  const agentIds = Array.from({ length: AGENTS }, (_, i) => `flush-${String(i).padStart(2, "0")}`);
  const sent = { at: 1, actor: "hub", kind: "deployment.sent" };

  beforeAll(async () => {
    pg = await startPostgres({ durable: true });
    const url = await pg.createDatabase();
    admin = postgres(url, { max: 1, onnotice: () => {} });
    const name = new URL(url).pathname.slice(1);
    // Every flush a commit waits for sleeps this long first (commit_siblings 0: always).
    await admin.unsafe(
      `ALTER DATABASE ${name} SET commit_delay = ${FLUSH_MS * 1000}; ALTER DATABASE ${name} SET commit_siblings = 0`,
    );
    store = await openPostgresStore(url);
    const list = `{${agentIds.join(",")}}`;
    await admin`INSERT INTO agents (id, hostname, labels, agent_version, apps, online, last_seen)
      SELECT x, 'h', '{}', '1', '[]', true, 0 FROM unnest(${list}::text[]) x`;
    await admin`INSERT INTO releases (id, app, version, manifest, source, created, created_by)
      VALUES ('flush-rel', 'flush', '1', '', '{}', 0, 'test')`;
    await admin`INSERT INTO rollouts (id, release_id, app, spec, state, current_wave, wave_started_at, created, updated)
      VALUES ('flush-ro', 'flush-rel', 'flush', '{}', 'running', 0, 0, 0, 0)`;
    await admin`INSERT INTO deployments (id, rollout_id, agent_id, wave, desired_release, state, updated_at)
      SELECT 'flush-ro:' || x, 'flush-ro', x, 0, 'flush-rel', 'pending', 0 FROM unnest(${list}::text[]) x`;
  }, 60_000);
  afterAll(async () => {
    await admin?.end();
    await store?.close();
    await pg?.stop();
  });

  const timed = async (work: () => Promise<unknown>): Promise<number> => {
    const t0 = performance.now();
    await work();
    return performance.now() - t0;
  };
  const median = (ms: readonly number[]) => [...ms].sort((a, b) => a - b)[Math.floor(ms.length / 2)] ?? 0;

  it("a mark committed alone returns without the flush; the same write in a transaction, and other commits, wait for it", async () => {
    // The setting works: an ordinary commit on the store's pool waits the flush.
    const plain: number[] = [];
    for (let i = 0; i < 3; i++)
      plain.push(
        await timed(() =>
          store.appendEvents([{ at: i, actor: "test", kind: "flush.probe", subject: "flush", data: {} }]),
        ),
      );
    expect(
      Math.min(...plain),
      `plain commits: ${plain.map(Math.round).join(", ")} ms`,
    ).toBeGreaterThanOrEqual(FLUSH_MS - 5);

    // Wake-up marks (one agent a statement, as a chunk of the wake-up commits): no flush waited.
    const marks: number[] = [];
    for (const agentId of agentIds.slice(0, AGENTS - 2))
      marks.push(
        await timed(async () => {
          const rows = await store.markDueDeploymentsSent(
            { rolloutId: "flush-ro", agentIds: [agentId] },
            sent,
          );
          expect(rows.map((r) => [r.agentId, r.state, r.attempts])).toEqual([[agentId, "sent", 1]]);
        }),
      );
    expect(median(marks), `marks: ${marks.map(Math.round).join(", ")} ms`).toBeLessThan(FLUSH_MS - 5);

    // In a caller's transaction its commit decides: it waits as any other.
    const inTx = await timed(() =>
      store.tx((t) =>
        t.markDueDeploymentsSent({ rolloutId: "flush-ro", agentIds: agentIds.slice(AGENTS - 2) }, sent),
      ),
    );
    expect(inTx, "a mark inside a transaction").toBeGreaterThanOrEqual(FLUSH_MS - 5);

    // The relaxation ended with each mark's own transaction: the pool's next commit waits again.
    const after = await timed(() =>
      store.appendEvents([{ at: 9, actor: "test", kind: "flush.probe", subject: "flush", data: {} }]),
    );
    expect(after, "a commit after the marks").toBeGreaterThanOrEqual(FLUSH_MS - 5);

    // What the marks wrote is all there: every row sent once, with its one event.
    const rows = await admin`SELECT d.agent_id, d.state, d.attempts,
        (SELECT COUNT(*) FROM events e WHERE e.subject = d.id AND e.kind = 'deployment.sent')::int AS events
      FROM deployments d WHERE d.rollout_id = 'flush-ro' ORDER BY d.agent_id`;
    expect(rows.map((r) => [r.agent_id, r.state, r.attempts, r.events])).toEqual(
      agentIds.map((id) => [id, "sent", 1, 1]),
    );
  }, 60_000);
});
