/**
 * A report's merges past the hub's 200 files: the rest were dropped without a word, and the hub's
 * operator read the report as every file the update merged. The last entry now counts them, and
 * the report still passes the hub's schema.
 */
import { describe, expect, it } from "vitest";
import { fitMergeReports, fitText } from "../../../agent/daemon/merge-reports.js";
import { Report } from "../../../shared/protocol/messages.js";

const merge = (f: number) => ({
  file: `conf.d/${f}.toml`,
  kept: ["a"],
  added: [],
  updated: ["b"],
  removed: [],
  warnings: [],
});

/** A report carrying `merges`, as the hub's schema reads it. */
const reportOf = (merges: unknown) =>
  Report.parse({
    type: "report",
    v: 1,
    reportId: "00000000-0000-4000-8000-000000000000",
    app: "web",
    outcome: "succeeded",
    fromVersion: "1.0.0",
    toVersion: "2.0.0",
    steps: [],
    merges,
  });

describe("merge reports fitted to the hub's bounds", () => {
  it("250 merged files: 199 listed, and one entry saying 51 more", () => {
    const merges = fitMergeReports(Array.from({ length: 250 }, (_, f) => merge(f)));
    expect(merges).toHaveLength(200);
    expect(merges[198]?.file).toBe("conf.d/198.toml");
    expect(merges[199]?.file).toBe(
      "… 51 more merged files, not listed here (each in the agent's log on this host)",
    );
    const report = reportOf(merges);
    expect(report.merges).toHaveLength(200);
  });

  it("keys the operator deleted that stay deleted reach the hub as `deleted`, not dropped by the schema", () => {
    const merges = fitMergeReports([{ ...merge(1), deleted: ["host"] }, merge(2)]);
    const report = reportOf(merges);
    expect(report.merges?.map((m) => m.deleted)).toEqual([["host"], undefined]);
  });

  it("a file name past the hub's 1,000 characters says it was cut", () => {
    const long = `${"deep/".repeat(300)}config.toml`;
    const [fitted] = fitMergeReports([{ ...merge(0), file: long }]);
    expect(fitted?.file).toHaveLength(1000);
    expect(fitted?.file).toMatch(
      / … \[cut at 1,000 of 1,511 characters; the whole text is in the agent's log on this host\]$/,
    );
  });

  it("a cut text never ends in half an emoji: a file name, a report's text and versions past the hub's bounds", () => {
    // One of the two starts puts the cut between the halves of a surrogate pair, whatever the note's length.
    for (const start of ["", "a"]) {
      const long = `${start}${"😀".repeat(700)}`;
      const [fitted] = fitMergeReports([{ ...merge(0), file: long }]);
      const report = Report.parse({ ...reportOf([]), fromVersion: long, toVersion: long });
      const cut = [fitted?.file, fitText(long, 10), report.fromVersion, report.toVersion];
      for (const text of cut) expect(text).not.toMatch(/\p{Cs}/u);
      expect(fitted?.file.length).toBeLessThanOrEqual(1000);
    }
  });

  it("200 merged files are all listed", () => {
    const merges = fitMergeReports(Array.from({ length: 200 }, (_, f) => merge(f)));
    expect(merges.map((m) => m.file)).toEqual(Array.from({ length: 200 }, (_, f) => `conf.d/${f}.toml`));
  });
});
