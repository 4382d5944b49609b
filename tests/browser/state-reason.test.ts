import { describe, expect, it } from "vitest";
import { publishRelease } from "../integration/hub/support.js";
import { hasProgram } from "../support/require-program.js";
import { hubWithAgentPage } from "./signed-in.js";

describe.skipIf(!hasProgram("chromium"))("a rollout's state and reason, said once in Chromium", () => {
  const opened = hubWithAgentPage(200);

  const rollout = async (release: string) =>
    (
      await opened.t.api<{ id: string }>("POST", "/api/v1/rollouts", {
        token: opened.t.operator,
        body: { release, waves: [{ name: "all", percent: 100 }] },
      })
    ).body.id;
  const stateLine = () =>
    opened.page.locator("#rollout-state").locator("xpath=..").textContent({ timeout: 5000 });

  it("an aborted rollout reads `aborted` once on its page and in the list", async () => {
    const { t, page } = opened;
    const id = await rollout(await publishRelease(t, "2.0.0"));
    await t.api("POST", `/api/v1/rollouts/${id}/abort`, { token: t.operator, body: {} });
    await page.goto(`${t.hub.url}/?poll=200#/rollouts/${id}`);
    await expect.poll(() => page.locator("#rollout-state").textContent({ timeout: 5000 })).toBe("aborted");
    expect(await stateLine()).toBe("aborted");
    await page.goto(`${t.hub.url}/?poll=200#/rollouts`);
    const row = page.locator("#rollout-list tr", { hasText: id.slice(0, 8) });
    await expect.poll(() => row.locator(".pill").textContent({ timeout: 5000 })).toBe("aborted");
    expect(await row.locator(".rollout-reason").count()).toBe(0);
  });

  it("a paused rollout reads `paused by an operator`", async () => {
    const { t, page } = opened;
    const id = await rollout(await publishRelease(t, "3.0.0"));
    await t.api("POST", `/api/v1/rollouts/${id}/pause`, { token: t.operator, body: {} });
    await page.goto(`${t.hub.url}/?poll=200#/rollouts/${id}`);
    await expect.poll(() => page.locator("#rollout-state").textContent({ timeout: 5000 })).toBe("paused");
    expect(await stateLine()).toMatch(/^paused by an operator/);
  });
});
