/**
 * An agents wave holding an id the hub refuses (`web;01`: a semicolon for a comma) is named by
 * its place and itself in the rollout form. The form said "Wave 1 (canary) Value: must be 1 to 200
 * characters: …" and left the operator to find which of the ids it meant. Real hub (in process),
 * real headless Chromium.
 */
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildDashboard } from "../integration/dashboard/support.js";
import { publishRelease, startTestHub, type TestHub } from "../integration/hub/support.js";
import { hasProgram } from "../support/require-program.js";
import { signedInPage } from "./signed-in.js";

describe.skipIf(!hasProgram("chromium"))("the rollout form's agents wave, in Chromium", () => {
  let t: TestHub;
  let browser: Browser;
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

  it("names the refused agent id by its place and itself in the preview, and offers no Start", async () => {
    await page.goto(`${t.hub.url}/?poll=200#/rollouts/new`);
    await expect.poll(() => page.locator("#rollout-release option").count(), { timeout: 10_000 }).toBe(2);
    await page.locator("#rollout-release").selectOption(release);
    await page.locator('select[name="waveKind"]').first().selectOption("agents");
    await page.locator('input[name="waveValue"]').first().fill("a1, a2, web;01");
    const said = 'Wave 1 (canary) Value, agent id 3 "web;01": must be 1 to 200 characters';
    await expect.poll(() => page.locator("#preview").textContent(), { timeout: 10_000 }).toContain(said);
    expect(await page.locator("#start-rollout").isDisabled()).toBe(true);
  });
});
