/**
 * The dashboard's audit log tells the whole truth: once "Older events" was clicked, events that
 * arrive afterwards push the newest page down, and none may drop out between it and the older pages
 * shown below it; and a rollback that did not happen reads as a failure, whatever the reason. Real
 * hub (in process), real headless Chromium.
 */
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildDashboard } from "../integration/dashboard/support.js";
import { startTestHub, type TestHub } from "../integration/hub/support.js";
import { hasProgram } from "../support/require-program.js";
import { type FileBrowser, openBrowser } from "./fork-browser.js";

describe.skipIf(!hasProgram("chromium"))("the audit log's pages in headless Chromium", () => {
  let t: TestHub;
  let browser: FileBrowser;
  let page: Page;
  let published = 0;

  /** Each release CI publishes is one audit event (release.published), subject its release id. */
  async function publish(count: number): Promise<void> {
    for (let i = 0; i < count; i++) {
      const version = `1.0.${published++}`;
      const res = await t.api("POST", "/api/v1/releases", {
        token: t.ci,
        body: {
          app: "web",
          version,
          manifest: `version: "${version}"\n`,
          source: { type: "git", commit: "abcdef1" },
        },
      });
      expect(res.status).toBe(201);
    }
  }

  beforeAll(async () => {
    buildDashboard();
    t = await startTestHub({ tickIntervalMs: 50 });
    await publish(150);
    browser = await openBrowser();
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  });
  afterAll(async () => {
    await browser?.close();
    await t?.stop();
  });

  /** The subjects (release ids) of the release events the page shows, top to bottom. */
  const shownSubjects = () => page.locator("tbody tr td:nth-child(3)").allTextContents();

  it("keeps every event on screen, once, when new ones arrive after older pages were opened", async () => {
    await page.goto(`${t.hub.url}/?poll=200`);
    await page.locator("#token").fill(t.operator);
    await page.keyboard.press("Enter");
    await page.getByRole("link", { name: "Events" }).click();
    await expect.poll(async () => (await shownSubjects()).length, { timeout: 10_000 }).toBe(100);
    await page.getByRole("button", { name: "Older events" }).click();
    await expect.poll(async () => (await shownSubjects()).length, { timeout: 10_000 }).toBe(150);
    // 30 more while the operator reads: the newest page moves down by 30.
    await publish(30);
    const all = (
      await t.api<{ events: { subject: string }[] }>("GET", "/api/v1/events?limit=1000", {
        token: t.operator,
      })
    ).body.events.map((e) => e.subject);
    expect(all).toHaveLength(180);
    await expect.poll(async () => (await shownSubjects())[0], { timeout: 10_000 }).toBe(all[0]);
    expect(await shownSubjects()).toEqual(all);
  });

  it("shows a rollback a later rollout overtook in red, as a rollback found impossible", async () => {
    for (const kind of ["deployment.rollback_impossible", "deployment.rollback_overtaken"])
      await t.hub.store.appendEvents([
        { at: Date.now(), actor: "hub", kind, subject: `r1:${kind}`, data: { error: "not rolled back" } },
      ]);
    await expect
      .poll(async () => (await shownSubjects())[0], { timeout: 10_000 })
      .toBe("r1:deployment.rollback_overtaken");
    const red = await page.locator("#events-table strong.bad-text").allTextContents();
    expect(red).toEqual(
      expect.arrayContaining(["deployment.rollback_impossible", "deployment.rollback_overtaken"]),
    );
  });

  it("Older events read page after page from the keyboard: focus stays on the button", async () => {
    // The button was disabled while its page was on the way, and a disabled button loses focus:
    // the second Enter went nowhere, and a keyboard user had to tab down from the top again.
    await publish(50);
    const total = (
      await t.api<{ events: unknown[] }>("GET", "/api/v1/events?limit=1000", { token: t.operator })
    ).body.events.length;
    expect(total).toBeGreaterThan(200);
    await page.reload();
    await expect.poll(async () => (await shownSubjects()).length, { timeout: 10_000 }).toBe(100);
    await page.getByRole("button", { name: "Older events" }).focus();
    await page.keyboard.press("Enter");
    await expect.poll(async () => (await shownSubjects()).length, { timeout: 10_000 }).toBe(200);
    await page.keyboard.press("Enter");
    await expect.poll(async () => (await shownSubjects()).length, { timeout: 10_000 }).toBe(total);
  });
});
