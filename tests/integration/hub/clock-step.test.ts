/**
 * The host's wall clock stepped forward under a running SQLite hub (an NTP correction after a boot
 * with a wrong hardware clock, a VM resumed from suspend) is no time the rollout waited. The hub
 * stamped and compared rollout times with the wall clock: 40 minutes stepped at once timed out the
 * agent mid-update and the one offline a moment, halted the rollout on those "failures" (with
 * autoRollback, sent the fleet back), and ended the canary's 30-minute soak early. A cluster hub
 * already counted with the monotonic clock. The times it showed then read 40 minutes behind the
 * host's (API, so CLI and dashboard), and a token expired by the host's clock was listed as not.
 * Real hub (in process) over real WebSocket; only `Date.now`, the wall clock, is moved.
 */
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { memoryLogger } from "../../../shared/log.js";
import type { HubMessage } from "../../../shared/protocol/messages.js";
import { deployOf, publishRelease, reportAcked, startTestHub, TestAgent, type TestHub } from "./support.js";

const wallClock = Date.now.bind(Date);
let step = 0;
let t: TestHub;
const agents: TestAgent[] = [];

beforeAll(() => {
  vi.spyOn(Date, "now").mockImplementation(() => wallClock() + step);
});
afterAll(async () => {
  for (const a of agents) a.ws.terminate();
  await t?.stop();
  vi.restoreAllMocks();
});

async function online(id: string, apps = ["web"]): Promise<TestAgent> {
  const agent = await TestAgent.connect(t.hub.url, await t.agentToken(id));
  agents.push(agent);
  agent.hello(
    id,
    apps.map((app) => ({ app, version: "1.0.0", state: "updated", releaseId: undefined })),
  );
  await expect.poll(() => t.hub.registry.isOnline(id), { timeout: 10_000 }).toBe(true);
  return agent;
}

type Row = { agentId: string; state: string; error: string | null };
type View = { state: string; reason: string | null; currentWave: number; waves: { agents: Row[] }[] };

describe("a wall clock stepped forward under a running hub", () => {
  it("times out nobody, halts nothing, does not cut the canary's wait short, shows the host's times, and says so", async () => {
    const lines: { level: string; msg: string }[] = [];
    t = await startTestHub({
      offlineTimeoutMs: 60_000,
      progressTimeoutMs: 60_000,
      heartbeatMs: 200,
      log: memoryLogger(lines),
    });
    const v2 = await publishRelease(t, "2.0.0");
    const api2 = await publishRelease(t, "2.0.0", "api");
    // An artifact uploaded before the step: its Last-Modified is a stamp the hub serves too.
    const put = await fetch(`${t.hub.url}/api/v1/artifacts`, {
      method: "PUT",
      headers: { authorization: `Bearer ${t.ci}`, "content-type": "application/octet-stream" },
      body: Buffer.from(`artifact ${randomUUID()}`),
    });
    const { sha256 } = (await put.json()) as { sha256: string };
    const done = await online("done", ["web", "api"]);
    const busy = await online("busy");
    const away = await online("away");
    await online("rest");
    // A finished canary soaking for 30 minutes (app api), beside one still updating (app web).
    const soaking = await t.api<{ id: string }>("POST", "/api/v1/rollouts", {
      token: t.operator,
      body: {
        release: api2,
        waves: [
          { name: "canary", agents: ["done"], waitMinutes: 30 },
          { name: "rest", percent: 100 },
        ],
        autoAdvance: true,
      },
    });
    expect(soaking.status).toBe(201);
    const apiDeploy = await done.next(deployOf(soaking.body.id));
    const reportId = randomUUID();
    done.send({
      type: "report",
      reportId,
      deploymentId: apiDeploy.deploymentId,
      app: "api",
      releaseId: api2,
      installedReleaseId: api2,
      outcome: "succeeded",
      fromVersion: "1.0.0",
      toVersion: "2.0.0",
      steps: [{ name: "apply", ok: true, ms: 1 }],
    });
    await done.next(
      (m: HubMessage): m is Extract<HubMessage, { type: "ack" }> =>
        m.type === "ack" && m.reportId === reportId,
    );
    const created = await t.api<{ id: string }>("POST", "/api/v1/rollouts", {
      token: t.operator,
      body: {
        release: v2,
        waves: [
          { name: "canary", agents: ["done", "busy", "away"], waitMinutes: 30, minSuccessRate: 0.3 },
          { name: "rest", percent: 100 },
        ],
        failureThreshold: { count: 1 },
        autoAdvance: true,
        autoRollback: true,
      },
    });
    expect(created.status).toBe(201);
    const id = created.body.id;
    await reportAcked(done, await done.next(deployOf(id)), "succeeded");
    await busy.next(deployOf(id));
    await away.next(deployOf(id));
    away.ws.close();
    await expect
      .poll(async () => (await t.hub.store.getAgent("away"))?.online, { timeout: 10_000 })
      .toBe(false);

    // A host's token with half an hour left: on the host's clock, which tokens' times are on, it
    // has expired once the clock is stepped 40 minutes on.
    await t.hub.tokens.issue({ role: "agent", agentId: "old-host", ttlSeconds: 1800 });

    step = 40 * 60_000;
    // The tick runs every 50 ms: 1.5 s is thirty ticks on the stepped clock.
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    const view = (await t.api<View>("GET", `/api/v1/rollouts/${id}`, { token: t.operator })).body;
    const states = Object.fromEntries(view.waves[0]!.agents.map((a) => [a.agentId, a.state]));
    expect.soft({ state: view.state, reason: view.reason, wave: view.currentWave, states }).toEqual({
      state: "running",
      reason: null,
      wave: 0,
      states: { done: "succeeded", busy: "sent", away: "sent" },
    });
    const soaked = (await t.api<View>("GET", `/api/v1/rollouts/${soaking.body.id}`, { token: t.operator }))
      .body;
    expect.soft({ state: soaked.state, wave: soaked.currentWave }).toEqual({ state: "running", wave: 0 });
    // The times it shows are the host's: they read 40 minutes behind it (an agent connected now
    // "last seen" 40 minutes ago; a rollout made seconds ago created 40 minutes before) in the API,
    // so in the CLI and the dashboard, which show the API's times, until the hub restarted.
    const age = (iso: string | undefined) => Math.round((Date.now() - Date.parse(iso ?? "")) / 60_000);
    const shown = view as View & { created: string; waveStartedAt: string };
    const fleet = (
      await t.api<{ agents: { id: string; lastSeen: string }[] }>("GET", "/api/v1/agents", {
        token: t.operator,
      })
    ).body.agents;
    const events = (
      await t.api<{ events: { at: string }[] }>("GET", "/api/v1/events?limit=1", {
        token: t.operator,
      })
    ).body.events;
    const release = (await t.api<{ created: string }>("GET", `/api/v1/releases/${v2}`, { token: t.operator }))
      .body;
    const agent = (
      await t.api<{ lastSeen: string; deployments: { updatedAt: string }[] }>("GET", "/api/v1/agents/done", {
        token: t.operator,
      })
    ).body;
    expect({
      rolloutCreated: age(shown.created),
      waveStarted: age(shown.waveStartedAt),
      agentRow: age(
        shown.waves[0]?.agents[0] && (shown.waves[0].agents[0] as Row & { updatedAt: string }).updatedAt,
      ),
      lastSeen: fleet.map((a) => [a.id, age(a.lastSeen)]),
      lastEvent: age(events[0]?.at),
      release: age(release.created),
      agentPage: [age(agent.lastSeen), age(agent.deployments[0]?.updatedAt)],
    }).toEqual({
      rolloutCreated: 0,
      waveStarted: 0,
      agentRow: 0,
      lastSeen: [
        ["away", 0],
        ["busy", 0],
        ["done", 0],
        ["rest", 0],
      ],
      lastEvent: 0,
      release: 0,
      agentPage: [0, 0],
    });
    const artifact = await fetch(`${t.hub.url}/api/v1/artifacts/${sha256}`, {
      headers: { authorization: `Bearer ${t.operator}` },
    });
    await artifact.arrayBuffer();
    expect({
      status: artifact.status,
      lastModified: age(artifact.headers.get("last-modified") ?? ""),
    }).toEqual({
      status: 200,
      lastModified: 0,
    });
    // The fleet page's "token expired" is the host's clock's, as the hub's refusal of it is.
    const attention = await t.api<{ expiringTokens: { agentId: string; expired: boolean }[] }>(
      "GET",
      "/api/v1/agents/attention",
      { token: t.operator },
    );
    expect(attention.body.expiringTokens.find((e) => e.agentId === "old-host")).toMatchObject({
      expired: true,
    });
    // Said, once.
    expect(
      lines.filter((l) => l.msg.includes("clock was stepped")).map((l) => `${l.level}: ${l.msg}`),
    ).toEqual([
      "warn: the host's clock was stepped forward 2400 s while the hub ran: rollout timeouts and waits go on by the hub's own clock (no agent timed out by the step), and the times it shows are the host's, but those it stamps from now on will read 2400 s behind the host's clock after the hub restarts",
    ]);
  });
});
