/**
 * A failed update its host did not roll back (`failed_not_rolled_back`: the new release stays in
 * place, failing its checks) read in the fleet as the plain grey word, like an app at rest, while
 * a failure the host undid was a red "✗ update failed, rolled back by the host". Real hub (in
 * process), agents over a real WebSocket, real headless Chromium.
 */
import { type Browser, chromium, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildDashboard } from "../integration/dashboard/support.js";
import { startTestHub, TestAgent, type TestHub } from "../integration/hub/support.js";
import { hasProgram } from "../support/require-program.js";

const CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run"];

describe.skipIf(!hasProgram("chromium"))("the fleet's app states, in Chromium", () => {
  let t: TestHub;
  let browser: Browser;
  let page: Page;
  const agents: TestAgent[] = [];

  beforeAll(async () => {
    buildDashboard();
    t = await startTestHub();
    browser = await chromium.launch({ executablePath: "/usr/bin/chromium", args: CHROMIUM_ARGS });
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    await page.goto(`${t.hub.url}/?poll=200`);
    await page.locator("#token").fill(t.operator);
    await page.keyboard.press("Enter");
  });
  afterAll(async () => {
    for (const a of agents) a.ws.terminate();
    await browser?.close();
    await t?.stop();
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
});
