/**
 * The order the suite's files start in (tests/support/slow-first.ts). A fresh CI clone has no
 * vitest cache: ordered by size, minute-long small files (demo, fleet-long-step, cluster cases) ran
 * last, one fork alone while the others had finished. The committed durations put them first.
 */
import { describe, expect, it } from "vitest";
import { type FileFacts, RECORDED, startOrder } from "../../support/slow-first.js";

const file = (path: string, seconds: number | undefined, bytes = 1_000, failed = false): FileFacts => ({
  path,
  seconds,
  bytes,
  failed,
});

describe("the suite's start order", () => {
  it("runs the longest recorded files first, a small one before a large quick one", () => {
    const order = startOrder([
      file("tests/unit/big.test.ts", 2, 90_000),
      file("tests/e2e/small-long.test.ts", 60, 2_000),
      file("tests/integration/cli/mid.test.ts", 20, 8_000),
    ]);
    expect(order.map((f) => f.path)).toEqual([
      "tests/e2e/small-long.test.ts",
      "tests/integration/cli/mid.test.ts",
      "tests/unit/big.test.ts",
    ]);
  });

  it("starts last run's failures first, then new files (of long directories first), then the recorded", () => {
    const order = startOrder([
      file("tests/unit/new-small.test.ts", undefined, 1_000),
      file("tests/integration/cli/recorded.test.ts", 30),
      file("tests/unit/new-large.test.ts", undefined, 5_000),
      file("tests/integration/cluster/new.test.ts", undefined),
      file("tests/unit/failed.test.ts", 1, 1_000, true),
    ]);
    expect(order.map((f) => f.path)).toEqual([
      "tests/unit/failed.test.ts",
      "tests/integration/cluster/new.test.ts",
      "tests/unit/new-large.test.ts",
      "tests/unit/new-small.test.ts",
      "tests/integration/cli/recorded.test.ts",
    ]);
  });

  it("has a recorded duration, in seconds, for the files of a whole run", () => {
    const entries = Object.entries(RECORDED);
    expect(entries.length).toBeGreaterThan(500);
    for (const [path, seconds] of entries) {
      expect(path).toMatch(/^tests\/.+\.test\.ts$/);
      expect(seconds, path).toBeGreaterThanOrEqual(0);
    }
  });
});
