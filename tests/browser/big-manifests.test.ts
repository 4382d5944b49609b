/**
 * The hub ends a page of GET /releases at 4 MiB of manifests. The dashboard's Releases page and
 * the rollout form read the newest releases in one request, so with big manifests they listed the
 * first page only (~70 releases of 60 KB), saying nothing of the rest. They follow the pages now.
 * Real hub (in process), real headless Chromium.
 */
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildDashboard } from "../integration/dashboard/support.js";
import { startTestHub, type TestHub } from "../integration/hub/support.js";
import { hasProgram } from "../support/require-program.js";
import { signedInPage } from "./signed-in.js";

const COUNT = 90;

describe.skipIf(!hasProgram("chromium"))("releases with big manifests in headless Chromium", () => {
  let t: TestHub;
  let browser: Browser;
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
    await page.getByRole("link", { name: "Releases" }).click();
    await expect.poll(() => page.locator("#release-list li.card").count(), { timeout: 20_000 }).toBe(COUNT);
    expect(await page.locator("#release-cutoff").count()).toBe(0);
    await page.locator("#release-list").getByRole("link", { name: "Roll out this release…" }).last().click();
    await expect.poll(() => page.locator("#rollout-release").inputValue(), { timeout: 20_000 }).toBe("big-0");
    // "choose a release…" and every release.
    expect(await page.locator("#rollout-release option").count()).toBe(COUNT + 1);
  });
});
