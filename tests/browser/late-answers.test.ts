/**
 * An answer from the hub that comes back late must never be drawn over a newer one.
 *
 * Every view redrew with whatever answer arrived last, not the answer to the newest question. A
 * rollout paused (from the CLI, or another operator) while the page's read of it was still on the
 * way showed "running" again with Pause enabled once that older read landed, and stayed so until
 * the next event or the 20 s redraw; typing in the fleet's search showed the agents of an earlier
 * search when its answer was the slower one. Real hub (in process), agents over a real WebSocket,
 * real headless Chromium; the browser holds back one real answer of the hub to make it late.
 * An answer that never comes (the connection cut after the hub acted) is not a refusal: the page
 * says the write may have been done, and shows what the hub holds.
 */
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildDashboard } from "../integration/dashboard/support.js";
import { publishRelease, startTestHub, TestAgent, type TestHub } from "../integration/hub/support.js";
import { hasProgram } from "../support/require-program.js";
import type { FileBrowser } from "./fork-browser.js";
import { holdBackFirst, loseAnswerOfFirst } from "./hold-back.js";
import { signedInPage } from "./signed-in.js";

describe.skipIf(!hasProgram("chromium"))("late answers from the hub, in Chromium", () => {
  let t: TestHub;
  let browser: FileBrowser;
  let page: Page;
  const agents: TestAgent[] = [];

  beforeAll(async () => {
    buildDashboard();
    t = await startTestHub();
    ({ browser, page } = await signedInPage(t, 200));
    await page.locator("#fleet-summary").waitFor();
    for (const id of ["alpha-host", "beta-host"]) {
      const agent = await TestAgent.connect(t.hub.url, await t.agentToken(id));
      agents.push(agent);
      agent.hello(id);
      while (!(await t.hub.store.getAgent(id))?.online)
        await new Promise((resolve) => setTimeout(resolve, 20));
    }
  });
  afterAll(async () => {
    for (const a of agents) a.ws.terminate();
    await browser?.close();
    await t?.stop();
  });

  it("a rollout paused while the page's read of it is on the way shows paused, not running", async () => {
    const release = await publishRelease(t, "2.0.0");
    const created = await t.api<{ id: string }>("POST", "/api/v1/rollouts", {
      token: t.operator,
      body: { release, waves: [{ name: "all", percent: 100 }] },
    });
    expect(created.status).toBe(201);
    const id = created.body.id;
    const late = await holdBackFirst(page, (url) => url.pathname.endsWith(`/api/v1/rollouts/${id}`));
    await page.goto(`${t.hub.url}/?poll=200#/rollouts/${id}`);
    await late.fetched;
    const paused = await t.api("POST", `/api/v1/rollouts/${id}/pause`, { token: t.operator, body: {} });
    expect(paused.status).toBe(200);
    const state = page.locator("#rollout-state");
    await expect.poll(() => state.textContent(), { timeout: 10_000 }).toBe("paused");
    await late.delivered;
    // The late answer (still "running") has reached the page: it must not be drawn.
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(await state.textContent()).toBe("paused");
    expect(await page.locator('button[data-action="pause"]').isDisabled()).toBe(true);
    expect(await page.locator('button[data-action="resume"]').isEnabled()).toBe(true);
    await page.unrouteAll();
  });

  it("a Pause or a Start whose answer is lost says it may have been done, and shows what the hub did", async () => {
    type Rollout = { id: string; state: string; final: boolean };
    const active = async () =>
      (
        await t.api<{ rollouts: Rollout[] }>("GET", "/api/v1/rollouts", { token: t.operator })
      ).body.rollouts.filter((r) => !r.final);
    for (const r of await active())
      await t.api("POST", `/api/v1/rollouts/${r.id}/abort`, { token: t.operator, body: {} });
    const release = await publishRelease(t, "2.0.1");
    const created = await t.api<{ id: string }>("POST", "/api/v1/rollouts", {
      token: t.operator,
      body: { release, waves: [{ name: "all", percent: 100 }] },
    });
    const id = created.body.id;
    await page.goto(`${t.hub.url}/?poll=200#/rollouts/${id}`);
    const state = page.locator("#rollout-state");
    await expect.poll(() => state.textContent(), { timeout: 10_000 }).toBe("running");
    const lost = await loseAnswerOfFirst(page, (url) => url.pathname.endsWith(`/rollouts/${id}/pause`));
    page.once("dialog", (dialog) => void dialog.accept());
    await page.locator('button[data-action="pause"]').click();
    await lost.fetched;
    // The hub paused it; the page said "pause refused: Failed to fetch".
    expect((await t.api<Rollout>("GET", `/api/v1/rollouts/${id}`, { token: t.operator })).body.state).toBe(
      "paused",
    );
    await expect.poll(() => state.textContent(), { timeout: 10_000 }).toBe("paused");
    expect(await page.locator(".rollout .form-error").textContent()).toMatch(
      /^pause: no answer from the hub \(.+\), so it may have been carried out; this page shows what the hub holds now$/,
    );

    // A Start whose answer is lost: the rollout stands under the preview's id, and the page opens it
    // (it said "Not started", and a second Start met "rollout … exists").
    await t.api("POST", `/api/v1/rollouts/${id}/abort`, { token: t.operator, body: {} });
    await page.goto(`${t.hub.url}/?poll=200#/rollouts/new`);
    await page.locator("#rollout-release").selectOption(release);
    await expect.poll(() => page.locator("#preview-unassigned").count(), { timeout: 10_000 }).toBe(1);
    const started = await loseAnswerOfFirst(page, (url) => url.pathname.endsWith("/api/v1/rollouts"));
    page.once("dialog", (dialog) => void dialog.accept());
    await page.locator("#start-rollout").click();
    await started.fetched;
    const [made] = await active();
    expect(made).toBeDefined();
    await expect.poll(() => new URL(page.url()).hash, { timeout: 10_000 }).toBe(`#/rollouts/${made?.id}`);
    await expect.poll(() => state.textContent(), { timeout: 10_000 }).toBe("running");
    await t.api("POST", `/api/v1/rollouts/${made?.id}/abort`, { token: t.operator, body: {} });
    await page.unrouteAll();
  });

  it("the fleet shows the agents of the newest search, not of a slower earlier one", async () => {
    await page.goto(`${t.hub.url}/?poll=200#/fleet`);
    const summary = page.locator("#fleet-summary");
    await expect.poll(() => summary.textContent(), { timeout: 10_000 }).toMatch(/^1–2 of 2 agents/);
    const late = await holdBackFirst(page, (url) => url.searchParams.get("q") === "alpha");
    await page.locator("#filter-q").fill("alpha");
    await late.fetched;
    await page.locator("#filter-q").fill("beta");
    const table = page.locator("#fleet-table");
    await expect.poll(() => table.textContent(), { timeout: 10_000 }).toContain("beta-host");
    await late.delivered;
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(await table.textContent()).toContain("beta-host");
    expect(await table.textContent()).not.toContain("alpha-host");
    expect(await summary.textContent()).toMatch(/^1–1 of 1 agents/);
    await page.unrouteAll();
  });

  it("Older events clicked again while its page is on the way shows each older event once", async () => {
    for (let i = 0; i < 120; i++) await publishRelease(t, `1.1.${i}`);
    const all = (
      await t.api<{ events: { id: number }[] }>("GET", "/api/v1/events?limit=1000", { token: t.operator })
    ).body.events;
    await page.goto(`${t.hub.url}/?poll=200#/events`);
    const rows = page.locator("tbody tr");
    await expect.poll(() => rows.count(), { timeout: 10_000 }).toBe(100);
    const late = await holdBackFirst(page, (url) => url.searchParams.has("before"));
    const older = page.getByRole("button", { name: "Older events" });
    await older.click();
    await late.fetched;
    // A second click while the first page is on its way: it must not fetch and append that page again.
    await older.click({ force: true, timeout: 2000 }).catch(() => {});
    await late.delivered;
    await expect.poll(() => rows.count(), { timeout: 10_000 }).toBe(all.length);
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(await rows.count()).toBe(all.length);
    await page.unrouteAll();
  });

  it("Older events that cannot be read says so, and a second try shows them", async () => {
    await page.goto(`${t.hub.url}/?poll=200#/events`);
    await page.reload();
    const rows = page.locator("tbody tr");
    await expect.poll(() => rows.count(), { timeout: 10_000 }).toBe(100);
    const total = (
      await t.api<{ events: unknown[] }>("GET", "/api/v1/events?limit=1000", { token: t.operator })
    ).body.events.length;
    await page.route(
      (url) => url.searchParams.has("before"),
      (route) => route.fulfill({ status: 503, json: { error: "the hub's store is busy" } }),
      { times: 1 },
    );
    const older = page.getByRole("button", { name: "Older events" });
    await older.click();
    await expect
      .poll(() => page.locator("#older-error").textContent(), { timeout: 10_000 })
      .toBe("Could not read older events: the hub's store is busy (HTTP 503)");
    expect(await older.isEnabled()).toBe(true);
    await older.click();
    await expect.poll(() => rows.count(), { timeout: 10_000 }).toBe(total);
    expect(await page.locator("#older-error").textContent()).toBe("");
  });
});
