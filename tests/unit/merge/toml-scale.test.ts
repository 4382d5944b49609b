/**
 * A big TOML config merges in time that grows with the file, not with its square: each copy was
 * scanned again for every list the merge left unchanged (list-notes.ts), and each `[table]` header
 * was checked against every header before it (toml-scan.ts), so 2,000 small tables holding a list
 * took minutes of CPU.
 */
import { describe, expect, it } from "vitest";
import { mergeConfigFile } from "../../../agent/merge/index.js";
import { cpuMsOf } from "../../support/cpu-time.js";

/** `count` tables with a note, a list and a ratio each; every 50th ratio differs in the release. */
function tables(count: number, release: boolean): string {
  const blocks: string[] = [];
  for (let k = 0; k < count; k++) {
    const ratio = release && k % 50 === 0 ? `0.${k}1` : `0.${k}`;
    blocks.push(`[t${k}]\nname = "s${k}" # note ${k}\nweights = [1.5, 2.5]\nratio = ${ratio}\n`);
  }
  return blocks.join("\n");
}

describe("TOML merges scale linearly", () => {
  it("in a file of many tables each holding a list, the changed values are taken in seconds", () => {
    const user = tables(1500, false);
    let result: ReturnType<typeof mergeConfigFile> | undefined;
    const { cpuMs } = cpuMsOf(() => {
      result = mergeConfigFile({
        format: "toml",
        fileName: "big.toml",
        current: user,
        incoming: tables(1500, true),
        base: user,
        strategy: "preserve_user",
      });
    });
    expect(result?.text).toBe(tables(1500, true));
    expect(result?.updated).toHaveLength(30);
    // Over 12 s of CPU at 1,000 tables before (quadratic); about two seconds at 1,500 now.
    expect(cpuMs).toBeLessThan(10_000);
  }, 180_000);
});
