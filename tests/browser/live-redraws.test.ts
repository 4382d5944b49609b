import { describe, expect, it } from "vitest";
import { publishRelease } from "../integration/hub/support.js";
import { hasProgram } from "../support/require-program.js";
import { hubWithAgentPage } from "./signed-in.js";

describe.skipIf(!hasProgram("chromium"))("the rollout page under a busy change stream, in Chromium", () => {
  const opened = hubWithAgentPage(200);

  it("redraws at most once a second while events stream in, and shows the last change", async () => {
    const { t, page } = opened;
    const release = await publishRelease(t, "2.0.0");
    const created = await t.api<{ id: string }>("POST", "/api/v1/rollouts", {
      token: t.operator,
      body: { release, waves: [{ name: "all", percent: 100 }] },
    });
    const id = created.body.id;
    let reads = 0;
    page.on("request", (r) => {
      if (r.url().endsWith(`/api/v1/rollouts/${id}`)) reads++;
    });
    await page.goto(`${t.hub.url}/#/rollouts/${id}`);
    await expect.poll(() => page.locator("#rollout-state").textContent({ timeout: 5000 })).toBe("running");
    await expect.poll(() => page.locator("p.status").textContent(), { timeout: 10_000 }).toMatch(/\(live\)/);

    // Events as agents' reports make them: one every 50 ms for 4 s of the page's own clock.
    const startedAt = await page.evaluate(() => performance.now());
    const before = reads;
    const streamFor = async (ms: number) => {
      while ((await page.evaluate(() => performance.now())) - startedAt < ms) {
        await t.hub.store.tx(async (tx) =>
          tx.appendEvent({ at: Date.now(), actor: "test", kind: "agent.report", subject: "a1", data: {} }),
        );
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    };
    await streamFor(4000);
    const elapsed = (await page.evaluate(() => performance.now())) - startedAt;
    // One a second (the first at once), plus one owed at the end: it read 16 in 4 s.
    expect(reads - before).toBeGreaterThan(0);
    expect(reads - before).toBeLessThanOrEqual(Math.ceil(elapsed / 1000) + 2);

    // The last change is shown, not dropped by the pacing.
    await t.api("POST", `/api/v1/rollouts/${id}/pause`, { token: t.operator, body: {} });
    await expect
      .poll(() => page.locator("#rollout-state").textContent({ timeout: 5000 }), { timeout: 10_000 })
      .toBe("paused");
  });
});
