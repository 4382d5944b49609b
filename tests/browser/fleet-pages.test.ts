/**
 * The fleet's later pages when the agents matching the filter change while the operator looks. An
 * agent joining before the page shown (by id) made Next show the page's last agent again: pages
 * went by offset. They now start after the last agent shown, as the API's `after` does.
 * On page 2 of the online agents, agents going offline left the page at "51–50 of 40 agents" and
 * "No agent matches." while 40 did, with Next disabled: only Previous found them. The page now
 * moves back to the last page that holds agents. Previous went back to where the page before had
 * started: an agent joining before it pushed that page's last row into neither page; it now shows
 * the agents just before the page left (the API's `before`). Real hub (in process), agents over real
 * WebSockets, real headless Chromium; the hub stopped and started again on its data for an outage.
 */
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildDashboard } from "../integration/dashboard/support.js";
import { startTestHub, TestAgent, type TestHub } from "../integration/hub/support.js";
import { hasProgram } from "../support/require-program.js";
import type { FileBrowser } from "./fork-browser.js";
import { signedInPage } from "./signed-in.js";

describe.skipIf(!hasProgram("chromium"))("the fleet's pages as agents leave, in Chromium", () => {
  let t: TestHub;
  let browser: FileBrowser;
  let page: Page;
  const agents: TestAgent[] = [];

  beforeAll(async () => {
    buildDashboard();
    t = await startTestHub();
    for (let i = 0; i < 60; i++) {
      const id = `host-${String(i).padStart(2, "0")}`;
      const agent = await TestAgent.connect(t.hub.url, await t.agentToken(id));
      agent.hello(id);
      agents.push(agent);
    }
    ({ browser, page } = await signedInPage(t, 200));
  }, 60_000);
  afterAll(async () => {
    for (const a of agents) a.ws.terminate();
    await browser?.close();
    await t?.stop();
  });

  it("an agent joining before the page shown moves none of its rows: it goes on after the last one read", async ({
    onTestFinished: onFinished,
  }) => {
    const summary = page.locator("#fleet-summary");
    const firstRow = page.locator("#fleet-table tbody tr").first().locator("td").first();
    await expect.poll(() => summary.textContent(), { timeout: 10_000 }).toMatch(/^1–50 of 60 agents/);
    await page.getByRole("button", { name: "Next →" }).click();
    await expect.poll(() => summary.textContent(), { timeout: 10_000 }).toMatch(/^51–60 of 60 agents/);
    expect(await firstRow.textContent()).toMatch(/^host-50/);
    // Sorts before host-49, the last row of page 1: by offset, page 2 redrawn began with host-49 again.
    const joined = await TestAgent.connect(t.hub.url, await t.agentToken("host-00a"));
    joined.hello("host-00a");
    // Gone before the next test, which counts the agents online, whatever this one found.
    onFinished(() => joined.ws.terminate());
    await expect.poll(() => summary.textContent(), { timeout: 10_000 }).toMatch(/ of 61 agents/);
    expect(await summary.textContent()).toMatch(/^52–61 of 61 agents/);
    expect(await firstRow.textContent()).toMatch(/^host-50/);
    expect(await page.locator("#fleet-table tbody tr").count()).toBe(10);
    expect(await page.getByRole("button", { name: "Next →" }).isDisabled()).toBe(true);
    // The 50 agents just before host-50: back to where page 1 had started, it ended at host-48 and
    // host-49, pushed off it by host-00a, was in neither page read back.
    await page.getByRole("button", { name: "← Previous" }).click();
    await expect.poll(() => summary.textContent(), { timeout: 10_000 }).toMatch(/^2–51 of 61 agents/);
    const lastRow = page.locator("#fleet-table tbody tr").last().locator("td").first();
    expect([await firstRow.textContent(), await lastRow.textContent()]).toEqual([
      expect.stringMatching(/^host-00a/),
      expect.stringMatching(/^host-49/),
    ]);
    await page.getByRole("button", { name: "← Previous" }).click();
    await expect.poll(() => summary.textContent(), { timeout: 10_000 }).toMatch(/^1–50 of 61 agents/);
    expect(await firstRow.textContent()).toMatch(/^host-00/);
    expect(await page.getByRole("button", { name: "← Previous" }).isDisabled()).toBe(true);
  });

  it("a later page that the filter's agents no longer reach shows the last page that has them", async () => {
    const summary = page.locator("#fleet-summary");
    await page.locator("#filter-status").selectOption("online");
    await expect.poll(() => summary.textContent(), { timeout: 10_000 }).toMatch(/^1–50 of 60 agents/);
    await page.getByRole("button", { name: "Next →" }).click();
    await expect.poll(() => summary.textContent(), { timeout: 10_000 }).toMatch(/^51–60 of 60 agents/);
    for (const a of agents.splice(40)) a.ws.terminate();
    await expect.poll(() => summary.textContent(), { timeout: 20_000 }).toMatch(/^1–40 of 40 agents/);
    expect(await page.locator("#fleet-table tbody tr").count()).toBe(40);
    expect(await page.getByRole("button", { name: "← Previous" }).isDisabled()).toBe(true);
  });

  // The view kept its last figures with only the footer saying the hub was unreachable: "1–40 of
  // 40 agents (40 online …)" read as live while the hub was down. Above the view, a line says it is
  // not live and when it was read, the view dimmed, until the hub answers again. Last: it stops the hub.
  it("while the hub is down, says above the view that its figures are not live", async () => {
    const summary = page.locator("#fleet-summary");
    const stale = page.locator("#stale");
    await expect.poll(() => summary.textContent(), { timeout: 10_000 }).toMatch(/^1–40 of 40 agents/);
    expect(await stale.isHidden()).toBe(true);
    const { port } = new URL(t.hub.url);
    await t.hub.close();
    await expect.poll(() => stale.isVisible(), { timeout: 10_000 }).toBe(true);
    expect(await stale.textContent()).toMatch(
      /^Not live: the hub could not be reached \(.+\); what it shows was read at .+ and may have changed since\.$/,
    );
    expect(await page.locator("main").getAttribute("data-stale")).toBe("true");
    expect(await summary.textContent()).toMatch(/^1–40 of 40 agents/);
    // The same hub back (its data, its port): the line goes, and the figures are read again.
    const down = t;
    t = await startTestHub({ port: Number(port) }, down.dir);
    await expect.poll(() => stale.isHidden(), { timeout: 20_000 }).toBe(true);
    expect(await page.locator("main").getAttribute("data-stale")).toBeNull();
    // Read again: none of the 40 online agents it showed is (their connections ended with the hub).
    expect(await summary.textContent()).toMatch(/^0–0 of 0 agents \(0 online, 0 offline\); 61 in the fleet/);
    // Stopped here; afterAll's stop of the first (closed already) removes their data.
    await t.stop();
    t = down;
  });
});
