/**
 * Every shape of a wave that tested nothing, over the pure figures the engine decides from: a wave
 * whose agents were all forgotten or no longer take part is never passed, wherever it sits, and a
 * last wave so (or a rollout nobody is left in) is held rather than completed.
 */
import { describe, expect, it } from "vitest";
import {
  emptyCompletionReason,
  mayAutoAdvance,
  noStats,
  stuckWaveReason,
  type WaveStats,
} from "../../../../hub/rollouts/accounting.js";
import type { Wave } from "../../../../shared/api/bodies.js";

const wave: Wave = { name: "w", percent: 100, waitMinutes: 0, minSuccessRate: 1 };
const stats = (s: Partial<WaveStats>): WaveStats => ({ ...noStats(), ...s });
const none = stats({});
const forgotten = stats({ forgotten: 1 });
const notApplicable = stats({ notApplicable: 2 });
const passed = stats({ members: 1, finished: 1, succeeded: 1 });

describe("a wave that tested nothing", () => {
  it.each([
    ["forgotten", forgotten],
    ["not applicable", notApplicable],
    ["both", stats({ forgotten: 1, notApplicable: 1 })],
  ])("left empty (%s) is not passed by auto-advance, with or without later agents", (_, emptied) => {
    for (const later of [0, 3]) {
      expect(mayAutoAdvance(emptied, wave, 0, 1, later)).toBe(false);
      expect(stuckWaveReason(emptied, wave, 0, later)).toMatch(
        /^waiting for an operator: wave 1 \(w\) tested nothing: /,
      );
    }
  });

  it("empty from the start holds only while later waves hold agents", () => {
    expect(mayAutoAdvance(none, wave, 0, 1, 2)).toBe(false);
    expect(mayAutoAdvance(none, wave, 0, 1, 0)).toBe(true);
    expect(stuckWaveReason(none, wave, 0, 0)).toBeUndefined();
  });

  it("a last wave left empty, or a rollout nobody is left in, is held; one that tested something completes", () => {
    const all = (last: WaveStats, earlier: WaveStats) =>
      stats({
        members: last.members + earlier.members,
        succeeded: last.succeeded + earlier.succeeded,
        notApplicable: last.notApplicable + earlier.notApplicable,
        forgotten: last.forgotten + earlier.forgotten,
      });
    expect(emptyCompletionReason(all(forgotten, passed), forgotten, wave, 1)).toMatch(
      /^waiting for an operator: wave 2 \(w\) tested nothing: .*resume to complete the rollout without them, or abort$/,
    );
    expect(emptyCompletionReason(all(notApplicable, none), notApplicable, wave, 0)).toMatch(
      /tested nothing: .*no agent of the rollout took the release: resume to complete it as it is, or abort$/,
    );
    expect(emptyCompletionReason(all(none, forgotten), none, wave, 1)).toMatch(
      /^waiting for an operator: no agent of the rollout took the release: its 1 agent\(s\) were forgotten/,
    );
    expect(emptyCompletionReason(all(none, passed), none, wave, 1)).toBeUndefined();
    expect(emptyCompletionReason(all(passed, forgotten), passed, wave, 1)).toBeUndefined();
  });
});
