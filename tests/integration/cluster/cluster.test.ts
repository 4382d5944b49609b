/**
 * Three real `ship-hub serve` processes on one real PostgreSQL (tests/support/cluster.ts): what a
 * cluster must guarantee, each case written so it fails when its guarantee breaks. One cluster for
 * the file (starting PostgreSQL and three hubs is most of the cost); a case that kills a hub
 * starts it again before it ends.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Cluster, canRunCluster, type LoadAgents, type MintedAgent } from "../../support/cluster.js";

const enabled = canRunCluster();
const HUBS = 3;
const LOAD_AGENTS = 90;

interface RolloutAnswer {
  id: string;
  state: string;
  currentWave: number;
}

describe.skipIf(!enabled)("hub cluster: three hubs on one PostgreSQL", () => {
  let cluster: Cluster;
  let load: LoadAgents;
  let minted: MintedAgent[];
  let releases = 0;

  beforeAll(async () => {
    // The periodic resync out of the way: whatever reaches another hub's agents in these tests
    // came through the NOTIFY wake-up (or an agent's hello after a reconnect).
    cluster = await Cluster.start({
      hubs: HUBS,
      hub: { offline_timeout_seconds: 30, cluster_resync_seconds: 600 },
    });
    ({ load, agents: minted } = await cluster.loadAgents(LOAD_AGENTS));
    // Spread over the hubs directly; after losing its hub an agent comes back through the balancer.
    await cluster.connectSpread(load, minted, 16);
    await cluster.waitFor("the load agents online", async () => (await onlineCount()) >= LOAD_AGENTS);
  }, 120_000);
  afterAll(async () => {
    await cluster?.close();
  });

  const sql = () => cluster.must();
  const onlineCount = async () =>
    (await sql()`SELECT count(*)::int AS n FROM agents WHERE online AND id LIKE 'bench-%'`)[0]?.n as number;

  /** A release of the load agents' app (their "install" is a report); its id. */
  const loadRelease = async (hub = 0): Promise<string> => {
    const version = `2.0.${++releases}`;
    const body = await cluster.ok<{ id: string }>(
      hub,
      "POST",
      "/releases",
      {
        app: "loadapp",
        version,
        manifest: `version: "${version}"\n`,
        source: { type: "http", url: "http://127.0.0.1:9/loadapp.tar.gz", sha256: "0".repeat(64) },
      },
      cluster.ci,
    );
    return body.id;
  };
  const startRollout = (hub: number, release: string, waves: unknown[], extra: object = {}) =>
    cluster.ok<RolloutAnswer>(hub, "POST", "/rollouts", { release, waves, ...extra });
  const reportsOf = async (rolloutId: string) =>
    (
      await sql()`SELECT count(*)::int AS n FROM reports r JOIN deployments d ON d.id = r.deployment_id
        WHERE d.rollout_id = ${rolloutId}`
    )[0]?.n as number;
  const deploymentStates = async (rolloutId: string) =>
    Object.fromEntries(
      (
        await sql()`SELECT state, count(*)::int AS n FROM deployments WHERE rollout_id = ${rolloutId}
          GROUP BY state`
      ).map((r) => [r.state as string, r.n as number]),
    );

  it("a wave started on hub A reaches real agents connected to A, B and C", async () => {
    const agents = await cluster.startRealAgents(HUBS, (i) => cluster.hub(i).url);
    const release = await cluster.publish(0, { version: "2.0.0" });
    const rollout = await startRollout(0, release, [{ name: "all", percent: 100 }]);
    for (const agent of agents)
      await cluster.waitFor(
        `${agent.id} on 2.0.0`,
        async () => (await cluster.appVersion(agent)) === "2.0.0",
      );
    await cluster.waitFor("the rollout completed", async () => {
      const view = await cluster.ok<RolloutAnswer>(2, "GET", `/rollouts/${rollout.id}`);
      return view.state === "completed";
    });
  });

  it("an event stream on hub C sees a change made on hub A", async () => {
    const controller = new AbortController();
    const res = await fetch(`${cluster.hub(2).url}/api/v1/stream`, {
      headers: { authorization: `Bearer ${cluster.operator}` },
      signal: controller.signal,
    });
    expect(res.status).toBe(200);
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    const decoder = new TextDecoder();
    let text = "";
    const nextEvent = async (): Promise<string> => {
      while (!text.includes("\n\n")) {
        const { value, done } = await reader.read();
        if (done) throw new Error("stream ended");
        text += decoder.decode(value, { stream: true });
      }
      const end = text.indexOf("\n\n");
      const event = text.slice(0, end);
      text = text.slice(end + 2);
      return event;
    };
    try {
      const first = await nextEvent();
      expect(first).toContain("event: changed");
      const changedAt = Date.now();
      await loadRelease(0);
      let seen = "";
      while (!seen.includes("event: changed")) seen = await nextEvent();
      // The stream polls and is woken; either way seconds, not a page reload.
      expect(Date.now() - changedAt).toBeLessThan(10_000);
      expect(seen).not.toBe(first);
    } finally {
      controller.abort();
    }
  });

  it("runs one tick per interval across hubs: exactly one rollout.advanced per wave", async () => {
    await load.call("reset-deploys");
    const release = await loadRelease(1);
    const waves = [
      { name: "one", percent: 10 },
      { name: "two", percent: 40 },
      { name: "all", percent: 100 },
    ];
    const rollout = await startRollout(1, release, waves, { autoAdvance: true });
    // Which agents fall in which wave is the hub's choice (seeded per rollout): read the sizes.
    const sizes = await sql()`SELECT wave, count(*)::int AS n FROM deployments
      WHERE rollout_id = ${rollout.id} GROUP BY wave ORDER BY wave`;
    expect(sizes.reduce((sum, r) => sum + Number(r.n), 0)).toBe(LOAD_AGENTS);
    const cumulative = sizes.map((_, w) => sizes.slice(0, w + 1).reduce((sum, r) => sum + Number(r.n), 0));
    expect(cumulative.length).toBe(3);
    // Each wave: its agents get the deploy and report; the 0.2 s tick (on every hub) advances.
    for (const expected of cumulative) {
      const got = await load.call("await-deploys", { count: expected, timeoutMs: 30_000 });
      expect(got.missing).toBeLessThanOrEqual(0);
      await load.call("report");
    }
    await cluster.waitFor("the rollout completed", async () => {
      const view = await cluster.ok<RolloutAnswer>(0, "GET", `/rollouts/${rollout.id}`);
      return view.state === "completed";
    });
    // Two more seconds of ticks on three hubs: nothing more may happen, and 0.2 s ticks make 10
    // claims in that time where three hubs each ticking on their own would make 30.
    const claims = await tickClaims(2000);
    const advanced = await sql()`SELECT (data::json->>'wave')::int AS wave FROM events
      WHERE kind = 'rollout.advanced' AND subject = ${rollout.id} ORDER BY id`;
    expect(advanced.map((e) => Number(e.wave))).toEqual([1, 2]);
    expect(claims).toBeLessThanOrEqual(14);
    expect(claims).toBeGreaterThanOrEqual(3);
  });

  /** Claims of the busiest periodic job during `windowMs`, from its due time changing. */
  const tickClaims = async (windowMs: number): Promise<number> => {
    const claims = new Map<string, number>();
    let last = new Map<string, string>();
    const deadline = Date.now() + windowMs;
    while (Date.now() < deadline) {
      const rows = await sql()`SELECT name, due_at::text AS due FROM ticks`;
      const now = new Map(rows.map((r) => [String(r.name), String(r.due)]));
      for (const [name, due] of now)
        if (last.has(name) && last.get(name) !== due) claims.set(name, (claims.get(name) ?? 0) + 1);
      last = now;
      await sleep(15);
    }
    return Math.max(0, ...claims.values());
  };

  it("concurrent advance on two hubs: one 200, one 409", async () => {
    const release = await loadRelease(0);
    const waves = [1, 2, 3, 4].map((i) => ({ name: `w${i}`, percent: i * 25 }));
    const rollout = await startRollout(0, release, waves);
    for (let round = 0; round < 3; round++) {
      const answers = await Promise.all(
        // Both saw wave `round` (as two operators' dashboards would) and ask to move on from it.
        [0, 1].map((hub) => cluster.api(hub, "POST", `/rollouts/${rollout.id}/advance`, { fromWave: round })),
      );
      expect(answers.map((a) => a.status).sort()).toEqual([200, 409]);
    }
    const view = await cluster.ok<RolloutAnswer>(2, "GET", `/rollouts/${rollout.id}`);
    expect(view.currentWave).toBe(3);
    await cluster.ok(0, "POST", `/rollouts/${rollout.id}/abort`, { rollback: false });
  });

  it("one version published on three hubs at once: one 201, the others 409 naming it", async () => {
    for (let round = 0; round < 5; round++) {
      const version = `3.0.${round}`;
      const answers = await Promise.all(
        [0, 1, 2].map((hub) =>
          cluster.api(
            hub,
            "POST",
            "/releases",
            {
              app: "raceapp",
              version,
              manifest: `version: "${version}"\n`,
              source: {
                type: "http",
                url: `http://127.0.0.1:9/raceapp-${hub}.tar.gz`,
                sha256: "0".repeat(64),
              },
            },
            cluster.ci,
          ),
        ),
      );
      expect(answers.map((a) => a.status).sort()).toEqual([201, 409, 409]);
      for (const refused of answers.filter((a) => a.status === 409))
        expect(JSON.stringify(refused.body)).toContain(`release raceapp ${version} exists`);
    }
  });

  it("SIGKILL of a hub during a report storm loses no report; its agents come back elsewhere", async () => {
    await load.call("reset-deploys");
    const release = await loadRelease(0);
    const rollout = await startRollout(0, release, [{ name: "all", percent: 100 }]);
    expect((await load.call("await-deploys", { count: LOAD_AGENTS, timeoutMs: 30_000 })).missing).toBe(0);
    const before = await load.call("status");
    const storm = load.call("report");
    await sleep(5);
    await cluster.killHub(1);
    const back = await load.call("await-back", { timeoutMs: 60_000, minLost: LOAD_AGENTS / HUBS });
    expect(back.back).toBe(back.lost);
    const sent = await storm;
    expect(sent.timedOut).toBeUndefined();
    const after = await load.call("status");
    const sentNow = after.sentReports - before.sentReports;
    expect(sentNow).toBe(LOAD_AGENTS);
    await cluster.waitFor("every report stored", async () => (await reportsOf(rollout.id)) === sentNow);
    expect(await deploymentStates(rollout.id)).toEqual({ succeeded: LOAD_AGENTS });
    await cluster.waitFor("every agent online again", async () => (await onlineCount()) === LOAD_AGENTS);
    await cluster.startHub(1);
  });

  it("SIGKILL of a hub during a fan-out: no deploy missing", async () => {
    await load.call("reset-deploys");
    const release = await loadRelease(0);
    const creating = startRollout(0, release, [{ name: "all", percent: 100 }]);
    await sleep(10);
    await cluster.killHub(2);
    const rollout = await creating;
    const got = await load.call("await-deploys", { count: LOAD_AGENTS, timeoutMs: 60_000 });
    expect(got.missing).toBe(0);
    await load.call("report");
    await cluster.waitFor("every deployment succeeded", async () => {
      const states = await deploymentStates(rollout.id);
      return states.succeeded === LOAD_AGENTS;
    });
    await cluster.startHub(2);
  });

  it("a stale socket cannot mark a reconnected agent offline", async () => {
    const ws = (hub: number) => `${cluster.hub(hub).url.replace(/^http/, "ws")}/api/v1/agent`;
    const { load: first, agents: stale } = await cluster.loadAgents(1, "stale");
    const { load: second } = await cluster.loadAgents(0, "stale");
    const [agent] = stale;
    if (!agent) throw new Error("no agent minted");
    const one = { url: ws(0), agents: [agent], mode: "hub", app: "loadapp", inFlight: 1 };
    await first.call("connect", one);
    const epochOf = async () =>
      (await sql()`SELECT epoch, online FROM agents WHERE id = ${agent.id}`)[0] as {
        epoch: number;
        online: boolean;
      };
    await cluster.waitFor("the first connection's hello", async () => (await epochOf()).online);
    const firstEpoch = Number((await epochOf()).epoch);
    // The agent reconnects to hub B while hub A still holds the old socket (a half-open
    // connection A has not noticed yet); then A's socket closes.
    await second.call("connect", { ...one, url: ws(1) });
    await cluster.waitFor("the reconnect's hello", async () => Number((await epochOf()).epoch) > firstEpoch);
    first.kill();
    await sleep(1500);
    expect((await epochOf()).online).toBe(true);
    second.kill();
    await cluster.waitFor("offline once its live socket closes", async () => !(await epochOf()).online);
  });
});
