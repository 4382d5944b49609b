/**
 * What agents and CI write reaches the dashboard: a label value, a host name, an app's state, a
 * manifest. One holding a bidirectional override (U+202E) was shown raw, so `prod<U+202E>detadpu`
 * read "produpdated" and a manifest line read backwards; a zero-width space made two host names
 * look alike. The dashboard now writes each such character out (`\u202e`), as the hub CLI prints
 * it, in text and tooltips alike. Real hub (in process), an agent over a real WebSocket, real
 * headless Chromium.
 */
import { randomUUID } from "node:crypto";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildDashboard } from "../integration/dashboard/support.js";
import { startTestHub, TestAgent, type TestHub } from "../integration/hub/support.js";
import { hasProgram } from "../support/require-program.js";
import type { FileBrowser } from "./fork-browser.js";
import { signedInPage } from "./signed-in.js";

/** Characters that reorder or hide text: none may reach what the page shows. */
const HIDDEN = /[\u200b-\u200f\u202a-\u202e\u2066-\u2069\u061c\u2028\u2029\p{Cc}]/u;

describe.skipIf(!hasProgram("chromium"))("hidden and reordering characters in Chromium", () => {
  let t: TestHub;
  let browser: FileBrowser;
  let page: Page;
  let agent: TestAgent | undefined;

  beforeAll(async () => {
    buildDashboard();
    t = await startTestHub();
    ({ browser, page } = await signedInPage(t, 200));
    agent = await TestAgent.connect(t.hub.url, await t.agentToken("a1"));
    agent.send({
      type: "hello",
      v: 1,
      agentId: "a1",
      hostname: "web\u202e1-bd",
      labels: { env: "prod\u202edetadpu", zone: "eu\u200b1" },
      agentVersion: "test",
      apps: [{ app: "web", version: "1.0.0", state: "failed\u2066\u202e ok" }],
    });
    while (!t.hub.registry.isOnline("a1")) await new Promise((resolve) => setTimeout(resolve, 20));
  });
  afterAll(async () => {
    agent?.ws.terminate();
    await browser?.close();
    await t?.stop();
  });

  const shown = async () => (await page.locator("main").textContent({ timeout: 5000 })) ?? "";
  const tooltips = () =>
    page.locator("[title]").evaluateAll((els) => els.map((e) => e.getAttribute("title") ?? "").join(" "));

  it("the fleet and the agent's page write a label's, host name's and state's hidden characters out", async () => {
    await page.goto(`${t.hub.url}/?poll=200#/fleet`);
    await expect.poll(shown).toContain("prod\\u202edetadpu");
    const fleet = await shown();
    expect(fleet).toContain("web\\u202e1-bd");
    expect(fleet).toContain("eu\\u200b1");
    expect(fleet).not.toMatch(HIDDEN);
    expect(await tooltips()).not.toMatch(HIDDEN);
    // Shown written out, chosen as it is: the label filter still finds the agent.
    await page.focus("#filter-label");
    await page.selectOption("#filter-label", { label: "env=prod\\u202edetadpu" });
    await expect.poll(() => page.locator("#filter-label").inputValue()).toBe("env=prod\u202edetadpu");
    await expect.poll(shown).toMatch(/1–1 of 1 agents/);

    await page.goto(`${t.hub.url}/?poll=200#/agents/a1`);
    await expect.poll(shown).toContain("failed\\u2066\\u202e ok");
    const agentPage = await shown();
    expect(agentPage).toContain("web\\u202e1-bd");
    expect(agentPage).toContain("prod\\u202edetadpu");
    expect(agentPage).not.toMatch(HIDDEN);
    expect(await tooltips()).not.toMatch(HIDDEN);
  });

  it("a line break or tab in a host name, version or state is written out, a report error's kept", async () => {
    // The page folded them into a space: host `web-5<LF>web-6` read "web-5 web-6", two hosts in
    // one row, where `ship-hub agents` prints `web-5\nweb-6`.
    const a2 = await TestAgent.connect(t.hub.url, await t.agentToken("a2"));
    try {
      a2.send({
        type: "hello",
        v: 1,
        agentId: "a2",
        hostname: "web-5\nweb-6",
        labels: { note: "a\tb" },
        agentVersion: "test",
        apps: [{ app: "web", version: "1.0.0\n2.0.0", state: "ok\r\nfailed" }],
      });
      a2.send({
        type: "report",
        v: 1,
        reportId: randomUUID(),
        app: "api",
        outcome: "failed",
        fromVersion: "1.0.0",
        toVersion: "1.1.0",
        error: "health check failed:\n\tconnection refused",
      });
      await page.goto(`${t.hub.url}/?poll=200#/fleet`);
      await expect.poll(shown).toContain("web-5\\nweb-6");
      const fleet = await shown();
      expect(fleet).toContain("1.0.0\\n2.0.0");
      expect(fleet).toContain("ok\\r\\nfailed");
      expect(fleet).toContain("a\\tb");
      expect(fleet).not.toMatch(HIDDEN);
      expect(await tooltips()).not.toMatch(HIDDEN);

      await page.goto(`${t.hub.url}/?poll=200#/agents/a2`);
      await expect.poll(shown).toContain("web-5\\nweb-6");
      const error = page.locator("p.lines", { hasText: "health check failed" });
      await page.locator("summary", { hasText: "api 1.0.0 → 1.1.0" }).click();
      expect(await error.textContent()).toBe("health check failed:\n\tconnection refused");
      // Shown line by line, not folded into one.
      expect(await page.evaluate('getComputedStyle(document.querySelector("p.lines")).whiteSpace')).toBe(
        "pre-wrap",
      );
    } finally {
      a2.ws.terminate();
    }
  });

  it("a manifest's override is written out, its lines and tabs kept", async () => {
    const manifest = 'version: "2.0.0"\ndescription: "safe fix \u202e;lla fo mr- mr"\n';
    const published = await t.api<{ id: string }>("POST", "/api/v1/releases", {
      token: t.ci,
      body: { app: "web", version: "2.0.0", manifest, source: { type: "git", commit: "abcdef1" } },
    });
    expect(published.status).toBe(201);
    await page.goto(`${t.hub.url}/?poll=200#/releases`);
    await page.getByText("Manifest").first().click();
    const pre = page.locator("pre.manifest").first();
    await expect.poll(() => pre.textContent()).toContain("description:");
    expect(await pre.textContent()).toBe('version: "2.0.0"\ndescription: "safe fix \\u202e;lla fo mr- mr"\n');
  });
});
