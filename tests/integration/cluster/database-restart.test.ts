/**
 * PostgreSQL restarted under a running cluster (`pg_ctl restart -m fast`: every connection ended
 * with FATAL 57P01, then refused until the server listens again). The database is the truth and
 * NOTIFY only a wake-up (docs/cluster.md): a wave an operator starts on hub A once the database is
 * back reaches the agents of hubs B and C within seconds, every hub listens again, and no hub
 * crashes or logs an unhandled rejection. Three real `ship-hub serve` processes on one real
 * PostgreSQL; the periodic resync is out of the way (600 s), so what reaches another hub's agents
 * came through the re-established LISTEN (its wake-up, or the resync every re-listen runs).
 */
import { readFile } from "node:fs/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Cluster, canRunCluster, type LoadAgents, type MintedAgent } from "../../support/cluster.js";

const HUBS = 3;
const AGENTS = 30;

describe.skipIf(!canRunCluster())("PostgreSQL restarted under three hubs", () => {
  let cluster: Cluster;
  let load: LoadAgents;
  let minted: MintedAgent[];

  beforeAll(async () => {
    cluster = await Cluster.start({
      hubs: HUBS,
      hub: { offline_timeout_seconds: 60, cluster_resync_seconds: 600, log_level: "info" },
    });
    ({ load, agents: minted } = await cluster.loadAgents(AGENTS));
    await cluster.connectSpread(load, minted, 8);
    await cluster.waitFor("the agents online", async () => (await onlineCount()) === AGENTS);
  }, 120_000);
  afterAll(async () => {
    await cluster?.close();
  });

  const sql = () => cluster.must();
  const onlineCount = async () =>
    (await sql()`SELECT count(*)::int AS n FROM agents WHERE online`)[0]?.n as number;
  const listeners = async () =>
    (
      await sql()`SELECT count(*)::int AS n FROM pg_stat_activity
        WHERE application_name LIKE 'ship-hub wake-up %' AND datname = current_database()`
    )[0]?.n as number;
  const membersOf = async (rolloutId: string, wave: number) =>
    (
      await sql()`SELECT count(*)::int AS n FROM deployments WHERE rollout_id = ${rolloutId} AND wave = ${wave}`
    )[0]?.n as number;

  /** An operator's call, tried again while the hub answers 503 (its database is coming back). */
  async function operatorCall<T>(hub: number, method: string, path: string, body?: unknown): Promise<T> {
    let last = "";
    for (const deadline = Date.now() + 60_000; Date.now() < deadline; ) {
      const answer = await cluster.api<T>(hub, method, path, body).catch((error: unknown) => {
        last = String(error);
        return undefined;
      });
      if (answer !== undefined && answer.status < 300) return answer.body;
      if (answer !== undefined && answer.status !== 503)
        throw new Error(`${method} ${path}: ${answer.status} ${JSON.stringify(answer.body)}`);
      if (answer !== undefined) last = JSON.stringify(answer.body);
      await new Promise((r) => setTimeout(r, 200));
    }
    throw new Error(`${method} ${path} never answered: ${last}`);
  }

  it("a wave advanced on hub A after the restart reaches the agents of every hub; each hub listens again", async () => {
    const version = "2.0.0";
    const release = (
      await cluster.ok<{ id: string }>(
        0,
        "POST",
        "/releases",
        {
          app: "loadapp",
          version,
          manifest: `version: "${version}"\n`,
          source: { type: "http", url: "http://127.0.0.1:9/loadapp.tar.gz", sha256: "0".repeat(64) },
        },
        cluster.ci,
      )
    ).id;
    const rollout = await cluster.ok<{ id: string }>(0, "POST", "/rollouts", {
      release,
      waves: [
        { name: "half", percent: 50 },
        { name: "rest", percent: 100 },
      ],
    });
    const first = await membersOf(rollout.id, 0);
    expect((await load.call("await-deploys", { count: first, timeoutMs: 30_000 })).missing).toBe(0);
    await load.call("reset-deploys");
    expect(await listeners()).toBe(HUBS);

    await cluster.restartDatabase();
    await operatorCall(0, "POST", `/rollouts/${rollout.id}/advance`, { fromWave: 0 });
    const rest = AGENTS - first;
    // Every hub's agents, hub A's own included, within seconds of the advance: not the 600 s resync.
    const got = await load.call("await-deploys", { count: rest, timeoutMs: 30_000 });
    expect(got.missing).toBe(0);
    await cluster.waitFor("a listener of every hub again", async () => (await listeners()) === HUBS);
    for (const hub of cluster.hubs) expect(hub.child?.exitCode ?? null).toBeNull();
    for (const hub of cluster.hubs) {
      const log = await readFile(hub.logFile, "utf8");
      expect(log).not.toMatch(/unhandled|uncaught/i);
    }
  }, 180_000);
});
