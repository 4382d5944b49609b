/**
 * The dashboard reaches every release, not only the newest 200 it lists: an operator taking a fleet
 * back to an old release finds it by app and version on the Releases page and rolls it out from
 * there; the Rollouts page says when it lists only the newest. Real hub (in process), real
 * headless Chromium.
 */
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildDashboard } from "../integration/dashboard/support.js";
import { insertOldReleases, startTestHub, type TestHub } from "../integration/hub/support.js";
import { hasProgram } from "../support/require-program.js";
import type { FileBrowser } from "./fork-browser.js";
import { signedInPage } from "./signed-in.js";

describe.skipIf(!hasProgram("chromium"))("old releases and rollouts in headless Chromium", () => {
  let t: TestHub;
  let browser: FileBrowser;
  let page: Page;

  beforeAll(async () => {
    buildDashboard();
    t = await startTestHub({ tickIntervalMs: 50 });
    const now = Date.now();
    await insertOldReleases(t, 250, now - 100_000);
    ({ browser, page } = await signedInPage(t, 200));
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await t?.stop();
  });

  it("finds a release older than the newest 200 by app and version, and rolls it out from there", async () => {
    await page.getByRole("link", { name: "Releases" }).click();
    await expect.poll(() => page.locator("#release-list li.card").count(), { timeout: 10_000 }).toBe(200);
    expect(await page.locator("#release-cutoff").textContent()).toContain("find an older one");
    await page.locator("#find-app").fill("web");
    await page.locator("#find-version").fill("v1.0.0");
    await page.getByRole("button", { name: "Find release" }).click();
    await expect
      .poll(() => page.locator("#release-found h2").textContent(), { timeout: 10_000 })
      .toBe("web 1.0.0");
    await page.locator("#release-found").getByRole("link", { name: "Roll out this release…" }).click();
    await expect.poll(() => page.locator("#rollout-release").inputValue(), { timeout: 10_000 }).toBe("rel-0");
    expect(await page.locator("#rollout-release option:checked").textContent()).toBe("web 1.0.0");
    // A version the hub does not have is said, not left blank.
    await page.getByRole("link", { name: "Releases" }).click();
    await page.locator("#find-app").fill("web");
    await page.locator("#find-version").fill("9.9.9");
    await page.getByRole("button", { name: "Find release" }).click();
    await expect
      .poll(() => page.locator("#release-found").textContent())
      .toBe("No release web 9.9.9 on the hub.");
  });

  it("says the Rollouts page lists only the newest 100 when there are more", async () => {
    await page.getByRole("link", { name: "Rollouts" }).click();
    await expect
      .poll(() => page.locator("#rollout-list").textContent(), { timeout: 10_000 })
      .toContain("No rollout yet");
    expect(await page.locator("#rollout-cutoff").count()).toBe(0);
    const now = Date.now();
    for (let i = 0; i < 101; i++)
      await t.hub.store.insertRollout({
        id: `0000${String(i).padStart(4, "0")}-0000-4000-8000-000000000000`,
        releaseId: "rel-0",
        spec: {
          release: "rel-0",
          waves: [{ name: "all", percent: 100, waitMinutes: 0, minSuccessRate: 0 }],
          failureThreshold: { count: 1 },
          autoAdvance: false,
          autoRollback: false,
        },
        state: "aborted",
        currentWave: 0,
        waveStartedAt: now,
        reason: "old",
        failureAllowance: 0,
        created: now + i,
        updated: now + i,
      });
    await page.reload();
    await expect.poll(() => page.locator("#rollout-cutoff").count(), { timeout: 10_000 }).toBe(1);
    expect(await page.locator("#rollout-list tbody tr").count()).toBe(100);
  });
});
