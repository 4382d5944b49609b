/**
 * The dashboard tells apart what the hub now tells apart: a deployment whose agent no longer fits
 * its rollout reads "not applicable" (not failed, not pending) on the rollout page, and in the
 * fleet a failed update its host undid reads in red while a rollback an operator asked for reads
 * quietly as one. Real hub (in process), agents over a real WebSocket, real headless Chromium.
 */
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

const isDeploy = isType("deploy");

describe.skipIf(!hasProgram("chromium"))("not applicable, and two kinds of rolled back, in Chromium", () => {
  let t: TestHub;
  let browser: FileBrowser;
  let page: Page;
  const agents: TestAgent[] = [];
  const text = (selector: string) => page.locator(selector).first().textContent({ timeout: 5000 });

  async function connect(id: string, apps = ["web"]): Promise<TestAgent> {
    const agent = await TestAgent.connect(t.hub.url, await t.agentToken(id));
    agents.push(agent);
    agent.hello(
      id,
      apps.map((app) => ({ app, version: "1.0.0", state: "updated", releaseId: undefined })),
    );
    while (!t.hub.registry.isOnline(id)) await new Promise((resolve) => setTimeout(resolve, 20));
    return agent;
  }

  beforeAll(async () => {
    buildDashboard();
    t = await startTestHub({ tickIntervalMs: 50 });
    ({ browser, page } = await signedInPage(t, 200));
  });
  afterAll(async () => {
    for (const a of agents) a.ws.terminate();
    await browser?.close();
    await t?.stop();
  });

  it("shows a deployment whose agent left the app as not applicable, and the fleet's two rollbacks apart", async () => {
    await publishRelease(t, "1.0.0");
    const v2 = await publishRelease(t, "2.0.0");
    const a1 = await connect("a1");
    const a2 = await connect("a2");
    const a3 = await connect("a3");
    a3.ws.close();
    while (t.hub.registry.isOnline("a3")) await new Promise((resolve) => setTimeout(resolve, 20));
    const created = await t.api<{ id: string }>("POST", "/api/v1/rollouts", {
      token: t.operator,
      body: { release: v2, waves: [{ name: "all", percent: 100 }], failureThreshold: { count: 5 } },
    });
    const id = created.body.id;
    // a3 comes back with the app disabled; a1's update fails and its host restores 1.0.0.
    await connect("a3", ["other"]);
    await reportAcked(a1, await a1.next(isDeploy), "rolled_back");
    await reportAcked(a2, await a2.next(isDeploy), "succeeded");

    await page.goto(`${t.hub.url}/?poll=200#/rollouts/${id}`);
    const legend = '#waves li[data-wave="0"] .legend';
    await expect.poll(() => text(legend), { timeout: 10_000 }).toMatch(/– 1 not applicable/);
    expect(await text(legend)).toMatch(/✗ 1 failed/);
    await page.locator('#waves li[data-wave="0"] summary').click();
    const row = page.locator('#waves li[data-wave="0"] tr', { hasText: "a3" });
    expect(await row.textContent()).toContain("not_applicable");
    expect(await row.textContent()).toContain("not applicable: a3 no longer takes app web");

    // The operator takes 2.0.0 back: a2 rolls back on request.
    await t.api("POST", `/api/v1/rollouts/${id}/abort`, { token: t.operator, body: { rollback: true } });
    const back = await a2.next(isDeploy);
    await reportAcked(a2, { ...back, release: { ...back.release, version: "1.0.0" } }, "succeeded");
    await page.goto(`${t.hub.url}/?poll=200#/fleet`);
    const fleetRow = (agentId: string) =>
      page.locator("#fleet-table tr", { hasText: agentId }).first().textContent({ timeout: 5000 });
    await expect.poll(() => fleetRow("a2"), { timeout: 10_000 }).toContain("↺ rolled back on request");
    expect(await fleetRow("a2")).not.toContain("✗");
    expect(await fleetRow("a1")).toContain("✗ update failed, rolled back by the host");
  });

  it("shows a rollback owed to an offline agent as queued, not as sent", async () => {
    const v3 = await publishRelease(t, "3.0.0");
    const a4 = await connect("a4");
    const created = await t.api<{ id: string }>("POST", "/api/v1/rollouts", {
      token: t.operator,
      body: { release: v3, waves: [{ name: "one", agents: ["a4"] }] },
    });
    const id = created.body.id;
    await reportAcked(a4, await a4.next(isDeploy), "succeeded");
    a4.ws.close();
    while (t.hub.registry.isOnline("a4")) await new Promise((resolve) => setTimeout(resolve, 20));
    await t.api("POST", `/api/v1/rollouts/${id}/abort`, { token: t.operator, body: { rollback: true } });
    await page.goto(`${t.hub.url}/?poll=200#/rollouts/${id}`);
    await expect
      .poll(() => page.locator(".rollout").textContent())
      .toContain("rollback queued for 1 offline agent(s), sent when they reconnect: a4");
    await page.locator('#waves li[data-wave="0"] summary').click();
    const row = page.locator('#waves li[data-wave="0"] tr', { hasText: "a4" });
    await expect
      .poll(() => row.textContent())
      .toContain("offline: its rollback instruction goes out when it reconnects");
  });
});
