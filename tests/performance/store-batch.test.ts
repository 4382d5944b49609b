/**
 * Measurement, not a check (skipped unless SHIP_BENCH_STORE=1): what set-based hot paths buy on a
 * real PostgreSQL with fsync on, next to the row-at-a-time shape the hub uses on SQLite today.
 * The figures are quoted in docs/cluster.md.
 *
 *   SHIP_BENCH_STORE=1 npx vitest run tests/performance/store-batch.test.ts
 *   SHIP_BENCH_STORE_N=5000 …                reports per batch (default 2000)
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect, it } from "vitest";
import type { DeploymentUpdate, StoreOps } from "../../hub/store/async-store.js";
import { postgresOps } from "../../hub/store/postgres-ops.js";
import { connectPostgres, openPostgresStore } from "../../hub/store/postgres-store.js";
import { SqliteStore } from "../../hub/store/sqlite-store.js";
import type { ReportRecord } from "../../hub/store/store.js";
import { agent, deployment, release, rollout } from "../integration/hub/store-contract/subjects.js";
import { startPostgres } from "../support/servers/postgres.js";

const N = Number(process.env.SHIP_BENCH_STORE_N ?? 2000);
const ROUNDS = 3;

let round = 0;
const reportsFor = (ids: string[]): ReportRecord[] => {
  round++;
  return ids.map((agentId) => ({
    id: `rep-${round}-${agentId}`,
    agentId,
    deploymentId: `ro1:${agentId}`,
    payload: { outcome: "succeeded", app: "web", toVersion: "2.0.0" },
    receivedAt: round,
  }));
};
const event = (r: ReportRecord) => ({
  at: r.receivedAt,
  actor: `agent:${r.agentId}`,
  kind: "deployment.succeeded",
  subject: r.deploymentId ?? "",
  data: { report: r.id },
});

/** Today's shape: per report insert, read, update, event — each in its own savepoint or not. */
async function rowAtATime(
  t: StoreOps,
  reports: ReportRecord[],
  savepoint?: (fn: () => Promise<void>) => Promise<void>,
) {
  for (const r of reports) {
    const apply = async () => {
      if (!(await t.insertReport(r))) return;
      const d = await t.getDeployment(r.deploymentId ?? "");
      if (!d) return;
      await t.updateDeployment(d.id, { state: "succeeded", error: null, updatedAt: r.receivedAt });
      await t.appendEvent(event(r));
    };
    await (savepoint ? savepoint(apply) : apply());
  }
}

/** The set-based shape: four statements per 1000 reports, whatever the batch size. */
async function setBased(t: StoreOps, reports: ReportRecord[]) {
  const fresh = new Set(await t.insertReports(reports));
  const stored = reports.filter((r) => fresh.has(r.id));
  const known = new Set((await t.getDeployments(stored.map((r) => r.deploymentId ?? ""))).map((d) => d.id));
  const applied = stored.filter((r) => known.has(r.deploymentId ?? ""));
  const updates: DeploymentUpdate[] = applied.map((r) => ({
    id: r.deploymentId ?? "",
    state: "succeeded",
    error: null,
    updatedAt: r.receivedAt,
  }));
  await t.updateDeployments(updates);
  await t.appendEvents(applied.map(event));
}

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await fn();
  return performance.now() - started;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? Number.NaN;

it.skipIf(!process.env.SHIP_BENCH_STORE)(
  `applies ${N} reports row-at-a-time and set-based on PostgreSQL (fsync on) and SQLite`,
  async () => {
    const server = await startPostgres({ durable: true });
    const dir = await mkdtemp(join(tmpdir(), "ship-bench-store-"));
    try {
      const url = await server.createDatabase();
      const store = await openPostgresStore(url);
      const ids = Array.from({ length: N }, (_, i) => `agent-${String(i).padStart(6, "0")}`);
      await store.insertRelease(release("r1"));
      await store.tx(async (t) => {
        await Promise.all(ids.map((id) => t.upsertAgent(agent(id))));
      });
      await store.insertRollout(rollout("ro1", "r1"));
      await store.insertDeployments(ids.map((id) => deployment("ro1", id)));
      const sql = connectPostgres(url, 1);
      const figures: Record<string, number[]> = { savepoints: [], plain: [], setBased: [], sqlite: [] };
      for (let i = 0; i < ROUNDS; i++) {
        figures.savepoints?.push(
          await timed(() =>
            sql.begin((t) =>
              rowAtATime(postgresOps(t), reportsFor(ids), async (fn) => {
                await t.savepoint(fn);
              }),
            ),
          ),
        );
        figures.plain?.push(await timed(() => store.tx((t) => rowAtATime(t, reportsFor(ids)))));
        figures.setBased?.push(await timed(() => store.tx((t) => setBased(t, reportsFor(ids)))));
      }
      // Marking a wave's deployments sent: one UPDATE per row vs chunks of 1000.
      const marked: Record<string, number> = {};
      await store.updateDeployments(
        ids.map((id) => ({ id: `ro1:${id}`, state: "pending", error: null, updatedAt: 1 })),
      );
      marked.perRow = await timed(() =>
        store.tx(async (t) => {
          for (const id of ids)
            await t.updateDeployment(`ro1:${id}`, { state: "sent", attempts: 1, updatedAt: 2 });
        }),
      );
      await store.updateDeployments(
        ids.map((id) => ({ id: `ro1:${id}`, state: "pending", error: null, updatedAt: 1 })),
      );
      marked.chunked = await timed(() =>
        store.tx((t) =>
          t.markDeploymentsSent(
            ids.map((id) => `ro1:${id}`),
            2,
          ),
        ),
      );
      await sql.end();
      await store.close();

      // The hub today: SQLite, one transaction, a savepoint per report (MessageBatch).
      const sqlite = new SqliteStore(join(dir, "hub.db"));
      sqlite.insertRelease(release("r1"));
      sqlite.transaction(() => {
        for (const id of ids) sqlite.upsertAgent(agent(id));
        sqlite.insertRollout(rollout("ro1", "r1"));
        for (const id of ids) sqlite.insertDeployment(deployment("ro1", id));
      });
      for (let i = 0; i < ROUNDS; i++) {
        const reports = reportsFor(ids);
        figures.sqlite?.push(
          await timed(async () =>
            sqlite.transaction(() => {
              for (const r of reports)
                sqlite.transaction(() => {
                  if (!sqlite.insertReport(r)) return;
                  const d = sqlite.getDeployment(r.deploymentId ?? "");
                  if (!d) return;
                  sqlite.updateDeployment(d.id, { state: "succeeded", error: null, updatedAt: r.receivedAt });
                  sqlite.appendEvent(event(r));
                });
            }),
          ),
        );
      }
      sqlite.close();

      const line = (name: string, ms: number) =>
        `${name.padEnd(52)} ${ms.toFixed(0).padStart(7)} ms  ${((N / ms) * 1000).toFixed(0).padStart(8)} reports/s`;
      console.log(
        [
          `${N} reports in one transaction, median of ${ROUNDS}:`,
          line("PostgreSQL row-at-a-time, savepoint per report", median(figures.savepoints ?? [])),
          line("PostgreSQL row-at-a-time, no savepoints", median(figures.plain ?? [])),
          line("PostgreSQL set-based (4 statements / 1000 reports)", median(figures.setBased ?? [])),
          line("SQLite row-at-a-time, savepoint per report (today)", median(figures.sqlite ?? [])),
          `marking ${N} deployments sent: per row ${marked.perRow?.toFixed(0)} ms, chunked ${marked.chunked?.toFixed(0)} ms`,
        ].join("\n"),
      );
      expect(median(figures.setBased ?? [])).toBeGreaterThan(0);
    } finally {
      await server.stop();
      await rm(dir, { recursive: true, force: true });
    }
  },
  600_000,
);
