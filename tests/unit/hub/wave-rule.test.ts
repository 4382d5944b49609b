/**
 * The rollout page says beside each wave's bar how the wave takes its agents. A labels wave naming
 * no label (`labels: {}` in the API's body or a `--spec` file: every agent left) read "labels "
 * with nothing after it, as if its labels were lost.
 */
import { describe, expect, it } from "vitest";
import { waveRule } from "../../../dashboard/src/format.js";
import { policyText, wavePassRule } from "../../../dashboard/src/rollout-rules.js";

describe("a wave's rule on the rollout page", () => {
  it("says a labels wave naming no label takes every agent left", () => {
    expect(waveRule({ name: "rest", labels: {} })).toBe("every agent left (labels {})");
  });
  it("names each kind of wave by what it takes", () => {
    expect(waveRule({ name: "c", percent: 5 })).toBe("5 % of the fleet, cumulative");
    expect(waveRule({ name: "eu", labels: { region: "eu", ring: "1" } })).toBe("labels region=eu, ring=1");
    expect(waveRule({ name: "pets", agents: ["a1", "a2"] })).toBe("agents a1, a2");
  });
  it("says the share a percent finer than 0.01, stored by an older hub, holds", () => {
    // Its buckets hold whole hundredths (shared/rollout/bucket.ts): shown as written, 12.345 read
    // as a share the wave did not take, 5e-324 as a canary that held nobody.
    expect(waveRule({ name: "c", percent: 12.345 })).toBe(
      "12.35 % of the fleet, cumulative (created as 12.345 % by an older hub: a wave takes whole 0.01 % steps)",
    );
    expect(waveRule({ name: "c", percent: 5e-324 })).toBe(
      "0 % of the fleet, cumulative (created as 5e-324 % by an older hub: a wave takes whole 0.01 % steps)",
    );
    expect(waveRule({ name: "c", percent: 33.33 })).toBe("33.33 % of the fleet, cumulative");
  });
});

/**
 * When a wave passes and when the rollout halts, as `rollout show` and the rollout page both say
 * it (dashboard/src/rollout-rules.ts; tests/browser/waiting-times.test.ts compares the two).
 */
describe("a rollout's pass and halt rules", () => {
  it("says what a wave waits for, and that without auto-advance its figures do not act", () => {
    const canary = { waitMinutes: 30, minSuccessRate: 0.995 };
    expect(wavePassRule(canary, true, false)).toBe(
      "passes by itself once finished with ≥ 99.5 % of the agents it updates succeeded, not before 30 min after it started (waitMinutes 30, minSuccessRate 99.5 %)",
    );
    expect(wavePassRule(canary, false, false)).toBe(
      "passes on an operator's advance (auto-advance off: its waitMinutes 30, minSuccessRate 99.5 % do not act)",
    );
    expect(wavePassRule({}, false, false)).toBe("passes on an operator's advance (auto-advance off)");
    expect(wavePassRule(canary, true, true)).toBeUndefined();
  });
  it("says a 0 % threshold halts on the first failure", () => {
    const policy = { autoAdvance: true, autoRollback: false };
    expect(policyText({ ...policy, failureThreshold: { percent: 0 } })).toBe(
      "halt at the first failure (0 % of the agents it updates in the waves started); auto-advance on; auto-rollback off",
    );
    expect(policyText({ ...policy, failureThreshold: { percent: 10 } })).toBe(
      "halt at 10 % failed of the agents it updates in the waves started; auto-advance on; auto-rollback off",
    );
    expect(policyText({ ...policy, failureThreshold: { count: 2 } })).toBe(
      "halt at 2 failure(s); auto-advance on; auto-rollback off",
    );
  });
});
