/** Which pauses came late (hub/rollouts/late-pause.ts): decided in one wave, landed in the next. */
import { describe, expect, it } from "vitest";
import { latePauseText } from "../../../../hub/rollouts/late-pause.js";
import type { DeploymentCount, RolloutRecord } from "../../../../hub/store/store.js";
import { RolloutSpec } from "../../../../shared/api/bodies.js";

const rollout: RolloutRecord = {
  id: "r1",
  releaseId: "rel",
  spec: RolloutSpec.parse({
    release: "rel",
    waves: [
      { name: "canary", agents: ["a1"] },
      { name: "rest", percent: 100 },
    ],
  }),
  state: "running",
  currentWave: 1,
  waveStartedAt: 1_000,
  reason: null,
  failureAllowance: 0,
  created: 0,
  updated: 1_000,
};
const count = (wave: number, state: DeploymentCount["state"], n: number): DeploymentCount => ({
  wave,
  state,
  count: n,
  rollbackable: n,
  sent: n,
  restored: 0,
  lastUpdated: 0,
});
const counts = [count(0, "succeeded", 1), count(1, "sent", 2), count(1, "pending", 1)];

describe("latePauseText", () => {
  it("a pause decided before the current wave started, or naming an earlier wave, says which wave it paused and who had the release", () => {
    const said =
      /^in wave 2 \(rest\), not wave 1 \(canary\): .* 2 agent\(s\) of wave 2 \(rest\) were already sent the release/;
    expect(latePauseText(rollout, { decidedAt: 900 }, counts)).toMatch(said);
    expect(latePauseText(rollout, { wave: 0, decidedAt: 2_000 }, counts)).toMatch(said);
  });
  it("a pause of the wave the caller named, or decided after it started, is not late", () => {
    expect(latePauseText(rollout, { wave: 1, decidedAt: 900 }, counts)).toBeUndefined();
    expect(latePauseText(rollout, { decidedAt: 1_500 }, counts)).toBeUndefined();
    expect(latePauseText(rollout, {}, counts)).toBeUndefined();
  });
});
