import { describe, expect, it } from "vitest";
import { mapLimit } from "../../../agent/tree/hash-file.js";

describe("mapLimit", () => {
  it("keeps at most `limit` in flight and returns results in input order", async () => {
    let inFlight = 0;
    let peak = 0;
    const out = await mapLimit([5, 1, 4, 2, 3, 0], 2, async (n) => {
      peak = Math.max(peak, ++inFlight);
      await new Promise((r) => setTimeout(r, n));
      inFlight--;
      return n * 10;
    });
    expect(out).toEqual([50, 10, 40, 20, 30, 0]);
    expect(peak).toBe(2);
  });

  it("after a failure starts nothing new and rejects only once the work in flight has settled", async () => {
    const started: number[] = [];
    let finished = 0;
    const run = mapLimit([0, 1, 2, 3, 4, 5, 6, 7], 3, async (n) => {
      started.push(n);
      if (n === 1) throw new Error("boom");
      await new Promise((r) => setTimeout(r, 20));
      finished++;
    });
    await expect(run).rejects.toThrow("boom");
    expect(started).toEqual([0, 1, 2]);
    // Items 0 and 2 were in flight when 1 failed: both done before the caller heard of the failure.
    expect(finished).toBe(2);
  });
});
