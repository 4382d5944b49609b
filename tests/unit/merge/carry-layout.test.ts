import { describe, expect, it } from "vitest";
import { carryLayout } from "../../../agent/merge/carry-layout.js";
import { matches } from "../../../agent/merge/line-diff.js";
import { cpuMsOf } from "../../support/cpu-time.js";

describe("carryLayout: the user's layout on the library's text of a merge", () => {
  it("takes the user's line where the merge did not change it and merges changed lines by character", () => {
    const original = "a: 1      # one\nb: 2      # two\n";
    const plain = "a: 1 # one\nb: 2 # two\n";
    const edited = "a: 1 # one\nb: 3 # two\nc: 4\n";
    expect(carryLayout(original, plain, edited)).toEqual({
      text: "a: 1      # one\nb: 3      # two\nc: 4\n",
      lost: [],
    });
  });

  it("names the user's lines it could not carry", () => {
    const carried = carryLayout("x: [1,\n   2]\ny: 0\n", "x: [ 1, 2 ]\ny: 0\n", "x: [ 1, 3 ]\ny: 0\n");
    expect(carried).toEqual({ text: "x: [ 1, 3 ]\ny: 0\n", lost: [1, 2] });
  });

  it("stays fast on a large file whose every line the library writes differently", () => {
    const lines = Array.from({ length: 5000 }, (_, i) => `k${i}: ${i}`);
    const original = `${lines.map((l) => `${l}   # c`).join("\n")}\n`;
    const plain = `${lines.map((l) => `${l} # c`).join("\n")}\n`;
    const edited = plain.replace("k2500: 2500 #", "k2500: 0 #");
    const { value: carried, cpuMs } = cpuMsOf(() => carryLayout(original, plain, edited));
    expect(cpuMs).toBeLessThan(3000);
    // The aligned comment keeps its column.
    expect(carried.text.split("\n")[2500]).toBe("k2500: 0      # c");
  });

  it("matches: a shortest edit script's matched pairs", () => {
    const a = [..."abcabba"];
    const b = [..."cbabac"];
    const found = matches(a, b);
    const pairs = found.flatMap((j, i) => (j === -1 ? [] : [[i, j] as const]));
    expect(pairs).toHaveLength(4); // the longest common subsequence's length
    for (const [i, j] of pairs) expect(a[i]).toBe(b[j]);
    expect(pairs.every(([, j], k) => k === 0 || j > (pairs[k - 1]?.[1] ?? -1))).toBe(true);
  });
});
