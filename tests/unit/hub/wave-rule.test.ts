/**
 * The rollout page says beside each wave's bar how the wave takes its agents. A labels wave naming
 * no label (`labels: {}` in the API's body or a `--spec` file: every agent left) read "labels "
 * with nothing after it, as if its labels were lost.
 */
import { describe, expect, it } from "vitest";
import { waveRule } from "../../../dashboard/src/format.js";

describe("a wave's rule on the rollout page", () => {
  it("says a labels wave naming no label takes every agent left", () => {
    expect(waveRule({ name: "rest", labels: {} })).toBe("every agent left (labels {})");
  });
  it("names each kind of wave by what it takes", () => {
    expect(waveRule({ name: "c", percent: 5 })).toBe("5 % of the fleet, cumulative");
    expect(waveRule({ name: "eu", labels: { region: "eu", ring: "1" } })).toBe("labels region=eu, ring=1");
    expect(waveRule({ name: "pets", agents: ["a1", "a2"] })).toBe("agents a1, a2");
  });
});
