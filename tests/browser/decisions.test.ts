/**
 * What the dashboard says of rollouts and hosts that need a decision.
 *
 * The rollouts list showed each rollout's state alone: a rollout halted on its failure threshold
 * and one an operator paused both read "paused", a wave stuck waiting for an operator read
 * "running", and "completed" hid its failures, so an operator scanning the list could not tell
 * which needed a decision. Each state now carries the hub's reason. And resuming a halted rollout
 * accepts its failures so far, which the confirmation now says. A failed update its host did not
 * roll back (`failed_not_rolled_back`: the new release stays in place, failing its checks) read in
 * the fleet as the plain grey word, like an app at rest; it is now a red failure. Real hub (in
 * process), agents over a real WebSocket, real headless Chromium.
 */
import { randomUUID } from "node:crypto";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildDashboard } from "../integration/dashboard/support.js";
import {
  isType,
  publishRelease,
  reportAcked,
  startTestHub,
  TestAgent,
  type TestHub,
} from "../integration/hub/support.js";
import { hasProgram } from "../support/require-program.js";
import type { FileBrowser } from "./fork-browser.js";
import { signedInPage } from "./signed-in.js";

describe.skipIf(!hasProgram("chromium"))("rollouts and hosts that need a decision, in Chromium", () => {
  let t: TestHub;
  let browser: FileBrowser;
  let page: Page;
  const agents: TestAgent[] = [];

  beforeAll(async () => {
    buildDashboard();
    t = await startTestHub();
    ({ browser, page } = await signedInPage(t, 200));
  });
  /**
   * Clicks `action` on the rollout's page once it reads `from`, agreeing to its question; the
   * questions the page asked, once the state left `from`.
   */
  async function clickOnPage(id: string, action: string, from: string): Promise<string[]> {
    const asked: string[] = [];
    page.removeAllListeners("dialog");
    page.on("dialog", (d) => {
      asked.push(d.message());
      void d.accept();
    });
    await page.goto(`${t.hub.url}/?poll=200#/rollouts/${id}`);
    await expect
      .poll(() => page.locator("#rollout-state").textContent({ timeout: 5000 }), { timeout: 10_000 })
      .toBe(from);
    await page.locator(`button[data-action="${action}"]`).click();
    await expect
      .poll(() => page.locator("#rollout-state").textContent({ timeout: 5000 }), { timeout: 10_000 })
      .not.toBe(from);
    return asked;
  }
  afterAll(async () => {
    for (const a of agents) a.ws.terminate();
    await browser?.close();
    await t?.stop();
  });

  it("says why a rollout is paused", async () => {
    const release = await publishRelease(t, "2.0.0");
    const a1 = await TestAgent.connect(t.hub.url, await t.agentToken("a1"));
    agents.push(a1);
    a1.hello("a1");
    while (!t.hub.registry.isOnline("a1")) await new Promise((resolve) => setTimeout(resolve, 20));
    const id = (
      await t.api<{ id: string }>("POST", "/api/v1/rollouts", {
        token: t.operator,
        body: { release, waves: [{ name: "all", percent: 100 }] },
      })
    ).body.id;
    await reportAcked(a1, await a1.next(isType("deploy")), "failed");
    await page.goto(`${t.hub.url}/?poll=200#/rollouts`);
    const row = page.locator("#rollout-list tr", { hasText: id.slice(0, 8) });
    await expect
      .poll(() => row.locator(".rollout-reason").textContent({ timeout: 5000 }))
      .toBe("failure threshold (1 failure(s)) reached: 1 failed when it halted");
    expect(await row.locator(".pill").textContent()).toBe("paused");

    // Resuming accepts that failure: the confirmation says so before the operator agrees.
    expect(await clickOnPage(id, "resume", "paused")).toEqual([
      "Resume this rollout? Its 1 failure(s) so far are accepted: only failures from now on count toward its threshold.",
    ]);
  });

  it("shows a failed update left in place as a failure", async () => {
    for (const [id, state] of [
      ["broken", "failed_not_rolled_back"],
      ["fine", "updated"],
    ] as const) {
      const agent = await TestAgent.connect(t.hub.url, await t.agentToken(id));
      agents.push(agent);
      agent.hello(id, [{ app: "web", version: "2.0.0", state, releaseId: undefined }]);
      while (!t.hub.registry.isOnline(id)) await new Promise((resolve) => setTimeout(resolve, 20));
    }
    await page.goto(`${t.hub.url}/?poll=200#/fleet`);
    const row = (id: string) => page.locator("#fleet-table tr", { hasText: id }).first();
    await expect
      .poll(() => row("broken").locator(".state-bad").textContent())
      .toBe("✗ update failed, NOT rolled back");
    expect(await row("fine").locator(".state-bad").count()).toBe(0);
    // The agent's own page reads the same.
    await page.goto(`${t.hub.url}/?poll=200#/agents/broken`);
    await expect
      .poll(() => page.locator("td .state-bad").first().textContent({ timeout: 5000 }))
      .toBe("✗ update failed, NOT rolled back");
  });

  it("Abort says that agents already updating finish: they are not called back", async () => {
    const release = await publishRelease(t, "3.0.0");
    const b1 = await TestAgent.connect(t.hub.url, await t.agentToken("b1"));
    agents.push(b1);
    b1.hello("b1");
    while (!t.hub.registry.isOnline("b1")) await new Promise((resolve) => setTimeout(resolve, 20));
    // The earlier cases' rollout of web is still active: abort it first.
    for (const r of (
      await t.api<{ rollouts: { id: string; final: boolean }[] }>("GET", "/api/v1/rollouts", {
        token: t.operator,
      })
    ).body.rollouts)
      if (!r.final) await t.api("POST", `/api/v1/rollouts/${r.id}/abort`, { token: t.operator, body: {} });
    const id = (
      await t.api<{ id: string }>("POST", "/api/v1/rollouts", {
        token: t.operator,
        body: { release, waves: [{ name: "all", agents: ["b1"] }] },
      })
    ).body.id;
    const deploy = await b1.next(isType("deploy"));
    expect(await clickOnPage(id, "abort", "running")).toEqual([
      "Abort this rollout? Agents already updating finish; those not yet sent the release stay on their current one.",
    ]);
    expect(await page.locator("#rollout-state").textContent()).toBe("aborted");
    // As it said: b1, already sent the release, finishes its update and counts.
    await reportAcked(b1, deploy, "succeeded");
    type Detail = { waves: { agents: { agentId: string; state: string }[] }[] };
    const detail = await t.api<Detail>("GET", `/api/v1/rollouts/${id}`, { token: t.operator });
    expect(detail.body.waves[0]?.agents).toEqual([
      expect.objectContaining({ agentId: "b1", state: "succeeded" }),
    ]);
  });

  it("Resume says which failures it accepts: not those of waves not started yet", async () => {
    // Another app: the earlier cases' rollouts of web stay as they are.
    const release = await publishRelease(t, "2.0.0", "api");
    const hello = async (id: string, version: string, state: string, releaseId?: string) => {
      const agent = await TestAgent.connect(t.hub.url, await t.agentToken(id));
      agents.push(agent);
      agent.hello(id, [{ app: "api", version, state, releaseId }]);
      while (!t.hub.registry.isOnline(id)) await new Promise((resolve) => setTimeout(resolve, 20));
      return agent;
    };
    const x1 = await hello("x1", "1.0.0", "updated");
    // x2's update to this release failed and was left installed: planned failed in wave 2.
    await hello("x2", "2.0.0", "failed_not_rolled_back", release);
    const id = (
      await t.api<{ id: string }>("POST", "/api/v1/rollouts", {
        token: t.operator,
        body: {
          release,
          waves: [
            { name: "canary", agents: ["x1"] },
            { name: "rest", agents: ["x2"] },
          ],
        },
      })
    ).body.id;
    const deploy = await x1.next(isType("deploy"));
    x1.send({
      type: "report",
      v: 1,
      reportId: randomUUID(),
      deploymentId: deploy.deploymentId,
      app: "api",
      releaseId: release,
      outcome: "failed",
      fromVersion: "1.0.0",
      toVersion: "2.0.0",
      error: "post_update test failed",
      steps: [],
    });
    const asked: string[] = [];
    page.removeAllListeners("dialog");
    page.on("dialog", (d) => {
      asked.push(d.message());
      void d.dismiss();
    });
    await page.goto(`${t.hub.url}/?poll=200#/rollouts/${id}`);
    await expect
      .poll(() => page.locator("#rollout-state").textContent({ timeout: 5000 }), { timeout: 10_000 })
      .toBe("paused");
    await page.locator('button[data-action="resume"]').click();
    await expect.poll(() => asked.length).toBe(1);
    // It said "Its 2 failure(s) so far are accepted": x2's counts when wave 2 starts.
    expect(asked).toEqual([
      "Resume this rollout? Its 1 failure(s) so far are accepted: only failures from now on count toward its threshold. 1 failure(s) in waves not started yet are not accepted: they count toward it when their wave starts.",
    ]);
  });

  it("Resume after a pause by hand says the failures so far still count, and they do", async () => {
    // Another app again. Under a threshold of 2, one failure; the operator pauses to look.
    const release = await publishRelease(t, "2.0.0", "db");
    const hello = async (id: string) => {
      const agent = await TestAgent.connect(t.hub.url, await t.agentToken(id));
      agents.push(agent);
      agent.hello(id, [{ app: "db", version: "1.0.0", state: "updated", releaseId: undefined }]);
      while (!t.hub.registry.isOnline(id)) await new Promise((resolve) => setTimeout(resolve, 20));
      return agent;
    };
    // y2 is still updating (it never answers here): the wave is not over when y1 fails.
    const [y1] = [await hello("y1"), await hello("y2")];
    const id = (
      await t.api<{ id: string }>("POST", "/api/v1/rollouts", {
        token: t.operator,
        body: { release, waves: [{ name: "all", agents: ["y1", "y2"] }], failureThreshold: { count: 2 } },
      })
    ).body.id;
    await reportAcked(y1, await y1.next(isType("deploy")), "failed");
    expect(
      (await t.api("POST", `/api/v1/rollouts/${id}/pause`, { token: t.operator, body: {} })).status,
    ).toBe(200);
    expect(await clickOnPage(id, "resume", "paused")).toEqual([
      "Resume this rollout? Its 1 failure(s) so far still count toward its threshold: it was paused, not halted on it, and a resume accepts failures only after a halt.",
    ]);
    const view = await t.api<{ counted: { accepted: number } }>("GET", `/api/v1/rollouts/${id}`, {
      token: t.operator,
    });
    expect(view.body.counted.accepted).toBe(0);
  });
});
