/**
 * The hub ends a page of GET /releases at 4 MiB of manifests. The dashboard's Releases page and
 * the rollout form read the newest releases in one request, so with big manifests they listed the
 * first page only (~70 releases of 60 KB), saying nothing of the rest. They follow the pages now.
 * Real hub (in process), real headless Chromium.
 */
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildDashboard } from "../integration/dashboard/support.js";
import { startTestHub, type TestHub } from "../integration/hub/support.js";
import { hasProgram } from "../support/require-program.js";
import type { FileBrowser } from "./fork-browser.js";
import { signedInPage } from "./signed-in.js";

const COUNT = 90;

describe.skipIf(!hasProgram("chromium"))("releases with big manifests in headless Chromium", () => {
  let t: TestHub;
  let browser: FileBrowser;
  let page: Page;

  beforeAll(async () => {
    buildDashboard();
    t = await startTestHub({ tickIntervalMs: 50 });
    const now = Date.now();
    for (let i = 0; i < COUNT; i++) {
      const version = `1.0.${i}`;
      await t.hub.store.insertRelease({
        id: `big-${i}`,
        app: "web",
        version,
        manifest: `version: "${version}"\ndescription: |\n${`  ${"x".repeat(99)}\n`.repeat(590)}`,
        source: { type: "git", commit: "abcdef1" },
        signature: null,
        created: now - 100_000 + i,
        createdBy: "ci",
      });
    }
    ({ browser, page } = await signedInPage(t, 60000));
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await t?.stop();
  });

  it("lists every release on the Releases page and in the rollout form, past the hub's first page", async () => {
    const first = await t.api<{ releases: unknown[]; more?: boolean }>("GET", "/api/v1/releases?limit=200", {
      token: t.operator,
    });
    expect(first.body.more).toBe(true);
    expect(first.body.releases.length).toBeLessThan(COUNT);
    // What the listing costs: its answers' bytes, as the browser received them.
    const listed: Promise<number>[] = [];
    page.on("response", (res) => {
      if (/\/api\/v1\/releases\?/.test(res.url())) listed.push(res.body().then((b) => b.length));
    });
    await page.getByRole("link", { name: "Releases" }).click();
    await expect.poll(() => page.locator("#release-list li.card").count(), { timeout: 20_000 }).toBe(COUNT);
    expect(await page.locator("#release-cutoff").count()).toBe(0);
    // 90 manifests of 60 KB were 5.4 MB on every refresh; the cards need a line of each. The
    // description is cut for the card (the test's is 59 KB of x's).
    const bytes = (await Promise.all(listed)).reduce((a, b) => a + b, 0);
    expect(bytes).toBeGreaterThan(0);
    expect(bytes).toBeLessThan(200_000);
    expect(await page.locator("#release-list li.card p").first().textContent()).toMatch(/^(x{99} ){3}…$/);
    // Opening a card reads its manifest, in full.
    const card = page
      .locator("#release-list li.card")
      .filter({ has: page.getByRole("heading", { name: "web 1.0.5", exact: true }) });
    await card.locator("summary").click();
    await expect
      .poll(async () => (await card.locator("pre.manifest").textContent())?.length, { timeout: 10_000 })
      .toBe((await t.hub.store.getRelease("big-5"))?.manifest.length);
    expect(await card.locator("pre.manifest").textContent()).toMatch(/^version: "1\.0\.5"\ndescription: \|/);
    await page.locator("#release-list").getByRole("link", { name: "Roll out this release…" }).last().click();
    await expect.poll(() => page.locator("#rollout-release").inputValue(), { timeout: 20_000 }).toBe("big-0");
    // "choose a release…" and every release.
    expect(await page.locator("#rollout-release option").count()).toBe(COUNT + 1);
  });
});
