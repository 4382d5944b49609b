/**
 * A wave that waits for an offline agent says until when: each such agent's row carries the time
 * at which it counts as failed if it stays away (`offlineFailsAt`; `rollout show` and the dashboard
 * print it). Before, the agent read `pending`, offline, and nothing said whether the rollout would
 * wait a minute or for ever. Real hub (in process) over real WebSocket, the real CLI.
 */
import { describe, expect, it } from "vitest";
import { requireHubBin, runHubCli } from "../../support/hub-cli.js";
import { hubPerTest, isType, publishRelease, type TestAgent, type TestHub } from "./support.js";

const OFFLINE_MS = 60_000;
let skew = 0;
const session = hubPerTest();

const connect = (t: TestHub, id: string) =>
  session.connect(t, id, [{ app: "web", version: "1.0.0", state: "updated", releaseId: undefined }]);

async function leave(t: TestHub, agent: TestAgent, id: string): Promise<void> {
  agent.ws.close();
  // The store too: its offline write stamps the agent's last_seen (the close's time), which the
  // deadline is counted from; read before that write, lastSeen was the hello's, a second early
  // under load (CI run A of round 38).
  await expect
    .poll(async () => !t.hub.registry.isOnline(id) && (await t.hub.store.getAgent(id))?.online === false, {
      timeout: 10_000,
    })
    .toBe(true);
}

type Row = { agentId: string; state: string; error: string | null; offlineFailsAt?: string };
type View = { state: string; waveStartedAt: string; waves: { agents: Row[] }[] };

describe("a wave waiting for an offline agent", () => {
  it("says when the agent counts as failed; nothing while paused; the tick fails it then", async () => {
    requireHubBin();
    skew = 0;
    const t = await session.start({ now: () => Date.now() + skew, offlineTimeoutMs: OFFLINE_MS });
    const v2 = await publishRelease(t, "2.0.0");
    const away = await connect(t, "away");
    const late = await connect(t, "late");
    await connect(t, "rest");
    await leave(t, away, "away");
    const created = await t.api<View & { id: string }>("POST", "/api/v1/rollouts", {
      token: t.operator,
      body: {
        release: v2,
        waves: [
          { name: "canary", agents: ["away", "late"] },
          { name: "rest", percent: 100 },
        ],
        failureThreshold: { count: 1 },
        autoAdvance: true,
      },
    });
    const id = created.body.id;
    const row = (v: View, agentId: string) =>
      v.waves.flatMap((w) => w.agents).find((a) => a.agentId === agentId);
    // Offline before its wave started: counted from the wave's start.
    const fromWave = new Date(Date.parse(created.body.waveStartedAt) + OFFLINE_MS).toISOString();
    expect(row(created.body, "away")?.offlineFailsAt).toBe(fromWave);
    // Online, or not yet in a started wave: nothing to say.
    expect(row(created.body, "late")).not.toHaveProperty("offlineFailsAt");
    expect(row(created.body, "rest")).not.toHaveProperty("offlineFailsAt");

    // Gone after the wave started: counted from when it was last seen.
    await late.next(isType("deploy"));
    await leave(t, late, "late");
    const lastSeen = (await t.api<{ lastSeen: string }>("GET", "/api/v1/agents/late", { token: t.operator }))
      .body.lastSeen;
    const view = async () => (await t.api<View>("GET", `/api/v1/rollouts/${id}`, { token: t.operator })).body;
    expect(row(await view(), "away")?.offlineFailsAt).toBe(fromWave);
    expect(row(await view(), "late")?.offlineFailsAt).toBe(
      new Date(
        Math.max(Date.parse(lastSeen), Date.parse(created.body.waveStartedAt)) + OFFLINE_MS,
      ).toISOString(),
    );

    const shown = await runHubCli(t.dir, ["rollout", "show", id, "--hub", t.hub.url], {
      SHIP_HUB_TOKEN: t.operator,
    });
    expect(shown.code).toBe(0);
    expect(shown.stdout).toMatch(
      new RegExp(`^away +pending +no .*offline: counts as failed at ${fromWave}$`, "m"),
    );

    // Paused, nothing times out: no time is promised.
    await t.api("POST", `/api/v1/rollouts/${id}/pause`, { token: t.operator, body: {} });
    expect(row(await view(), "away")).not.toHaveProperty("offlineFailsAt");
    await t.api("POST", `/api/v1/rollouts/${id}/resume`, { token: t.operator, body: {} });

    // Past that time the tick counts it as failed, and the row says why instead.
    skew = Date.parse(fromWave) - Date.now() + 1000;
    await expect.poll(async () => row(await view(), "away")?.state, { timeout: 10_000 }).toBe("timed_out");
    const failed = row(await view(), "away");
    expect(failed?.error).toMatch(/^agent offline for \d+ s \(timeout 60 s\)$/);
    expect(failed).not.toHaveProperty("offlineFailsAt");
  });
});
