/**
 * The stdout line per merged config. A merged config the operator deleted, installed anew as the
 * release's copy, printed `merged config.toml: 0 kept, 0 added, 0 updated, 0 removed` beside its
 * WARNING: read as a merge that found nothing to change.
 */
import { describe, expect, it } from "vitest";
import { mergeLines } from "../../../agent/cli/merge-lines.js";
import type { AppReport } from "../../../agent/pipeline/report.js";
import type { MergeReport } from "../../../shared/protocol/messages.js";

const app = (merges: MergeReport[]): AppReport => ({
  source: "myapp",
  appDir: "/srv/app",
  result: "updated",
  exitCode: 0,
  fromVersion: "1.0.0",
  toVersion: "2.0.0",
  releaseId: null,
  message: "updated 1.0.0 → 2.0.0",
  error: null,
  manualSteps: [],
  warnings: [],
  steps: [],
  merges,
});

const none = { kept: [], added: [], updated: [], removed: [] };

describe("mergeLines", () => {
  it("says a deleted config was installed anew, a symlinked one left alone, an unparsable one replaced whole, not that their merge changed nothing", () => {
    const deleted: MergeReport = {
      file: "config.toml",
      ...none,
      warnings: [
        "it was not in the app, though ship installed it at the last update (1.0.0): the release's copy was installed in its place, …",
      ],
    };
    const linked: MergeReport = {
      file: "linked.toml",
      ...none,
      warnings: [
        "it is a symlink (→ /etc/app/linked.toml), not the file ship installed: not merged and left as it is; …",
      ],
    };
    const unparsable: MergeReport = {
      file: "broken.toml",
      ...none,
      warnings: [
        "your copy does not parse (line 2, column 5: illegal character in key): took the release's copy whole, …",
      ],
    };
    const merged: MergeReport = { file: "other.toml", ...none, kept: ["a"], warnings: [] };
    expect(mergeLines(app([deleted, linked, unparsable, merged]))).toEqual([
      "myapp: installed config.toml anew: it was not in the app, so the release's copy went in, with none of your values",
      "myapp: did not merge linked.toml: it is a symlink, left as it is, and the release's copy was not installed",
      "myapp: replaced broken.toml whole: your copy did not parse, so the release's copy went in, with none of your values",
      "myapp: merged other.toml: 1 kept (a), 0 added, 0 updated, 0 removed",
    ]);
  });
});
