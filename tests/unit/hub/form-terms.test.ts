/**
 * The rollout form said the hub's refusals in API terms (`body.waves[1].percent`,
 * `body.failureThreshold.count`), fields the form does not have: they are said as its wave rows and
 * labels. The hub's own message text is what is mapped (the browser test covers a live warning).
 */
import { describe, expect, it } from "vitest";
import { inFormTerms } from "../../../dashboard/src/form-terms.js";

describe("the rollout form's terms for the hub's fields", () => {
  const waves = ["canary", "everyone"];
  it("names a wave row by its number and name, and its field by its label", () => {
    expect(inFormTerms("body.waves[1].percent: must be at most 100", waves)).toBe(
      "Wave 2 (everyone) Value: must be at most 100",
    );
    expect(inFormTerms("body.waves[0].minSuccessRate: too big", waves)).toBe(
      "Wave 1 (canary) Min success %: too big",
    );
    // The hub names the wave itself: not said twice.
    expect(inFormTerms("body.waves[0] (canary) holds no agent now", waves)).toBe(
      "Wave 1 (canary) holds no agent now",
    );
  });
  it("names the form's other fields", () => {
    expect(inFormTerms("body.failureThreshold.count: must be ≥ 1", waves)).toBe(
      "Halt when failures reach: must be ≥ 1",
    );
    expect(inFormTerms("body.selector.labels.env: bad", waves)).toBe("Selector labels: bad");
  });
  it("names a refused selector label by its name, as sent (any character, the longest name first)", () => {
    // Before: "Selector labels: bad", and "Selector labels rack: bad" for a name with a space.
    expect(inFormTerms("body.selector.labels.env: bad", waves, [], ["env"])).toBe(
      'Selector labels, label "env": bad',
    );
    expect(
      inFormTerms(
        "body.selector.labels.my rack: bad; body.selector.labels.env: worse",
        waves,
        [],
        ["env", "my rack"],
      ),
    ).toBe('Selector labels, label "my rack": bad; Selector labels, label "env": worse');
    expect(inFormTerms("body.selector.labels.env.eu: bad", waves, [], ["env", "env.eu"])).toBe(
      'Selector labels, label "env.eu": bad',
    );
  });
  it("names a refused label of a labels wave by its name, as the selector's (any character)", () => {
    // The hub's own words for a labels wave `canary=label:my rack=…` with a value past 200
    // characters; the form said "Wave 1 (canary) Value rack: …", the name cut at its space, and
    // "Wave 1 (canary) Value: …" for `env`, which of the wave's labels unsaid.
    expect(
      inFormTerms("body.waves[0].labels.my rack: a label value must be at most 200 characters", waves),
    ).toBe('Wave 1 (canary) Value, label "my rack": a label value must be at most 200 characters');
    expect(inFormTerms("body.waves[1].labels.env: a label value must be at most 200 characters", waves)).toBe(
      'Wave 2 (everyone) Value, label "env": a label value must be at most 200 characters',
    );
  });
  it("names the form's fields in a message that also names the release and the waves", () => {
    expect(inFormTerms("body.release: web 1.0.0 is older; body.waves: none", waves)).toBe(
      "Release: web 1.0.0 is older; Waves: none",
    );
  });
});
