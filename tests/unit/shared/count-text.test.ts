import { describe, expect, it } from "vitest";
import { countText } from "../../../shared/count-text.js";

describe("countText", () => {
  it("writes every whole number as toLocaleString('en-US') does, without ICU", () => {
    const values = [0, 7, 42, 999, 1_000, 1_001, 9_999, 20_000, 123_456, 1_000_000, 987_654_321];
    for (let n = 1; n < Number.MAX_SAFE_INTEGER / 7; n = n * 7 + 3) values.push(n);
    values.push(Number.MAX_SAFE_INTEGER);
    for (const n of [...values, ...values.map((v) => -v).filter((v) => v !== 0)])
      expect(countText(n), `${n}`).toBe(n.toLocaleString("en-US"));
  });

  it("leaves a fraction or a number past 2^53 to toLocaleString", () => {
    for (const n of [1.5, 1234.5678, 2 ** 60, Number.POSITIVE_INFINITY, Number.NaN])
      expect(countText(n)).toBe(n.toLocaleString("en-US"));
  });
});
