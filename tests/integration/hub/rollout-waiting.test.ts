/**
 * An auto-advancing rollout whose wave finished below its minSuccessRate (without crossing the
 * failure threshold) cannot advance by itself: it says so, in its reason (what the CLI and the
 * dashboard show beside the state) and once in the event log, instead of running on silently
 * until someone happens to look. Real hub (in process) over real WebSocket.
 */
import { describe, expect, it } from "vitest";
import { requireHubBin, runHubCli } from "../../support/hub-cli.js";
import { hubPerTest, isType, publishRelease, sendReport, type TestHub } from "./support.js";

const session = hubPerTest();

const connect = (t: TestHub, id: string) => session.connect(t, id);

type WaitView = {
  state: string;
  currentWave: number;
  waveStartedAt: string;
  autoAdvanceAt?: string;
  counts: Record<string, number>;
};

/** An auto-advancing rollout whose canary (c1) waits `waitMinutes` and has succeeded; m1 is the rest. */
async function succeededCanary(t: TestHub, waitMinutes: number) {
  const release = await publishRelease(t, "2.0.0");
  const c1 = await connect(t, "c1");
  const m1 = await connect(t, "m1");
  const id = (
    await t.api<{ id: string }>("POST", "/api/v1/rollouts", {
      token: t.operator,
      body: {
        release,
        waves: [
          { name: "canary", agents: ["c1"], waitMinutes },
          { name: "rest", percent: 100 },
        ],
        autoAdvance: true,
      },
    })
  ).body.id;
  sendReport(c1, await c1.next(isType("deploy")), "succeeded");
  const view = async () =>
    (await t.api<WaitView>("GET", `/api/v1/rollouts/${id}`, { token: t.operator })).body;
  await expect.poll(async () => (await view()).counts.succeeded, { timeout: 10_000 }).toBe(1);
  return { id, m1, view };
}

describe("a wave that finished below its minSuccessRate", () => {
  it("says why the rollout waits, once; advancing clears it", async () => {
    const t = await session.start();
    const release = await publishRelease(t, "2.0.0");
    const c1 = await connect(t, "c1");
    const c2 = await connect(t, "c2");
    const m1 = await connect(t, "m1");
    const id = (
      await t.api<{ id: string }>("POST", "/api/v1/rollouts", {
        token: t.operator,
        body: {
          release,
          waves: [
            { name: "canary", agents: ["c1", "c2"] },
            { name: "rest", percent: 100 },
          ],
          failureThreshold: { count: 3 },
          autoAdvance: true,
        },
      })
    ).body.id;
    sendReport(c1, await c1.next(isType("deploy")), "succeeded");
    sendReport(c2, await c2.next(isType("deploy")), "failed");
    type View = { state: string; reason: string | null; currentWave: number };
    const view = async () => (await t.api<View>("GET", `/api/v1/rollouts/${id}`, { token: t.operator })).body;
    await expect
      .poll(async () => (await view()).reason)
      .toBe(
        "waiting for an operator: wave 1 (canary) finished with 1 of 2 succeeded (50 %), below its minSuccessRate (100 %); advance or abort",
      );
    expect((await view()).state).toBe("running");
    await new Promise((r) => setTimeout(r, 300));
    const waiting = (await t.hub.store.listEvents({ limit: 100, subject: id })).filter(
      (e) => e.kind === "rollout.waiting",
    );
    expect(waiting).toHaveLength(1);
    expect(m1.received.filter((m) => m.type === "deploy")).toEqual([]);

    const advanced = await t.api<View>("POST", `/api/v1/rollouts/${id}/advance`, {
      token: t.operator,
      body: {},
    });
    expect(advanced.body).toMatchObject({ state: "running", currentWave: 1, reason: null });
    await m1.next(isType("deploy"));
  });
});

describe("an auto-advancing wave that waits its waitMinutes", () => {
  it("says when it advances by itself (not while paused, not on the last wave)", async () => {
    requireHubBin();
    const t = await session.start();
    const { id, view } = await succeededCanary(t, 30);
    // Finished and all succeeded, yet still on the canary: it said nothing of the 30 minutes left.
    const at = new Date(Date.parse((await view()).waveStartedAt) + 30 * 60_000).toISOString();
    expect((await view()).autoAdvanceAt).toBe(at);
    const shown = await runHubCli(t.dir, ["rollout", "show", id, "--hub", t.hub.url], {
      SHIP_HUB_TOKEN: t.operator,
    });
    expect(shown.stdout).toContain(`; advances by itself once finished, not before ${at} (its waitMinutes)`);
    // Paused: nothing advances by itself.
    await t.api("POST", `/api/v1/rollouts/${id}/pause`, { token: t.operator, body: {} });
    expect(await view()).not.toHaveProperty("autoAdvanceAt");
    await t.api("POST", `/api/v1/rollouts/${id}/resume`, { token: t.operator, body: {} });
    // On the last wave there is nothing to advance to.
    await t.api("POST", `/api/v1/rollouts/${id}/advance`, { token: t.operator, body: { fromWave: 0 } });
    expect(await view()).not.toHaveProperty("autoAdvanceAt");
  });
});

describe("an auto-advancing wave paused during its wait", () => {
  it("waits the rest of it after the resume: the time paused does not count", async () => {
    requireHubBin();
    let skew = 0;
    const minutes = (n: number) => {
      skew += n * 60_000;
    };
    const t = await session.start({ now: () => Date.now() + skew });
    const { id, m1, view } = await succeededCanary(t, 10);
    const started = Date.parse((await view()).waveStartedAt);
    // Two minutes into the soak the operator pauses to look into something, for twenty.
    minutes(2);
    await t.api("POST", `/api/v1/rollouts/${id}/pause`, { token: t.operator, body: {} });
    minutes(20);
    const resumed = await runHubCli(t.dir, ["rollout", "resume", id, "--hub", t.hub.url], {
      SHIP_HUB_TOKEN: t.operator,
    });
    expect(resumed.code).toBe(0);
    expect(resumed.stderr).toMatch(
      /^note: wave 1 \(canary\) advances by itself once finished, not before \S+: the time it stood paused does not count toward its waitMinutes$/m,
    );
    // It used to advance at once: its 10 minutes had passed, paused.
    await new Promise((r) => setTimeout(r, 500));
    expect((await view()).currentWave).toBe(0);
    expect(m1.received.filter((m) => m.type === "deploy")).toEqual([]);
    // Eight minutes of its wait are left, and the view says so (the wave's start stays the truth).
    const shown = await view();
    expect(resumed.stderr).toContain(`not before ${shown.autoAdvanceAt}:`);
    expect(Date.parse(shown.waveStartedAt)).toBe(started);
    const waits = Date.parse(shown.autoAdvanceAt ?? "") - started;
    expect(waits).toBeGreaterThanOrEqual(30 * 60_000);
    expect(waits).toBeLessThan(31 * 60_000);
    minutes(7);
    await new Promise((r) => setTimeout(r, 300));
    expect((await view()).currentWave).toBe(0);
    minutes(2);
    await m1.next(isType("deploy"));
    expect((await view()).currentWave).toBe(1);
  });
});

describe("a wave that waits its waitMinutes and finished below its minSuccessRate", () => {
  it("gives no time at which it advances by itself: only an operator moves it on", async () => {
    requireHubBin();
    const t = await session.start();
    const release = await publishRelease(t, "2.0.0");
    const c1 = await connect(t, "c1");
    await connect(t, "m1");
    const id = (
      await t.api<{ id: string }>("POST", "/api/v1/rollouts", {
        token: t.operator,
        body: {
          release,
          waves: [
            { name: "canary", agents: ["c1"], waitMinutes: 30 },
            { name: "rest", percent: 100 },
          ],
          failureThreshold: { count: 2 },
          autoAdvance: true,
        },
      })
    ).body.id;
    sendReport(c1, await c1.next(isType("deploy")), "failed");
    type View = { reason: string | null; autoAdvanceAt?: string };
    const view = async () => (await t.api<View>("GET", `/api/v1/rollouts/${id}`, { token: t.operator })).body;
    await expect
      .poll(async () => (await view()).reason, { timeout: 10_000 })
      .toMatch(/^waiting for an operator: /);
    // It used to say both "waiting for an operator" and "advances by itself … not before" 30 minutes on.
    expect(await view()).not.toHaveProperty("autoAdvanceAt");
    const shown = await runHubCli(t.dir, ["rollout", "show", id, "--hub", t.hub.url], {
      SHIP_HUB_TOKEN: t.operator,
    });
    expect(shown.stdout).toContain("waiting for an operator: wave 1 (canary) finished with 0 of 1 succeeded");
    expect(shown.stdout).not.toContain("advances by itself");
  });
});
