/**
 * The dashboard's forms take labels as `env=prod, region=eu` (the rollout form's selector, a labels
 * wave). A label named twice kept its last value: `ring=main, ring=canary` became ring=canary, and
 * the rollout went to the canary hosts alone.
 */
import { describe, expect, it } from "vitest";
import { parseLabels } from "../../../dashboard/src/format.js";

describe("the dashboard's label fields", () => {
  it("takes key=value pairs separated by commas", () => {
    expect(parseLabels(" env = prod, region=eu ,")).toEqual({ env: "prod", region: "eu" });
    expect(parseLabels("")).toEqual({});
    // Names an object's prototype has are labels like any other, not labels given already.
    expect(parseLabels("constructor=x, toString=y")).toEqual({ constructor: "x", toString: "y" });
  });
  it("refuses a label given twice, naming both values", () => {
    expect(() => parseLabels("ring=main, ring=canary")).toThrow(
      "ring is given twice (ring=main, ring=canary): an agent carries one value per label, so none matches both",
    );
    expect(() => parseLabels("ring=main,ring=main")).toThrow("ring is given twice");
  });
  it("quotes a pair it refuses with a quote inside escaped, so the quote ends where the pair does", () => {
    expect(() => parseLabels('env=prod, region"eu')).toThrow(new Error('"region\\"eu" is not key=value'));
  });
});
