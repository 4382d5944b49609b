/**
 * The rollout form and the CLI take a number by one rule: decimal digits with an optional fraction.
 * The form read a wave's percent with `Number()`, so "0x32" went out as 50 % and "1e1" as 10 %,
 * where `--wave canary=0x32` is refused; an empty Wait (min) went out as 0. The browser test
 * (tests/browser/form-numbers) shows the form refusing them; this holds the two rules alike.
 */
import { describe, expect, it } from "vitest";
import { decimalNumber, notationProblem as formNotation } from "../../../dashboard/src/format.js";
import { decimalFlag, notationProblem } from "../../../hub/cli/number-flag.js";

describe("the form's numbers and the CLI's", () => {
  it.each([
    "5",
    " 12.5 ",
    ".5",
    "0",
    "100",
    "",
    " ",
    "0x32",
    "1e1",
    "0b1",
    "0o7",
    "-5",
    "+5",
    "5.",
    "1_000",
    "Infinity",
    "NaN",
    "5%",
    "1,5",
    "٣",
  ])("%j reads the same", (text) => {
    expect(decimalNumber(text)).toBe(decimalFlag(text));
    // And a number in another notation is refused in the same words (not "must be a number").
    expect(formNotation(text.trim())).toBe(notationProblem(text.trim()));
  });
  it("refuses what Number() took", () => {
    for (const text of ["0x32", "1e1", "", "Infinity"]) expect(decimalNumber(text)).toBeUndefined();
    expect(formNotation("1e1")).toBe(
      '"1e1" is exponent notation: numbers here are written in decimal digits with an optional fraction (5, 2.5, .5)',
    );
  });
});
