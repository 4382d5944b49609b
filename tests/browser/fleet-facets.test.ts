/**
 * A fleet labelled per host: 10,000 agents each with its own `rack` value. The fleet page drew
 * every label value as an option of the Label filter at each first page, 10,000 elements (0.6–1.5 s
 * of the browser's main thread here); it now draws them when the operator reaches for the filter,
 * and a value chosen there lists what the API lists. Nor does it ask the hub for those values at
 * each redraw (once a second while the live stream reports changes). Real hub (in process), real
 * headless Chromium.
 */
import { describe, expect, it } from "vitest";
import { TestAgent } from "../integration/hub/support.js";
import { hasProgram } from "../support/require-program.js";
import { hubWithAgentPage } from "./signed-in.js";

const AGENTS = 10_000;

describe.skipIf(!hasProgram("chromium"))("a fleet labelled per host, in Chromium", () => {
  const opened = hubWithAgentPage(200);

  it("draws its label values only when the filter is used, and filters as the API does", async () => {
    const { t, page } = opened;
    await t.hub.store.tx(async (tx) => {
      for (let i = 0; i < AGENTS; i++)
        await tx.upsertAgent({
          id: `host-${String(i).padStart(5, "0")}`,
          hostname: `host-${i}.example`,
          labels: { rack: `r${i}` },
          agentVersion: "0.1.0",
          apps: [{ app: "web", version: "1.0.0", state: "ok" }],
          online: false,
          lastSeen: Date.now(),
        });
    });
    await page.goto(`${t.hub.url}/?poll=200#/fleet`);
    await expect
      .poll(() => page.locator("#fleet-summary").textContent(), { timeout: 20_000 })
      .toMatch(`1–50 of ${AGENTS + 1} agents`);
    // The page the operator sees, its filters' options among it: not one element per label value.
    expect(await page.evaluate("document.getElementsByTagName('*').length")).toBeLessThan(2000);
    await page.focus("#filter-label");
    expect(await page.locator("#filter-label option").count()).toBe(AGENTS + 1);
    await page.selectOption("#filter-label", "rack=r9999");
    await expect.poll(() => page.locator("#fleet-summary").textContent()).toMatch(/^1–1 of 1 agents/);
    const api = await t.api<{ agents: { id: string }[] }>("GET", "/api/v1/agents?label=rack%3Dr9999", {
      token: t.operator,
    });
    expect(api.body.agents.map((a) => a.id)).toEqual(["host-09999"]);
    expect(await page.locator("#fleet-table a").allTextContents()).toEqual(["host-09999"]);
  }, 90_000);

  it("asks for the filters' options once, not at each redraw the live stream asks for", async () => {
    const { t, page } = opened;
    const asked: string[] = [];
    page.on("request", (request) => {
      const url = new URL(request.url());
      if (url.pathname === "/api/v1/agents") asked.push(url.search);
    });
    await page.goto(`${t.hub.url}/?poll=200#/fleet`);
    // Loaded afresh (the same address, another hash, would keep the page as it was).
    await page.reload();
    // The filter chosen before is kept: the whole fleet again.
    await page.focus("#filter-label");
    await page.selectOption("#filter-label", "");
    await expect
      .poll(() => page.locator("#fleet-summary").textContent(), { timeout: 20_000 })
      .toMatch(`of ${AGENTS + 1} agents`);
    // Each connect and close is an event the page redraws on (at most one redraw a second).
    const agent = await TestAgent.connect(t.hub.url, await t.agentToken("b1"));
    agent.hello("b1");
    await expect.poll(() => asked.length, { timeout: 20_000 }).toBeGreaterThanOrEqual(2);
    agent.ws.terminate();
    await expect.poll(() => asked.length, { timeout: 20_000 }).toBeGreaterThanOrEqual(3);
    // Before: every one of them carried the 10,000 label values again.
    expect(asked.filter((q) => q.includes("facets=true"))).toHaveLength(1);
    await page.focus("#filter-label");
    expect(await page.locator("#filter-label option").count()).toBe(AGENTS + 1);
  }, 90_000);
});
