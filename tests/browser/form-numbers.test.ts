/**
 * The rollout form's numbers and selector, as an operator types them. A wave's percent "0x32"
 * went out as 50 % and "1e1" as 10 % (`Number()`), where the CLI refuses `--wave canary=0x32`; a
 * Wait (min) left empty went out as 0 without a word (a wave meant to soak advanced at once); and
 * a selector label the hub refused was said as "Selector labels: …", which of them unsaid. Each is
 * now said in the preview naming the field, and Start is not offered. Real hub (in process), real
 * headless Chromium.
 */
import { describe, expect, it } from "vitest";
import { hasProgram } from "../support/require-program.js";
import { rolloutFormSession } from "./rollout-form-session.js";

describe.skipIf(!hasProgram("chromium"))("the rollout form's numbers and selector, in Chromium", () => {
  const form = rolloutFormSession();
  const openForm = () => form.open();
  const page = { locator: (selector: string) => form.page().locator(selector) };
  const preview = () => page.locator("#preview").textContent();
  const canary = () => page.locator(".wave-row").first();

  it("refuses a percent the CLI refuses (0x32, 1e1), by the CLI's rule", async () => {
    await openForm();
    // A number in another notation is said for what it is ("1e1" is 10: "must be a number" was false).
    for (const [typed, said] of [
      [
        "0x32",
        'percent "0x32" is hexadecimal: numbers here are written in decimal digits with an optional fraction (5, 2.5, .5)',
      ],
      [
        "1e1",
        'percent "1e1" is exponent notation: numbers here are written in decimal digits with an optional fraction (5, 2.5, .5)',
      ],
      ["5e", "percent must be a number"],
    ] as const) {
      await canary().locator('input[name="waveValue"]').fill(typed);
      await expect.poll(preview, { timeout: 10_000 }).toBe(`wave "canary": ${said}`);
      expect(await page.locator("#start-rollout").isDisabled()).toBe(true);
    }
    await page.locator("#rollout-threshold").fill("1e1");
    await expect
      .poll(preview, { timeout: 10_000 })
      .toBe(
        'Halt when failures reach "1e1" is exponent notation: numbers here are written in decimal digits with an optional fraction (5, 2.5, .5)',
      );
    await page.locator("#rollout-threshold").fill("1");
    await canary().locator('input[name="waveValue"]').fill("12.5");
    await expect.poll(() => page.locator("#preview-unassigned").count(), { timeout: 10_000 }).toBe(1);
  });

  it("says an empty Wait (min) or threshold, instead of sending 0", async () => {
    await openForm();
    await canary().locator('input[name="waveWait"]').fill("");
    await expect
      .poll(preview, { timeout: 10_000 })
      .toBe('wave "canary": Wait (min) must be a number of minutes (0 for no wait)');
    expect(await page.locator("#start-rollout").isDisabled()).toBe(true);
    await canary().locator('input[name="waveWait"]').fill("0");
    await expect.poll(() => page.locator("#preview-unassigned").count(), { timeout: 10_000 }).toBe(1);
    // The threshold alike: empty it was 0, said as the hub's "must be ≥ 1".
    await page.locator("#rollout-threshold").fill("");
    await expect.poll(preview, { timeout: 10_000 }).toBe("Halt when failures reach must be a number");
    await page.locator("#rollout-threshold").fill("1");
    await expect.poll(() => page.locator("#preview-unassigned").count(), { timeout: 10_000 }).toBe(1);
  });

  it("takes Min success % in steps of 0.01, as the hub takes the fraction, and says a finer one in its own terms", async () => {
    await openForm();
    const rate = canary().locator('input[name="waveRate"]');
    await rate.fill("33.333");
    await expect
      .poll(preview, { timeout: 10_000 })
      .toBe('wave "canary": Min success % must be in steps of 0.01 (0.01 % is the smallest)');
    expect(await page.locator("#start-rollout").isDisabled()).toBe(true);
    // 0.07 / 100 is 0.0007000000000000001 in doubles: sent so, the hub refused a step the field allows.
    for (const typed of ["0.07", "33.33", "99.99"]) {
      await rate.fill(typed);
      await expect.poll(() => page.locator("#preview-unassigned").count(), { timeout: 10_000 }).toBe(1);
    }
  });

  it("says what a percent threshold is a share of: the agents in the waves started, not the whole rollout", async () => {
    // "% of enrolled agents" read as the rollout's every agent, where the hub counts the waves
    // started so far: 50 % halts on 5 failures of a 10-agent canary in a 100-agent rollout.
    await openForm();
    expect(await page.locator('#rollout-threshold-kind option[value="percent"]').textContent()).toBe(
      "% of the agents it updates in the waves started",
    );
  });

  it("names a refused selector label by its name", async () => {
    await openForm();
    await page.locator("#rollout-selector").fill(`ring=main, env=${"x".repeat(201)}`);
    await expect
      .poll(preview, { timeout: 10_000 })
      .toMatch(/^Selector labels, label "env": .*200 characters/);
    expect(await page.locator("#start-rollout").isDisabled()).toBe(true);
  });
});
