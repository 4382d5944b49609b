/**
 * A fleet labelled per host: 10,000 agents each with its own `rack` value. The fleet page drew
 * every label value as an option of the Label filter at each first page, 10,000 elements (0.6–1.5 s
 * of the browser's main thread here); it now draws them when the operator reaches for the filter,
 * and a value chosen there lists what the API lists. Real hub (in process), real headless Chromium.
 */
import { describe, expect, it } from "vitest";
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
});
