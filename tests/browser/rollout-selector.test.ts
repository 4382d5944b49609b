/**
 * The rollout page said the release, the waves and the policy, never the selector: an operator saw
 * hosts left out of every wave and no reason. It now has a Selector row: the pairs (one holding a
 * space, comma, quote or backslash quoted), or "none (every agent with app …)". Real hub (in
 * process), agents over a real WebSocket, real headless Chromium.
 */
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildDashboard } from "../integration/dashboard/support.js";
import { hubWithLabelledAgents, type LabelledHub, type TestHub } from "../integration/hub/support.js";
import { hasProgram } from "../support/require-program.js";
import type { FileBrowser } from "./fork-browser.js";
import { signedInPage } from "./signed-in.js";

describe.skipIf(!hasProgram("chromium"))("the rollout page's selector, in Chromium", () => {
  let hub: LabelledHub;
  let t: TestHub;
  let browser: FileBrowser;
  let page: Page;

  beforeAll(async () => {
    buildDashboard();
    hub = await hubWithLabelledAgents(
      [
        { id: "m1", labels: { ring: "main", zone: "rack b" } },
        { id: "c1", labels: { ring: "canary" } },
      ],
      { tickIntervalMs: 50 },
    );
    t = hub.t;
    ({ browser, page } = await signedInPage(t, 200));
  });
  afterAll(async () => {
    await browser?.close();
    await hub?.stop();
  });

  const selectorRow = async (id: string) => {
    await page.goto(`${t.hub.url}/?poll=200#/rollouts/${id}`);
    const dd = page.locator("dt", { hasText: /^Selector$/ }).locator("xpath=following-sibling::dd[1]");
    return dd.textContent({ timeout: 10_000 });
  };
  const create = async (body: object) => {
    const res = await t.api<{ id: string }>("POST", "/api/v1/rollouts", { token: t.operator, body });
    expect(res.status).toBe(201);
    return res.body.id;
  };
  const abort = (id: string) =>
    t.api("POST", `/api/v1/rollouts/${id}/abort`, { token: t.operator, body: {} });

  it("names the selector's pairs, or says there is none", async () => {
    const release = hub.release;
    const waves = [{ name: "all", percent: 100 }];
    const narrowed = await create({ release, waves, selector: { labels: { ring: "main", zone: "rack b" } } });
    expect(await selectorRow(narrowed)).toBe('ring=main, "zone=rack b"');
    await abort(narrowed);
    const everyone = await create({ release, waves });
    expect(await selectorRow(everyone)).toBe("none (every agent with app web)");
    await abort(everyone);
  });
});
