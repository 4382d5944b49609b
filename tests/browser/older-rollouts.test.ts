/**
 * The dashboard reaches every rollout and every deployment of an agent, not only the newest page
 * the hub answers first. The Rollouts page showed the newest 100 with "older ones are not listed",
 * and an agent's page its newest 50 deployments with no word of the rest, though the hub pages both
 * (`next` as `?after=`, and as `?deployments_after=`). "Older rollouts" reads on, from the keyboard too; a
 * refused read says so beside the button and a second try works; rollouts created meanwhile push
 * the list down without dropping one between the pages. Real hub (in process), an agent over a real
 * WebSocket, real headless Chromium.
 */
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildDashboard } from "../integration/dashboard/support.js";
import {
  insertPastDeployments,
  publishRelease,
  startTestHub,
  TestAgent,
  type TestHub,
} from "../integration/hub/support.js";
import { hasProgram } from "../support/require-program.js";
import type { FileBrowser } from "./fork-browser.js";
import { holdBackFirst } from "./hold-back.js";
import { signedInPage } from "./signed-in.js";

/** Past the hub's 200 a request, so the agent's page reads its deployments in two requests. */
const COUNT = 230;

describe.skipIf(!hasProgram("chromium"))("older rollouts and deployments in headless Chromium", () => {
  let t: TestHub;
  let browser: FileBrowser;
  let page: Page;
  let agent: TestAgent;
  let release: string;

  beforeAll(async () => {
    buildDashboard();
    t = await startTestHub({ tickIntervalMs: 50 });
    release = await publishRelease(t, "2.0.0");
    agent = await TestAgent.connect(t.hub.url, await t.agentToken("a1"));
    agent.hello("a1");
    while (!(await t.hub.store.getAgent("a1"))?.online)
      await new Promise((resolve) => setTimeout(resolve, 20));
    // Four to a millisecond: the hub orders those by id, and the pages must meet without a gap.
    await insertPastDeployments(t, "a1", release, COUNT, Date.now() - 1_000_000);
    ({ browser, page } = await signedInPage(t, 200));
  }, 120_000);
  afterAll(async () => {
    agent?.ws.terminate();
    await browser?.close();
    await t?.stop();
  });

  /** Every rollout id on the hub, newest first, read page by page through the API. */
  async function allRolloutIds(): Promise<string[]> {
    const ids: string[] = [];
    let after = "";
    for (;;) {
      const res = await t.api<{ rollouts: { id: string }[]; next?: string }>(
        "GET",
        `/api/v1/rollouts?limit=1000${after}`,
        { token: t.operator },
      );
      ids.push(...res.body.rollouts.map((r) => r.id));
      if (res.body.next === undefined) return ids;
      after = `&after=${encodeURIComponent(res.body.next)}`;
    }
  }
  /** Ends a rollout the test created, so that the next may create another of the app. */
  async function abort(id: string): Promise<void> {
    const res = await t.api("POST", `/api/v1/rollouts/${id}/abort`, { token: t.operator, body: {} });
    expect(res.status).toBe(200);
  }
  /** The rollouts the open page links to, top to bottom. */
  const shownRollouts = async () =>
    (
      await page
        .locator('#main tbody a[href^="#/rollouts/"]')
        .evaluateAll((links) => links.map((a) => a.getAttribute("href") ?? ""))
    ).map((href) => href.slice("#/rollouts/".length));

  it("Rollouts reads past the newest 100 to the end, from the keyboard, each rollout once", async () => {
    await page.getByRole("link", { name: "Rollouts" }).click();
    await expect.poll(async () => (await shownRollouts()).length, { timeout: 10_000 }).toBe(100);
    const older = page.getByRole("button", { name: "Older rollouts" });
    expect(await older.isEnabled()).toBe(true);
    await older.focus();
    await page.keyboard.press("Enter");
    await expect.poll(async () => (await shownRollouts()).length, { timeout: 10_000 }).toBe(200);
    await page.keyboard.press("Enter");
    await expect.poll(async () => (await shownRollouts()).length, { timeout: 10_000 }).toBe(COUNT);
    expect(await shownRollouts()).toEqual(await allRolloutIds());
    expect(await older.isDisabled()).toBe(true);
    expect(await page.locator("#rollout-cutoff").count()).toBe(0);

    // A rollout created while the operator reads: at the top, none of the older ones lost.
    const created = await t.api<{ id: string }>("POST", "/api/v1/rollouts", {
      token: t.operator,
      body: { release, waves: [{ name: "all", percent: 100 }] },
    });
    expect(created.status).toBe(201);
    await expect.poll(async () => (await shownRollouts())[0], { timeout: 10_000 }).toBe(created.body.id);
    expect(await shownRollouts()).toEqual(await allRolloutIds());
    await abort(created.body.id);
  });

  it("a refused read of older rollouts is said beside the button, and a second try shows them", async () => {
    await page.reload();
    await expect.poll(async () => (await shownRollouts()).length, { timeout: 10_000 }).toBe(100);
    expect(await page.locator("#rollout-cutoff").textContent()).toContain("Older rollouts");
    await page.route(
      (url) => url.searchParams.has("after"),
      (route) => route.fulfill({ status: 503, json: { error: "the hub's store is busy" } }),
    );
    const older = page.getByRole("button", { name: "Older rollouts" });
    await older.click();
    await expect
      .poll(() => page.locator("#older-error").textContent(), { timeout: 10_000 })
      .toBe("Could not read older rollouts: the hub's store is busy (HTTP 503)");
    expect(await older.isEnabled()).toBe(true);
    expect(await shownRollouts()).toHaveLength(100);
    await page.unrouteAll();
    await older.click();
    await expect.poll(async () => (await shownRollouts()).length, { timeout: 10_000 }).toBe(200);
    expect(await page.locator("#older-error").textContent()).toBe("");
  });

  it("an older page that comes back late is not drawn over a rollout created meanwhile", async () => {
    await page.reload();
    await expect.poll(async () => (await shownRollouts()).length, { timeout: 10_000 }).toBe(100);
    // The click's read of the older page, held back: the rollout created below is not in it.
    const late = await holdBackFirst(page, (url) => url.searchParams.has("after"));
    await page.getByRole("button", { name: "Older rollouts" }).click();
    await late.fetched;
    const created = await t.api<{ id: string }>("POST", "/api/v1/rollouts", {
      token: t.operator,
      body: { release, waves: [{ name: "all", percent: 100 }] },
    });
    expect(created.status).toBe(201);
    await expect.poll(async () => (await shownRollouts())[0], { timeout: 10_000 }).toBe(created.body.id);
    expect(await shownRollouts()).toHaveLength(200);
    await late.delivered;
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect((await shownRollouts())[0]).toBe(created.body.id);
    expect(await shownRollouts()).toEqual((await allRolloutIds()).slice(0, 200));
    await page.unrouteAll();
    await abort(created.body.id);
  });

  it("an agent's page reads its deployments past the newest 50 to the end", async () => {
    await page.goto(`${t.hub.url}/?poll=200#/agents/a1`);
    await expect.poll(async () => (await shownRollouts()).length, { timeout: 10_000 }).toBe(50);
    const all = await allRolloutIds();
    const older = page.getByRole("button", { name: "Older rollouts" });
    for (const count of [100, 150, 200, all.length]) {
      await older.click();
      await expect.poll(async () => (await shownRollouts()).length, { timeout: 10_000 }).toBe(count);
    }
    expect(new Set(await shownRollouts())).toEqual(new Set(all));
    expect(await older.isDisabled()).toBe(true);
  });
});
