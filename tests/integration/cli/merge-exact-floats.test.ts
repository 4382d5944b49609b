/**
 * Floats a double does not hold, wherever they sit, through the real CLI: a release's new default
 * `[0.1]` → `[0.10000000000000001]` (or `1e400` → `1e500`) in a TOML array, inline table or
 * `[[array]]`, or a YAML list or anchor, was no change to the merge and never reached the operator's
 * copy; and zero written with another sign (`-0.0` for `0.0`) was reported as a new default.
 */
import { describe, expect, it } from "vitest";
import { updateMergedFilesOnce } from "./local-app.js";

const cases = [
  {
    file: "config.toml",
    action: "merge_toml",
    v1: "port = 80\nweights = [0.1, 1e400]\nlimits = { ratio = 0.1 }\nzero = 0.0\n\n[[pool]]\nratio = 0.1\n",
    mine: "port = 8080\nweights = [0.1, 1e400]\nlimits = { ratio = 0.1 }\nzero = 0.0\n\n[[pool]]\nratio = 0.1\n",
    v2: "port = 80\nweights = [0.10000000000000001, 1e500]\nlimits = { ratio = 0.10000000000000001 }\nzero = -0.0\n\n[[pool]]\nratio = 0.10000000000000001\n",
    merged:
      "port = 8080\nweights = [0.10000000000000001, 1e500]\nlimits = { ratio = 0.10000000000000001 }\nzero = 0.0\n\n[[pool]]\nratio = 0.10000000000000001\n",
  },
  {
    file: "config.yaml",
    action: "merge_yaml",
    v1: "port: 80\nweights: [0.1, 1e400]\ndefaults: &d\n  ratio: 0.1\nweb:\n  <<: *d\nzero: 0.0\n",
    mine: "port: 8080\nweights: [0.1, 1e400]\ndefaults: &d\n  ratio: 0.1\nweb:\n  <<: *d\nzero: 0.0\n",
    v2: "port: 80\nweights: [0.10000000000000001, 1e500]\ndefaults: &d\n  ratio: 0.10000000000000001\nweb:\n  <<: *d\nzero: -0.0\n",
    merged:
      "port: 8080\nweights: [0.10000000000000001, 1e500]\ndefaults: &d\n  ratio: 0.10000000000000001\nweb:\n  <<: *d\nzero: 0.0\n",
  },
  {
    file: "config.json",
    action: "merge_json",
    v1: '{\n  "port": 80,\n  "weights": [0.1, 1e400],\n  "zero": 0\n}\n',
    mine: '{\n  "port": 8080,\n  "weights": [0.1, 1e400],\n  "zero": 0\n}\n',
    v2: '{\n  "port": 80,\n  "weights": [0.10000000000000001, 1e500],\n  "zero": -0\n}\n',
    merged: '{\n  "port": 8080,\n  "weights": [0.10000000000000001, 1e500],\n  "zero": 0\n}\n',
  },
];

describe("floats past a double inside lists, tables and anchors, and zero's sign, through ship update", () => {
  const merged = updateMergedFilesOnce(cases.map((c) => ({ ...c, edited: c.mine })));

  for (const [i, { action, merged: expected }] of cases.entries()) {
    it(`${action}: the release's new decimals reach the copy, zero's sign is no change`, async () => {
      const { run, read } = await merged();
      expect(await read(i)).toBe(expected);
      expect(run.stderr).not.toContain("WARNING");
      expect(run.stdout).not.toMatch(/updated \([^)]*zero/);
    });
  }
});
