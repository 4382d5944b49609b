/**
 * The rollout page says how long the rollout waits: an offline agent its wave waits for reads
 * "offline: counts as failed at TIME" (before: pending, offline, and nothing more), and a wave
 * soaking its waitMinutes says when it advances by itself. Real hub (in process), agents over a
 * real WebSocket, real headless Chromium.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildDashboard } from "../integration/dashboard/support.js";
import {
  isType,
  operatorCli,
  publishRelease,
  reportAcked,
  startTestHub,
  TestAgent,
  type TestHub,
} from "../integration/hub/support.js";
import { hasProgram } from "../support/require-program.js";
import type { FileBrowser } from "./fork-browser.js";
import { signedInPage } from "./signed-in.js";

describe.skipIf(!hasProgram("chromium"))("how long a rollout waits, in Chromium", () => {
  let t: TestHub;
  let browser: FileBrowser;
  let page: Page;
  const agents: TestAgent[] = [];
  const text = (selector: string) => page.locator(selector).first().textContent({ timeout: 5000 });

  async function connect(id: string, app = "web", version = "1.0.0"): Promise<TestAgent> {
    const agent = await TestAgent.connect(t.hub.url, await t.agentToken(id));
    agents.push(agent);
    agent.hello(id, [{ app, version, state: "updated", releaseId: undefined }]);
    while (!t.hub.registry.isOnline(id)) await new Promise((resolve) => setTimeout(resolve, 20));
    return agent;
  }

  beforeAll(async () => {
    buildDashboard();
    t = await startTestHub({ tickIntervalMs: 50, offlineTimeoutMs: 600_000 });
    // An operator away from UTC: a time the hub writes (ISO 8601, UTC) reads otherwise here.
    ({ browser, page } = await signedInPage(t, 200, "America/St_Johns"));
  });
  afterAll(async () => {
    for (const a of agents) a.ws.terminate();
    await browser?.close();
    await t?.stop();
  });

  it("shows when an offline agent counts as failed, and when a soaking wave advances", async () => {
    const v2 = await publishRelease(t, "2.0.0");
    const c1 = await connect("c1");
    const away = await connect("away");
    await connect("m1");
    away.ws.close();
    while (t.hub.registry.isOnline("away")) await new Promise((resolve) => setTimeout(resolve, 20));
    // The store's row (lastSeen, the deadline's start) is written after the registry forgets the
    // socket: a rollout created in between answered a deadline a second before the one shown later.
    while ((await t.hub.store.getAgents(["away"]))[0]?.online !== false)
      await new Promise((resolve) => setTimeout(resolve, 20));
    const created = await t.api<{
      id: string;
      waves: { agents: { agentId: string; offlineFailsAt?: string }[] }[];
    }>("POST", "/api/v1/rollouts", {
      token: t.operator,
      body: {
        release: v2,
        waves: [
          { name: "canary", agents: ["c1", "away"], waitMinutes: 30 },
          { name: "rest", percent: 100 },
        ],
        failureThreshold: { count: 5 },
        autoAdvance: true,
      },
    });
    const id = created.body.id;
    const failsAt = created.body.waves[0]?.agents.find((a) => a.agentId === "away")?.offlineFailsAt;
    expect(failsAt).toBeDefined();
    await reportAcked(c1, await c1.next(isType("deploy")), "succeeded");

    await page.goto(`${t.hub.url}/?poll=200#/rollouts/${id}`);
    await page.locator('#waves li[data-wave="0"] summary').click();
    const row = page.locator('#waves li[data-wave="0"] tr', { hasText: "away" });
    const local = await page.evaluate((iso) => new Date(iso).toLocaleString(), failsAt as string);
    await expect
      .poll(() => row.textContent(), { timeout: 10_000 })
      .toContain(`offline: counts as failed at ${local}`);
    const soakEnds = await page.evaluate(
      (ms) => new Date(ms).toLocaleString(),
      Date.parse(
        (await t.api<{ waveStartedAt: string }>("GET", `/api/v1/rollouts/${id}`, { token: t.operator })).body
          .waveStartedAt,
      ) +
        30 * 60_000,
    );
    expect(await text(".facts")).toContain(`advances by itself once finished, not before ${soakEnds}`);
    // Each wave says what it waits for, as `rollout show` does; the last wave completes instead.
    expect(await text('#waves li[data-wave="0"] .wave-pass')).toBe(
      "passes by itself once finished with ≥ 100 % of the agents it updates succeeded, not before 30 min after it started (waitMinutes 30, minSuccessRate 100 %)",
    );
    expect(await page.locator('#waves li[data-wave="1"] .wave-pass').count()).toBe(0);

    // `rollout show` says each wave's rule, its pass and the policy in the page's words (one
    // module, dashboard/src/rollout-rules.ts, writes both): a real child process of the hub CLI.
    const shown = await operatorCli(t, "rollout", "show", id);
    expect(shown.code).toBe(0);
    const line = (pattern: RegExp) => shown.stdout.match(pattern)?.[1];
    expect(line(/^ {2}(passes .*)$/m)).toBe(await text('#waves li[data-wave="0"] .wave-pass'));
    expect(shown.stdout.match(/^ {2}passes /gm)).toHaveLength(1);
    const policy = page.locator("dt", { hasText: "Policy" }).locator("xpath=following-sibling::dd[1]");
    expect(line(/^policy {3}(.*)$/m)).toBe(await policy.textContent());
    expect(await policy.textContent()).toBe("halt at 5 failure(s); auto-advance on; auto-rollback off");
    for (const wave of [0, 1]) {
      const takes = [...shown.stdout.matchAll(/^ {2}takes (.*)$/gm)][wave]?.[1];
      expect(takes).toBeDefined();
      expect(await text(`#waves li[data-wave="${wave}"] h3 .sub`)).toContain(`; ${takes})`);
    }

    // A time inside a hub text (the forgotten agent's error) in the operator's zone, as every other
    // time on the page: it read "… at 2026-12-07T04:12:33.000Z" beside local times.
    const forgot = await t.api("POST", "/api/v1/agents/away/forget", { token: t.operator, body: {} });
    expect(forgot.status).toBe(200);
    const error = (
      await t.api<{ waves: { agents: { agentId: string; error: string | null }[] }[] }>(
        "GET",
        `/api/v1/rollouts/${id}`,
        { token: t.operator },
      )
    ).body.waves[0]?.agents.find((a) => a.agentId === "away")?.error;
    const iso = error?.match(/\d{4}-\d{2}-\d{2}T[\d:.]+Z/)?.[0];
    expect(iso).toBeDefined();
    const at = await page.evaluate((time) => new Date(time).toLocaleString(), iso as string);
    await expect
      .poll(() => row.textContent(), { timeout: 10_000 })
      .toContain(error?.replace(iso as string, at));
  });

  it("says the base the engine counts a pass rule and a threshold over, with its figures, as `rollout show` does", async () => {
    const v2 = await publishRelease(t, "2.0.0", "api");
    for (const id of ["a1", "a2", "a3"]) await connect(id, "api", "2.0.0");
    const u1 = await connect("u1", "api");
    const u2 = await connect("u2", "api");
    await connect("r1", "api");
    // Of every canary agent 4 of 5 succeeded (80 %); of the 2 it updated, 1 (50 %): it waits.
    const created = await t.api<{ id: string }>("POST", "/api/v1/rollouts", {
      token: t.operator,
      body: {
        release: v2,
        waves: [
          { name: "canary", agents: ["a1", "a2", "a3", "u1", "u2"], minSuccessRate: 0.75 },
          { name: "rest", percent: 100 },
        ],
        failureThreshold: { percent: 60 },
        autoAdvance: true,
      },
    });
    const id = created.body.id;
    await reportAcked(u1, await u1.next(isType("deploy")), "failed");
    await reportAcked(u2, await u2.next(isType("deploy")), "succeeded");
    await page.goto(`${t.hub.url}/?poll=200#/rollouts/${id}`);
    const counted = page.locator('#waves li[data-wave="0"] .wave-counted');
    await expect
      .poll(() => counted.textContent(), { timeout: 10_000 })
      .toBe("1 of 2 updated succeeded; 3 already on 2.0.0, not counted");
    expect(await text('#waves li[data-wave="0"] .wave-pass')).toBe(
      "passes by itself once finished with ≥ 75 % of the agents it updates succeeded (waitMinutes 0, minSuccessRate 75 %)",
    );
    expect(await text("#threshold-counted")).toBe(
      "1 of 2 updated failed in the waves started; 3 already on 2.0.0, not counted",
    );
    // The wave's bar and its legend count as the API's `counted` does: the 3 hosts on the release
    // stand apart, not as 3 of "✓ 4 succeeded" in a bar 4/5 green beside "1 of 2 updated succeeded".
    const figures = (
      await t.api<{
        waves: { counted: { toUpdate: number; succeeded: number; failed: number; alreadyOn: number } }[];
      }>("GET", `/api/v1/rollouts/${id}`, { token: t.operator })
    ).body.waves[0]?.counted;
    expect(figures).toEqual({ toUpdate: 2, succeeded: 1, failed: 1, alreadyOn: 3 });
    const legend = (group: string) => text(`#waves li[data-wave="0"] .legend [data-group="${group}"]`);
    expect(await legend("succeeded")).toBe(`✓ ${figures?.succeeded} succeeded`);
    expect(await legend("failed")).toBe(`✗ ${figures?.failed} failed`);
    expect(await legend("already-on")).toBe(`= ${figures?.alreadyOn} already on 2.0.0, not counted`);
    const bar = page.locator('#waves li[data-wave="0"] .bar');
    expect(await bar.getAttribute("aria-valuemax")).toBe(String(figures?.toUpdate));
    expect(await bar.getAttribute("aria-valuenow")).toBe(String(figures?.toUpdate));
    // The Rollouts list says the same of the whole rollout (`alreadyOn` in the API's list).
    const listed = (
      await t.api<{ rollouts: { id: string; alreadyOn?: number }[] }>("GET", "/api/v1/rollouts", {
        token: t.operator,
      })
    ).body.rollouts.find((r) => r.id === id);
    expect(listed?.alreadyOn).toBe(3);
    await page.goto(`${t.hub.url}/?poll=200#/rollouts`);
    await expect
      .poll(() => page.locator("#rollout-list tr", { hasText: id.slice(0, 8) }).textContent(), {
        timeout: 10_000,
      })
      .toContain("✓ 1 succeeded · = 3 already on 2.0.0, not counted · ✗ 1 failed");
    await page.goto(`${t.hub.url}/?poll=200#/rollouts/${id}`);
    await expect.poll(() => counted.textContent(), { timeout: 10_000 }).toContain("1 of 2 updated");
    const policy = page.locator("dt", { hasText: "Policy" }).locator("xpath=following-sibling::dd[1]");
    expect(await policy.textContent()).toBe(
      "halt at 60 % failed of the agents it updates in the waves started; auto-advance on; auto-rollback off",
    );
    // The engine judged the wave by the same figures: its waiting reason names them.
    await expect
      .poll(() => text(".facts"), { timeout: 10_000 })
      .toContain("finished with 1 of the 2 agent(s) it updated succeeded (50 %; 3 ran the release already");
    const shown = await operatorCli(t, "rollout", "show", id);
    expect(shown.stdout.match(/^ {2}counted (.*)$/m)?.[1]).toBe(await counted.textContent());
    expect(shown.stdout.match(/^counted {2}(.*)$/m)?.[1]).toBe(await text("#threshold-counted"));
  });
});

describe.skipIf(!hasProgram("chromium"))("a wave held after a hub restart, in Chromium", () => {
  const hubs: TestHub[] = [];
  let browser: FileBrowser | undefined;
  let dir = "";
  afterAll(async () => {
    await browser?.close();
    for (const hub of hubs) await hub.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("says which canary hosts the restarted hub has not heard yet, as the API names them", async () => {
    buildDashboard();
    dir = await mkdtemp(join(tmpdir(), "ship-hub-held-"));
    const first = await startTestHub({ tickIntervalMs: 50, offlineTimeoutMs: 600_000 }, dir);
    hubs.push(first);
    const v2 = await publishRelease(first, "2.0.0");
    const canary = await TestAgent.connect(first.hub.url, await first.agentToken("c1"));
    canary.hello("c1", [{ app: "web", version: "1.0.0", state: "updated", releaseId: undefined }]);
    while (!first.hub.registry.isOnline("c1")) await new Promise((resolve) => setTimeout(resolve, 20));
    const created = await first.api<{ id: string }>("POST", "/api/v1/rollouts", {
      token: first.operator,
      body: {
        release: v2,
        waves: [
          { name: "canary", agents: ["c1"], waitMinutes: 30 },
          { name: "rest", percent: 100 },
        ],
        failureThreshold: { count: 5 },
        autoAdvance: true,
      },
    });
    await reportAcked(canary, await canary.next(isType("deploy")), "succeeded");
    await first.hub.close();
    canary.ws.terminate();
    const second = await startTestHub({ tickIntervalMs: 50, offlineTimeoutMs: 600_000 }, dir);
    hubs.push(second);
    const held = (
      await second.api<{ advanceHeldUntilHeard?: { agents: string[]; until: string } }>(
        "GET",
        `/api/v1/rollouts/${created.body.id}`,
        { token: second.operator },
      )
    ).body.advanceHeldUntilHeard;
    expect(held?.agents).toEqual(["c1"]);
    let page: Page;
    ({ browser, page } = await signedInPage(second, 200));
    await page.goto(`${second.hub.url}/?poll=200#/rollouts/${created.body.id}`);
    const until = await page.evaluate((iso) => new Date(iso).toLocaleString(), held?.until ?? "");
    await expect
      .poll(() => page.locator("#advance-held").textContent({ timeout: 5000 }), { timeout: 10_000 })
      .toBe(
        `Held since the hub started, until c1 of this wave say(s) hello again (each may have left the release while the hub was down), at the latest ${until}`,
      );
    // The list says it too, where a running rollout that does not move read as stuck.
    await page.goto(`${second.hub.url}/?poll=200#/rollouts`);
    await expect
      .poll(() => page.locator(".rollout-reason").first().textContent({ timeout: 5000 }), { timeout: 10_000 })
      .toBe(
        `Auto-advance held since the hub started, until c1 of this wave say(s) hello again (each may have left the release while the hub was down), at the latest ${until}`,
      );
  });
});
