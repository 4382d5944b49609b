/**
 * Every shape of a wave that tested nothing, over the pure figures the engine decides from: a wave
 * whose agents were all forgotten or no longer take part is never passed, wherever it sits, and a
 * last wave so (or a rollout nobody is left in) is held rather than completed; a finished wave none
 * of whose members answered the release (on it already, timed out, broken on it) is held while
 * later waves have agents to send it to.
 */
import { describe, expect, it } from "vitest";
import {
  emptyCompletionReason,
  emptyWaveReason,
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
const passed = stats({ members: 1, finished: 1, succeeded: 1, tested: 1 });
const anyWave: Wave = { ...wave, minSuccessRate: 0 };

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

  it.each([
    [
      "ran the release already",
      stats({ members: 2, finished: 2, succeeded: 2, alreadyOn: 2 }),
      "its 2 agent(s) ran the release already and were sent nothing",
    ],
    [
      "ran it already, or never answered",
      stats({ members: 2, finished: 2, succeeded: 1, failed: 1, alreadyOn: 1, unanswered: 1 }),
      "its 1 agent(s) ran the release already and were sent nothing, 1 agent(s) never answered (offline or silent past their timeout, counted failed)",
    ],
    [
      "counted failed unsent (broken on it), the rest forgotten",
      stats({ members: 1, finished: 1, failed: 1, forgotten: 2 }),
      "its 1 agent(s) were counted failed without being sent it (their last run of the release had failed), and 2 agent(s) were forgotten by an operator (`ship-hub agents forget`) before they took the release",
    ],
  ])("finished with members that %s holds while later waves have agents to update", (_, untested, why) => {
    const reason = `waiting for an operator: wave 1 (w) tested nothing: ${why}; advance or abort`;
    expect(mayAutoAdvance(untested, anyWave, 0, 1, 3)).toBe(false);
    expect(stuckWaveReason(untested, anyWave, 0, 3)).toBe(reason);
    // Whatever its success rate: the operator must read that nothing was tested, not a rate.
    expect(stuckWaveReason(untested, wave, 0, 3)).toBe(reason);
    expect(emptyWaveReason(untested, wave, 0, 3)).toBe(reason);
    // After it nothing is left to send: passing it hands nothing on untested.
    expect(mayAutoAdvance(untested, anyWave, 0, 1, 0)).toBe(true);
    expect(emptyWaveReason(untested, wave, 0, 0)).toBeUndefined();
  });

  it("a wave still updating, or one member of which answered, is not said to have tested nothing", () => {
    const updating = stats({ members: 2, finished: 1, succeeded: 1, alreadyOn: 1 });
    expect(emptyWaveReason(updating, wave, 0, 3)).toBeUndefined();
    const oneTested = stats({ members: 2, finished: 2, succeeded: 2, alreadyOn: 1, tested: 1 });
    expect(mayAutoAdvance(oneTested, wave, 0, 1, 3)).toBe(true);
    expect(stuckWaveReason(oneTested, wave, 0, 3)).toBeUndefined();
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

describe("a wave that finished below its minSuccessRate", () => {
  it("counts only the agents it updated: those on the release already are no successes of it", () => {
    const bar: Wave = { ...wave, minSuccessRate: 0.75 };
    // 3 on the release already (sent nothing), the 1 updated failed: 0 %, not 75 %.
    const carried = stats({ members: 4, finished: 4, succeeded: 3, failed: 1, tested: 1, alreadyOn: 3 });
    expect(mayAutoAdvance(carried, bar, 0, 1, 3)).toBe(false);
    expect(stuckWaveReason(carried, bar, 0, 3)).toBe(
      "waiting for an operator: wave 1 (w) finished with 0 of the 1 agent(s) it updated succeeded (0 %; 3 ran the release already and were sent nothing, not counted), below its minSuccessRate (75 %); advance or abort",
    );
    // 1 of the 2 updated succeeded: 50 %, below 75 % though 4 of 5 "succeeded".
    const half = stats({ members: 5, finished: 5, succeeded: 4, failed: 1, tested: 2, alreadyOn: 3 });
    expect(mayAutoAdvance(half, bar, 0, 1, 3)).toBe(false);
    // Every updated one succeeded: passes, whatever share ran it already.
    const all = stats({ members: 4, finished: 4, succeeded: 4, tested: 1, alreadyOn: 3 });
    expect(mayAutoAdvance(all, { ...wave, minSuccessRate: 1 }, 0, 1, 3)).toBe(true);
    expect(stuckWaveReason(all, { ...wave, minSuccessRate: 1 }, 0, 3)).toBeUndefined();
  });

  it("says the two rates apart, with as many decimals as that takes", () => {
    const finished = (succeeded: number, members: number) =>
      stats({ members, finished: members, succeeded, tested: members });
    const below = (succeeded: number, members: number, minSuccessRate: number) =>
      stuckWaveReason(finished(succeeded, members), { ...wave, minSuccessRate }, 0, 3);
    // At one decimal both read 99.5 %: "below" what it seemed to equal.
    expect(below(199, 200, 0.9951)).toBe(
      "waiting for an operator: wave 1 (w) finished with 199 of 200 succeeded (99.5 %), below its minSuccessRate (99.51 %); advance or abort",
    );
    expect(below(2, 3, 0.667)).toMatch(/ \(66\.67 %\), below its minSuccessRate \(66\.7 %\);/);
    expect(below(1, 2, 1)).toMatch(/ \(50 %\), below its minSuccessRate \(100 %\);/);
    // A bar finer than 0.01 %, stored by an older hub (it is refused now): both read "0 %" at 6 decimals.
    expect(below(0, 3, 1e-9)).toMatch(/ \(0 %\), below its minSuccessRate \(1e-7 %\);/);
  });
});
