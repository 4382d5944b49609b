/**
 * The hub names a refused label after `.labels.` as it was sent, any character in the name. The
 * rollout form and the CLI find it by that name alike: the CLI's pattern stopped at a space, a
 * letter past ASCII or a colon (`--selector "my=…" rack: …`, `--selector "r=…"égion: …`), where the
 * form already named it whole. The integration test (rollout-warnings) has a real hub say them.
 */
import { describe, expect, it } from "vitest";
import { inFormTerms } from "../../../dashboard/src/form-terms.js";
import { inFlagTerms } from "../../../hub/cli/flag-terms.js";

describe("a refused label's name, in the form's terms and the CLI's", () => {
  it.each(["my rack", "région", "tier:web", "env.eu", "a/b-c"])("%j is named whole by both", (name) => {
    const said = "a label value must be at most 200 characters";
    const message = `body.selector.labels.${name}: ${said}; body.waves[0].labels.${name}: ${said}`;
    expect(inFormTerms(message, ["c"], [], ["env", name])).toBe(
      `Selector labels, label ${JSON.stringify(name)}: ${said}; Wave 1 (c) Value, label ${JSON.stringify(name)}: ${said}`,
    );
    const wave = `--wave "c=label:${name}=x"`;
    expect(
      inFlagTerms(message, {
        flags: { "body.selector": "--selector", "body.waves": "--wave" },
        waves: [wave],
        labels: { selector: ["env", name], waves: [[name]] },
      }),
    ).toBe(`--selector "${name}=…": ${said}; ${wave}: label "${name}": ${said}`);
  });

  it("a quote or backslash in the name is escaped by both, as JSON and a shell read it back", () => {
    const message = 'body.selector.labels.a"b\\c: bad; body.waves[0].labels.a"b\\c: bad';
    expect(inFormTerms(message, ["c"], [], ['a"b\\c'])).toBe(
      'Selector labels, label "a\\"b\\\\c": bad; Wave 1 (c) Value, label "a\\"b\\\\c": bad',
    );
    expect(
      inFlagTerms(message, {
        flags: { "body.selector": "--selector", "body.waves": "--wave" },
        waves: ["W"],
        labels: { selector: ['a"b\\c'], waves: [['a"b\\c']] },
      }),
    ).toBe('--selector "a\\"b\\\\c=…": bad; W: label "a\\"b\\\\c": bad');
  });

  it("takes the longest name first: env does not take the place of env.eu", () => {
    expect(
      inFlagTerms("body.selector.labels.env.eu: bad", {
        flags: { "body.selector": "--selector" },
        labels: { selector: ["env", "env.eu"], waves: [] },
      }),
    ).toBe('--selector "env.eu=…": bad');
  });
});
