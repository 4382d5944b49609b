/**
 * A minified JSON config (one long line, no spaces) whose release changes hundreds of its values
 * kept its layout only while the line's changes were few: past about 2,000 changed characters the
 * whole line came back in the library's spacing (`{"k0": {"v": 0, …`), with no warning, although
 * the README promises that a line the merge changed keeps the user's spacing around the new value.
 */
import { describe, expect, it } from "vitest";
import { mergeConfigFile } from "../../../agent/merge/index.js";

const entries = (count: number, value: (i: number) => number) =>
  Object.fromEntries(Array.from({ length: count }, (_, i) => [`k${i}`, { v: value(i), s: `x${i}` }]));

describe("a minified JSON config whose release changes many values", () => {
  it.each([
    ["all minified", (text: string) => text],
    // The operator's hand edit, spaced as people type, in the minified line.
    ["one entry spaced", (text: string) => text.replace('"k4":{"v":44,', '"k4": {"v": 44, ')],
  ])("stays minified, the operator's value kept, with no warning (%s)", (_name, edit) => {
    const base = entries(1_000, (i) => i);
    const release = entries(1_000, (i) => (i % 2 === 1 ? i + 1 : i));
    const user = { ...base, k4: { v: 44, s: "x4" } };
    const result = mergeConfigFile({
      format: "json",
      fileName: "settings.json",
      current: edit(JSON.stringify(user)),
      incoming: JSON.stringify(release),
      base: JSON.stringify(base),
      strategy: "preserve_user",
    });
    expect(result.text).toBe(edit(JSON.stringify({ ...release, k4: { v: 44, s: "x4" } })));
    expect(result.warnings).toEqual([]);
  });
});
