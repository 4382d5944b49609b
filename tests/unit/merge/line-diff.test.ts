import { describe, expect, it } from "vitest";
import { matches } from "../../../agent/merge/line-diff.js";

describe("matches: line alignment past the shortest-script budget", () => {
  it("still pairs every unchanged line of a file with 3,000 changed lines", () => {
    const a = Array.from({ length: 6000 }, (_, i) => `k${i}: 1`);
    const b = a.map((line, i) => (i % 2 === 0 ? line.replace(": 1", ": 2") : line));
    const found = matches(a, b);
    expect(found.filter((j, i) => i % 2 === 1 && j === i)).toHaveLength(3000);
    expect(found.filter((j, i) => i % 2 === 0 && j !== -1)).toEqual([]);
  });

  it("pairs in order, each pair equal, around repeated lines that anchor nothing", () => {
    const a = Array.from({ length: 5000 }, (_, i) => (i % 3 === 0 ? "  enabled: true" : `x${i}`));
    const b = a.map((line, i) => (i % 3 === 1 ? `y${i}` : line));
    const found = matches(a, b);
    let last = -1;
    found.forEach((j, i) => {
      if (j === -1) return;
      expect(b[j]).toBe(a[i]);
      expect(j).toBeGreaterThan(last);
      last = j;
    });
    // Every line the change left alone is paired, the repeated ones included (between anchors).
    expect(found.filter((j) => j !== -1)).toHaveLength(a.length - Math.ceil((a.length - 1) / 3));
  });
});
