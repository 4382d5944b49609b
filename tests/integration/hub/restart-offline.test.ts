import { randomUUID } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterAll, describe, expect, it } from "vitest";
import { spawnHubForBench } from "../../support/cluster.js";
import { requireHubBin, runHubCli } from "../../support/hub-cli.js";
import { mintTokens } from "../../support/mint-tokens.js";
import { isType, manifestText, startTestHub, TestAgent, type TestHub } from "./support.js";

/** Moves every time a stopped hub stored `ms` into the past, as if it had been down that long more. */
function backdate(file: string, ms: number): void {
  const db = new Database(file);
  try {
    db.exec(`
      UPDATE agents SET last_seen = last_seen - ${ms};
      UPDATE rollouts SET wave_started_at = wave_started_at - ${ms}, created = created - ${ms},
        updated = updated - ${ms};
      UPDATE deployments SET updated_at = updated_at - ${ms};
      UPDATE reports SET received_at = received_at - ${ms};
      UPDATE events SET at = at - ${ms};
      UPDATE hubs SET heartbeat_at = heartbeat_at - ${ms};
      UPDATE ticks SET due_at = due_at - ${ms};
    `);
  } finally {
    db.close();
  }
}

describe("a restarted hub", () => {
  let dir: string;
  const hubs: TestHub[] = [];
  afterAll(async () => {
    for (const hub of hubs) await hub.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("records agent.offline for every agent it marks offline at start", async () => {
    dir = await mkdtemp(join(tmpdir(), "ship-hub-restart-"));
    const first = await startTestHub({}, dir);
    hubs.push(first);
    for (const id of ["r1", "r2"])
      (await TestAgent.connect(first.hub.url, await first.agentToken(id))).hello(id);
    await expect
      .poll(async () => (await first.hub.store.listAgents()).filter((a) => a.online).length)
      .toBe(2);
    // Disconnects are not written as the sockets close; the stop marks them offline itself.
    await first.hub.close();
    const second = await startTestHub({}, dir);
    hubs.push(second);
    expect((await second.hub.store.listAgents()).map((a) => a.online)).toEqual([false, false]);
    const offline = (await second.hub.store.listEvents({ limit: 100 }))
      .filter((e) => e.kind === "agent.offline")
      .map((e) => ({ subject: e.subject, actor: e.actor }));
    expect(offline.sort((a, b) => a.subject.localeCompare(b.subject))).toEqual([
      { subject: "r1", actor: "hub" },
      { subject: "r2", actor: "hub" },
    ]);
  });

  it("a hub stopped cleanly marks its connected agents offline as last seen then, not at their hello", async () => {
    const here = await mkdtemp(join(tmpdir(), "ship-hub-stop-"));
    try {
      const first = await startTestHub({}, here);
      hubs.push(first);
      const agent = await TestAgent.connect(first.hub.url, await first.agentToken("s1"));
      agent.hello("s1");
      await expect.poll(async () => (await first.hub.store.getAgent("s1"))?.online).toBe(true);
      const helloAt = (await first.hub.store.getAgent("s1"))?.lastSeen ?? 0;
      // The agent stays connected (reporting, answering pings) well past its hello.
      await expect.poll(() => Date.now() - helloAt).toBeGreaterThan(200);
      const stoppedAt = Date.now();
      await first.hub.close();
      const second = await startTestHub({}, here);
      hubs.push(second);
      const seen = await second.hub.store.getAgent("s1");
      expect(seen?.online).toBe(false);
      // Last seen when the hub stopped: `ship-hub agents` printed its hello time, minutes or days
      // before the reports it sent while connected.
      expect(seen?.lastSeen).toBeGreaterThanOrEqual(stoppedAt);
      const offline = (await second.hub.store.listEvents({ limit: 100 })).filter(
        (e) => e.kind === "agent.offline" && e.subject === "s1",
      );
      expect(offline.map((e) => e.data)).toEqual([{ reason: "its hub stopped" }]);
    } finally {
      await rm(here, { recursive: true, force: true });
    }
  });

  it("a hub killed outright: its next start marks its agents offline as last seen while it still ran, not at their hello", {
    timeout: 60_000,
  }, async () => {
    const here = await mkdtemp(join(tmpdir(), "ship-hub-killed-"));
    try {
      // A real `ship-hub serve`, so SIGKILL leaves nothing written but what it wrote as it ran.
      // Heartbeats every 0.5 s (the documented key, on SQLite too), not the default 5 s: the wait
      // below is for one 2 s past the hello, which at 5 s took up to 7 s.
      const killed = await spawnHubForBench(here, undefined, { cluster_heartbeat_seconds: 0.5 });
      const [agentToken, operator] = await mintTokens(killed.dataDir, [
        { role: "agent", agentId: "k1" },
        { role: "operator" },
      ]);
      const agent = await TestAgent.connect(killed.url, agentToken ?? "");
      agent.hello("k1");
      await expect
        .poll(async () => {
          const res = await fetch(`${killed.url}/api/v1/agents/k1`, {
            headers: { authorization: `Bearer ${operator}` },
          });
          return res.ok && ((await res.json()) as { online: boolean }).online;
        })
        .toBe(true);
      const helloBy = Date.now();
      // Connected past its hello (reporting, answering pings), then its hub dies: once the hub's
      // heartbeat, which its next start takes as last seen, is 2 s past the hello. A fixed 12 s
      // sat out two 5-s heartbeats to be sure of one.
      const heartbeats = new Database(join(killed.dataDir, "hub.db"), {
        readonly: true,
        fileMustExist: true,
      });
      try {
        const lastBeat = () =>
          (heartbeats.prepare("SELECT MAX(heartbeat_at) AS at FROM hubs").get() as { at: number | null })
            .at ?? 0;
        await expect.poll(lastBeat, { timeout: 20_000 }).toBeGreaterThan(helloBy + 2_000);
      } finally {
        heartbeats.close();
      }
      const killedAt = Date.now();
      const exited = new Promise((resolve) => killed.child.once("exit", resolve));
      killed.child.kill("SIGKILL");
      await exited;
      const second = await startTestHub({}, killed.dataDir);
      hubs.push(second);
      const seen = await second.hub.store.getAgent("k1");
      expect(seen?.online).toBe(false);
      // It was seen while its hub ran, seconds before the kill: LAST SEEN printed its hello time,
      // older than every report it sent since (and than the hub's own last moment).
      expect(seen?.lastSeen).toBeGreaterThan(helloBy + 2_000);
      expect(seen?.lastSeen).toBeLessThanOrEqual(killedAt);
      const offline = (await second.hub.store.listEvents({ limit: 100 })).filter(
        (e) => e.kind === "agent.offline" && e.subject === "k1",
      );
      expect(offline.map((e) => e.data)).toEqual([{ reason: "hub restarted" }]);
    } finally {
      await rm(here, { recursive: true, force: true });
    }
  });

  it("does not fail agents for the time it was down itself: timeouts count from its start", {
    timeout: 60_000,
  }, async () => {
    const here = await mkdtemp(join(tmpdir(), "ship-hub-down-"));
    try {
      const timeouts = { offlineTimeoutMs: 8_000, progressTimeoutMs: 9_000 };
      const first = await startTestHub(timeouts, here);
      hubs.push(first);
      const published = await first.api<{ id: string }>("POST", "/api/v1/releases", {
        token: first.ci,
        body: {
          app: "web",
          version: "2.0.0",
          manifest: manifestText("2.0.0"),
          source: { type: "git", commit: "abcdef1" },
        },
      });
      const busyToken = await first.agentToken("busy");
      const busy = await TestAgent.connect(first.hub.url, busyToken);
      busy.hello("busy");
      (await TestAgent.connect(first.hub.url, await first.agentToken("gone"))).hello("gone");
      await expect
        .poll(async () => (await first.hub.store.listAgents()).filter((a) => a.online).length)
        .toBe(2);
      const created = await first.api<{ id: string }>("POST", "/api/v1/rollouts", {
        token: first.operator,
        body: {
          release: published.body.id,
          waves: [{ name: "all", percent: 100 }],
          failureThreshold: { count: 5 },
        },
      });
      const deploy = await busy.next(isType("deploy"));
      busy.send({ type: "progress", deploymentId: deploy.deploymentId, step: "fetch" });
      await expect
        .poll(async () => (await first.hub.store.getDeployment(deploy.deploymentId))?.state)
        .toBe("in_progress");
      // The hub stops (as a crash would) for longer than both timeouts; "busy" goes on updating.
      // A minute down, without waiting one: every time the hub stored moves a minute back.
      await first.hub.close();
      backdate(join(here, "hub.db"), 60_000);
      const second = await startTestHub(timeouts, here);
      hubs.push(second);
      const started = Date.now();
      const view = async () =>
        (
          await second.api<{
            state: string;
            waves: { agents: { agentId: string; state: string; error: string | null }[] }[];
          }>("GET", `/api/v1/rollouts/${created.body.id}`, { token: second.operator })
        ).body;
      const stateOf = async (agentId: string) =>
        (await view()).waves[0]?.agents.find((a) => a.agentId === agentId);
      // Many ticks later, before "busy" is back: nobody timed out for the hub's own absence. Seen
      // before the offline timeout has run from the hub's start, or "gone" would rightly be out.
      await new Promise((r) => setTimeout(r, 1_000));
      expect(Date.now() - started).toBeLessThan(8_000);
      expect((await stateOf("busy"))?.state).toBe("in_progress");
      expect((await stateOf("gone"))?.state).toBe("sent");
      expect((await view()).state).toBe("running");
      // "busy" reconnects and reports its success; "gone" never comes back and times out, counted
      // from the hub's start.
      const again = await TestAgent.connect(second.hub.url, busyToken);
      again.hello("busy");
      const reportId = randomUUID();
      again.send({
        type: "report",
        reportId,
        deploymentId: deploy.deploymentId,
        app: "web",
        releaseId: published.body.id,
        outcome: "succeeded",
        fromVersion: "1.0.0",
        toVersion: "2.0.0",
        steps: [],
      });
      await again.next(
        (m): m is Extract<typeof m, { type: "ack" }> => m.type === "ack" && m.reportId === reportId,
      );
      await expect.poll(async () => (await stateOf("gone"))?.state, { timeout: 20_000 }).toBe("timed_out");
      expect((await stateOf("gone"))?.error).toMatch(/agent offline for [89] s \(timeout 8 s\)/);
      expect((await stateOf("busy"))?.state).toBe("succeeded");
      await expect.poll(async () => (await view()).state, { timeout: 10_000 }).toBe("completed");
    } finally {
      await rm(here, { recursive: true, force: true });
    }
  });
});

describe("a hub back after its canary's wait ended while it was down", () => {
  const hubs: TestHub[] = [];
  const agents: TestAgent[] = [];
  const dirs: string[] = [];
  afterAll(async () => {
    for (const a of agents) a.ws.terminate();
    for (const hub of hubs) await hub.stop();
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });
  type View = { state: string; currentWave: number };
  type HeldView = View & {
    autoAdvanceAt?: string;
    advanceHeldUntilHeard?: { agents: string[]; until: string };
  };

  /**
   * A canary (wait 10 minutes) succeeded, then the hub was down 11 minutes; back, "rest" has said
   * hello and many ticks ran, the canary host not yet back.
   */
  async function backPastTheSoak(offlineTimeoutMs = 30_000) {
    const here = await mkdtemp(join(tmpdir(), "ship-hub-soak-down-"));
    dirs.push(here);
    const timeouts = { offlineTimeoutMs };
    const first = await startTestHub(timeouts, here);
    hubs.push(first);
    const published = await first.api<{ id: string }>("POST", "/api/v1/releases", {
      token: first.ci,
      body: {
        app: "web",
        version: "2.0.0",
        manifest: manifestText("2.0.0"),
        source: { type: "git", commit: "abcdef1" },
      },
    });
    const v2 = published.body.id;
    const canaryToken = await first.agentToken("canary");
    const restToken = await first.agentToken("rest");
    const canary = await TestAgent.connect(first.hub.url, canaryToken);
    const gone = await TestAgent.connect(first.hub.url, restToken);
    agents.push(canary, gone);
    canary.hello("canary");
    gone.hello("rest");
    await expect
      .poll(async () => (await first.hub.store.listAgents()).filter((a) => a.online).length)
      .toBe(2);
    const created = await first.api<{ id: string }>("POST", "/api/v1/rollouts", {
      token: first.operator,
      body: {
        release: v2,
        waves: [
          { name: "canary", agents: ["canary"], waitMinutes: 10 },
          { name: "rest", percent: 100 },
        ],
        failureThreshold: { count: 1 },
        autoAdvance: true,
      },
    });
    const deploy = await canary.next(isType("deploy"));
    const reportId = randomUUID();
    canary.send({
      type: "report",
      reportId,
      deploymentId: deploy.deploymentId,
      app: "web",
      releaseId: v2,
      installedReleaseId: v2,
      outcome: "succeeded",
      fromVersion: "1.0.0",
      toVersion: "2.0.0",
      steps: [{ name: "apply", ok: true, ms: 1 }],
    });
    await canary.next(
      (m): m is Extract<typeof m, { type: "ack" }> => m.type === "ack" && m.reportId === reportId,
    );
    await first.hub.close();
    canary.ws.terminate();
    gone.ws.terminate();
    backdate(join(here, "hub.db"), 11 * 60_000);
    const second = await startTestHub(timeouts, here);
    hubs.push(second);
    const rest = await TestAgent.connect(second.hub.url, restToken);
    agents.push(rest);
    rest.hello("rest");
    await expect.poll(() => second.hub.registry.isOnline("rest")).toBe(true);
    await new Promise((r) => setTimeout(r, 1_000));
    const view = async () =>
      (await second.api<View>("GET", `/api/v1/rollouts/${created.body.id}`, { token: second.operator })).body;
    expect(await view()).toMatchObject({ state: "running", currentWave: 0 });
    expect(rest.received.filter(isType("deploy"))).toEqual([]);
    const canaryBack = async (apps: Parameters<TestAgent["hello"]>[1]) => {
      const back = await TestAgent.connect(second.hub.url, canaryToken);
      agents.push(back);
      back.hello("canary", apps);
    };
    return { v2, rest, view, canaryBack, id: created.body.id, hub: second };
  }

  it("hears the canary's hosts before it advances: one that left the release meanwhile halts it", {
    timeout: 60_000,
  }, async () => {
    const { rest, view, canaryBack } = await backPastTheSoak();
    await canaryBack([{ app: "web", version: "1.0.0", state: "rolled_back", releaseId: undefined }]);
    await expect.poll(async () => (await view()).state, { timeout: 10_000 }).toBe("paused");
    expect((await view()).currentWave).toBe(0);
    expect(rest.received.filter(isType("deploy"))).toEqual([]);
  });

  it("says what holds the advance, in the API, the list and `rollout show`, until the canary is back", {
    timeout: 60_000,
  }, async () => {
    // Its soak ended 11 min ago: the view said "not before" that time and nothing about the hold,
    // so a rollout that does not move read as stuck.
    requireHubBin();
    const { v2, view, canaryBack, id, hub } = await backPastTheSoak();
    const held = (await hub.api<HeldView>("GET", `/api/v1/rollouts/${id}`, { token: hub.operator })).body;
    const until = Date.parse(held.advanceHeldUntilHeard?.until ?? "");
    expect(held.advanceHeldUntilHeard?.agents).toEqual(["canary"]);
    // The hub's start plus its 30 s offline timeout: later than now, and the time it advances by.
    expect(until - Date.now()).toBeGreaterThan(0);
    expect(until - Date.now()).toBeLessThanOrEqual(30_000);
    expect(held.autoAdvanceAt).toBe(held.advanceHeldUntilHeard?.until);
    const listed = (
      await hub.api<{ rollouts: HeldView[] }>("GET", "/api/v1/rollouts", { token: hub.operator })
    ).body.rollouts[0];
    expect(listed?.advanceHeldUntilHeard).toEqual(held.advanceHeldUntilHeard);
    const shown = await runHubCli(process.cwd(), ["rollout", "show", id], {
      SHIP_HUB_URL: hub.hub.url,
      SHIP_HUB_TOKEN: hub.operator,
    });
    expect(shown.code, shown.stderr).toBe(0);
    expect(shown.stdout).toContain(`not before ${held.autoAdvanceAt} (held since the hub started)`);
    expect(shown.stdout).toMatch(
      new RegExp(
        `^held +since the hub started, until canary of this wave say\\(s\\) hello again .*, at the latest ${held.advanceHeldUntilHeard?.until}$`,
        "m",
      ),
    );
    const listedCli = await runHubCli(process.cwd(), ["rollout", "list"], {
      SHIP_HUB_URL: hub.hub.url,
      SHIP_HUB_TOKEN: hub.operator,
    });
    expect(listedCli.code, listedCli.stderr).toBe(0);
    expect(listedCli.stdout).toMatch(
      new RegExp(
        `running .*auto-advance held since the hub started, until canary of this wave say\\(s\\) hello again .*, at the latest ${held.advanceHeldUntilHeard?.until}$`,
        "m",
      ),
    );
    // Paused and resumed while held: the note named the wave's waitMinutes, whose end went by
    // 11 min ago; the hold is what sets the time.
    await hub.api("POST", `/api/v1/rollouts/${id}/pause`, { token: hub.operator, body: {} });
    const resumed = await runHubCli(process.cwd(), ["rollout", "resume", id], {
      SHIP_HUB_URL: hub.hub.url,
      SHIP_HUB_TOKEN: hub.operator,
    });
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stderr).toMatch(
      /^note: wave 1 \(canary\) advances by itself once finished, not before \S+: auto-advance held since the hub started, until canary of this wave say\(s\) hello again .*$/m,
    );
    expect(resumed.stderr).not.toContain("waitMinutes");
    await canaryBack([{ app: "web", version: "2.0.0", state: "updated", releaseId: v2 }]);
    await expect.poll(async () => (await view()).currentWave, { timeout: 10_000 }).toBe(1);
    const after = (await hub.api<HeldView>("GET", `/api/v1/rollouts/${id}`, { token: hub.operator })).body;
    expect(after.advanceHeldUntilHeard).toBeUndefined();
  });

  it("advances once the canary host says it still runs the release", { timeout: 60_000 }, async () => {
    const { v2, rest, view, canaryBack } = await backPastTheSoak();
    await canaryBack([{ app: "web", version: "2.0.0", state: "updated", releaseId: v2 }]);
    await rest.next(isType("deploy"));
    expect(await view()).toMatchObject({ state: "running", currentWave: 1 });
  });

  it("advances without a canary host that stays away past the offline timeout from its start", {
    timeout: 60_000,
  }, async () => {
    const { rest, view } = await backPastTheSoak(6_000);
    await rest.next(isType("deploy"));
    expect(await view()).toMatchObject({ state: "running", currentWave: 1 });
  });
});
