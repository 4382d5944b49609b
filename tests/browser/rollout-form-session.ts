/**
 * A test hub with one release (2.0.0) and Chromium signed in to its dashboard, for the rollout
 * form's tests: registers the file's beforeAll/afterAll. `open()` shows the form with that release
 * chosen, once its first preview is drawn.
 */
import type { Page } from "playwright-core";
import { afterAll, beforeAll, expect } from "vitest";
import { buildDashboard } from "../integration/dashboard/support.js";
import { publishRelease, startTestHub, type TestHub } from "../integration/hub/support.js";
import type { FileBrowser } from "./fork-browser.js";
import { signedInPage } from "./signed-in.js";

export interface RolloutFormSession {
  page(): Page;
  open(): Promise<void>;
}

export function rolloutFormSession(): RolloutFormSession {
  let t: TestHub;
  let browser: FileBrowser;
  let page: Page;
  let release: string;
  beforeAll(async () => {
    buildDashboard();
    t = await startTestHub();
    release = await publishRelease(t, "2.0.0");
    ({ browser, page } = await signedInPage(t, 200));
    await page.locator("#fleet-summary").waitFor();
  });
  afterAll(async () => {
    await browser?.close();
    await t?.stop();
  });
  return {
    page: () => page,
    async open() {
      await page.goto(`${t.hub.url}/?poll=200#/rollouts/new`);
      await expect.poll(() => page.locator("#rollout-release option").count(), { timeout: 10_000 }).toBe(2);
      await page.locator("#rollout-release").selectOption(release);
      await expect.poll(() => page.locator("#preview-unassigned").count(), { timeout: 10_000 }).toBe(1);
    },
  };
}
