/**
 * What keeps one wrong message cheap: problems are worded for the first 100 only, and the agent's
 * merge reports stay well under the values the hub takes in one message.
 */
import { describe, expect, it } from "vitest";
import * as z from "zod";
import { fitMergeReports } from "../../../agent/daemon/merge-reports.js";
import { jsonShapeProblem, MAX_MESSAGE_VALUES } from "../../../shared/json-depth.js";
import { Report } from "../../../shared/protocol/messages.js";
import { parseOneLine } from "../../../shared/schema/one-line.js";

describe("bounded validation", () => {
  it("words the first 100 problems and counts the rest", () => {
    const wrong = Array.from({ length: 5000 }, () => 1);
    const result = parseOneLine(z.object({ keys: z.array(z.string()) }), { keys: wrong }, "message");
    expect(result.ok).toBe(false);
    const message = result.ok ? "" : result.message;
    expect(message.match(/must be a string/g)).toHaveLength(100);
    expect(message).toMatch(/^message\.keys\[0\]: must be a string \(got number 1\); /);
    expect(message).toMatch(/; message: and 4900 more problems not listed$/);
  });

  it("merge reports of 200 files with 1,000 keys in each list fit in one message the hub takes", () => {
    const keys = (prefix: string) => Array.from({ length: 1500 }, (_, i) => `${prefix}.key${i}`);
    const merges = fitMergeReports(
      Array.from({ length: 200 }, (_, f) => ({
        file: `config/${f}.yaml`,
        kept: keys("k"),
        added: keys("a"),
        updated: keys("u"),
        removed: keys("r"),
        warnings: Array.from({ length: 60 }, () => "rewritten"),
      })),
    );
    const report = Report.parse({
      type: "report",
      v: 1,
      reportId: "00000000-0000-4000-8000-000000000000",
      app: "web",
      outcome: "succeeded",
      fromVersion: "1.0.0",
      toVersion: "2.0.0",
      steps: Array.from({ length: 200 }, (_, i) => ({ name: `s${i}`, ok: true, ms: 1, log: "x" })),
      merges,
    });
    const bytes = Buffer.from(JSON.stringify(report));
    expect(jsonShapeProblem(bytes, "message", MAX_MESSAGE_VALUES)).toBeUndefined();
    // Shortened lists say how much was left out.
    expect(merges[0]?.kept.at(-1)).toBe("… 501 more");
    expect(merges.at(-1)?.kept).toEqual(["… 1500 more"]);
  });
});
