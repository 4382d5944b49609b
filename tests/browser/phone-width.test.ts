/**
 * On a phone, text agents, CI and operators wrote — a long agent id or host name, a label value, an
 * app's version, a wave's name — wraps inside the screen, and no control is wider than it. A long
 * label value in the Label filter's options made the fleet page 741 px wide on a 375-px phone, its
 * cards cut host names, labels and versions off at the card's edge, and the rollout form's Safety
 * box grew past the screen. Real hub (in process), real agent over WebSocket, real headless Chromium.
 */
import { describe, expect, it } from "vitest";
import { publishRelease, TestAgent } from "../integration/hub/support.js";
import { hasProgram } from "../support/require-program.js";
import { hubWithAgentPage } from "./signed-in.js";

const LONG = "a".repeat(70);
const ID = `host-${LONG}`;
const HOSTNAME = `db-${"ü".repeat(30)}-${LONG}`;
const LABEL = `eu-west-${LONG}`;
const VERSION = `2.0.0-rc.${LONG}`;

/**
 * Whatever in `main` reaches past the screen's right edge, as `tag.class "text"`: a table may
 * scroll inside its own box (`.table-wrap`, `pre`) except the fleet's cards, which never do.
 */
const PAST_THE_EDGE = `(() => {
  const width = document.documentElement.clientWidth;
  const out = [];
  if (document.documentElement.scrollWidth > width) out.push("the page scrolls sideways: " + document.documentElement.scrollWidth + " px");
  for (const el of document.querySelectorAll("main *")) {
    const box = el.closest("pre, .table-wrap:not(#fleet-table .table-wrap)");
    if (box && box !== el) continue;
    const pastEdge = el.getBoundingClientRect().right > width + 0.5;
    // A box of its own that scrolls sideways hides what lies past its edge as well.
    const scrolls = el.scrollWidth > el.clientWidth + 1 && getComputedStyle(el).overflowX !== "visible" &&
      !el.matches("pre, .table-wrap:not(#fleet-table .table-wrap), select, input");
    if (pastEdge || scrolls)
      out.push(el.tagName.toLowerCase() + "." + el.className + " " + JSON.stringify((el.textContent ?? "").slice(0, 40)));
  }
  return out;
})()`;

describe.skipIf(!hasProgram("chromium"))("long names on a phone-width screen, in Chromium", () => {
  const opened = hubWithAgentPage(200);

  it("every view keeps them inside the screen", async () => {
    const { t, page } = opened;
    const agent = await TestAgent.connect(t.hub.url, await t.agentToken(ID));
    try {
      agent.send({
        type: "hello",
        v: 1,
        agentId: ID,
        hostname: HOSTNAME,
        labels: { region: LABEL },
        agentVersion: "test",
        apps: [{ app: "web", version: VERSION, state: "ok" }],
      });
      await expect.poll(async () => (await t.hub.store.getAgent(ID))?.online, { timeout: 15_000 }).toBe(true);
      const release = await publishRelease(t, `3.0.0-rc.${LONG}`);
      const created = await t.api<{ id: string }>("POST", "/api/v1/rollouts", {
        token: t.operator,
        body: {
          release,
          selector: { labels: { region: LABEL } },
          waves: [{ name: `wave-${LONG}`, percent: 100 }],
        },
      });
      expect(created.status, JSON.stringify(created.body)).toBe(201);
      await page.setViewportSize({ width: 375, height: 740 });
      const views: [string, string][] = [
        ["#/fleet", HOSTNAME],
        [`#/agents/${ID}`, HOSTNAME],
        ["#/releases", LONG],
        ["#/rollouts", LONG],
        [`#/rollouts/new?release=${release}`, ID],
        [`#/rollouts/${created.body.id}`, LONG],
        ["#/events", LONG],
      ];
      const past: Record<string, string[]> = {};
      for (const [hash, shown] of views) {
        await page.goto(`${t.hub.url}/?poll=200${hash}`);
        await page.locator("main", { hasText: shown }).waitFor({ timeout: 10_000 });
        past[hash] = await page.evaluate<string[]>(PAST_THE_EDGE);
      }
      expect(past).toEqual(Object.fromEntries(views.map(([hash]) => [hash, []])));
    } finally {
      agent.ws.terminate();
    }
  }, 90_000);
});
