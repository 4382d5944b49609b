/**
 * An agents wave holding an id the hub refuses (`web;01`: a semicolon for a comma) is named by
 * its place and itself in the rollout form. The form said "Wave 1 (canary) Value: must be 1 to 200
 * characters: …" and left the operator to find which of the ids it meant. Real hub (in process),
 * real headless Chromium.
 */
import { describe, expect, it } from "vitest";
import { hasProgram } from "../support/require-program.js";
import { rolloutFormSession } from "./rollout-form-session.js";

describe.skipIf(!hasProgram("chromium"))("the rollout form's agents wave, in Chromium", () => {
  const form = rolloutFormSession();

  it("names the refused agent id by its place and itself in the preview, and offers no Start", async () => {
    await form.open();
    const page = form.page();
    await page.locator('select[name="waveKind"]').first().selectOption("agents");
    await page.locator('input[name="waveValue"]').first().fill("a1, a2, web;01");
    const said = 'Wave 1 (canary) Value, agent id 3 "web;01": must be 1 to 200 characters';
    await expect.poll(() => page.locator("#preview").textContent(), { timeout: 10_000 }).toContain(said);
    expect(await page.locator("#start-rollout").isDisabled()).toBe(true);
  });
});
