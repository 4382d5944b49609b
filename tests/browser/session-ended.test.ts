/**
 * A session whose token expires, or is revoked, while the page is open ends on the sign-in form
 * with the reason. The page used to drop the operator on a blank sign-in form, with nothing saying
 * they had been signed out or why. Real hub (in process), real headless Chromium.
 */
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildDashboard } from "../integration/dashboard/support.js";
import { startTestHub, type TestHub } from "../integration/hub/support.js";
import { hasProgram } from "../support/require-program.js";
import { type FileBrowser, openBrowser } from "./fork-browser.js";

describe.skipIf(!hasProgram("chromium"))("a session that ends while the page is open, in Chromium", () => {
  let t: TestHub;
  let browser: FileBrowser;
  let page: Page;

  beforeAll(async () => {
    buildDashboard();
    t = await startTestHub();
    browser = await openBrowser();
  });
  afterAll(async () => {
    await browser?.close();
    await t?.stop();
  });

  /** `token` is minted once the page has loaded, so that a short-lived one is not spent loading it. */
  async function signIn(token: () => Promise<string>): Promise<void> {
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    await page.goto(`${t.hub.url}/?poll=200`);
    await page.locator("#token").fill(await token());
    await page.keyboard.press("Enter");
    await expect.poll(() => page.locator("#fleet-summary").count(), { timeout: 10_000 }).toBe(1);
  }

  it("says the token expired", async () => {
    // Long enough to sign in and see the fleet on a loaded machine (1.2 s at load 17; a JWT's exp is
    // whole seconds, so 5 to 6 s); 15 s, minted before the page loaded, was most of the file's time.
    await signIn(async () => (await t.hub.tokens.issue({ role: "operator", ttlSeconds: 6 })).token);
    const notice = page.locator("#signin-error");
    await expect.poll(() => notice.count(), { timeout: 30_000 }).toBe(1);
    await expect.poll(() => notice.textContent(), { timeout: 5000 }).toMatch(/signed out.*expired/i);
    expect(await page.evaluate("sessionStorage.length")).toBe(0);
  });

  it("says the token was revoked", async () => {
    const { token, record } = await t.hub.tokens.issue({ role: "operator", ttlSeconds: 3600 });
    await signIn(async () => token);
    expect(await t.hub.tokens.revoke(record.jti)).toBe(true);
    const notice = page.locator("#signin-error");
    await expect.poll(() => notice.count(), { timeout: 30_000 }).toBe(1);
    await expect.poll(() => notice.textContent(), { timeout: 5000 }).toMatch(/signed out.*token revoked/i);
  });
});
