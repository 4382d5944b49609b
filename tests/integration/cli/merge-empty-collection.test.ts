/**
 * Through the real CLI: an empty mapping or object in the operator's copy (`level: {}`, JSON
 * `"level": {}`, TOML `level = {}` or `endpoints = []`), which the release fills, is written as the
 * release writes it (block lines, lines, `[level]` or `[[endpoints]]`). None of the three formats
 * has another way to write an empty collection, so it shows no layout of the operator's: the
 * keys the merge put into it came on one line (`level: { a: 1, b: 3 }`), the release's comments on
 * them dropped with no word, where an empty list (`[]`) already took the release's lines. The
 * values are the three-way merge's as before (of a mapping the operator emptied, only the keys the
 * release changed or added come back), and `{}` inside a collection written on one line stays in it.
 */
import { describe, expect, it } from "vitest";
import { updateMergedFilesOnce } from "./local-app.js";

const yaml = [
  {
    what: "YAML: an empty mapping the release fills, a comment after it",
    v1: "x: 0\nlevel: {}\n",
    edited: "x: 1\nlevel: {}  # ops: none yet\n",
    v2: "x: 0\nlevel:\n  # the root logger\n  root: info\n  # per module\n  modules:\n    db: warn\n",
    merged:
      "x: 1\nlevel:     # ops: none yet\n  # the root logger\n  root: info\n  # per module\n  modules:\n    db: warn\n",
  },
  {
    what: "YAML: a mapping the operator emptied, the release changing one key and adding one",
    v1: "level:\n  root: info\n  db: warn\nx: 0\n",
    edited: "level: {}\nx: 1\n",
    v2: "level:\n  root: info\n  db: error\n  # new in 2.0\n  http: debug\nx: 0\n",
    merged: "level:\n  db: error\n  # new in 2.0\n  http: debug\nx: 1\n",
  },
  {
    what: "YAML: an empty mapping inside a mapping on one line",
    v1: "x: 0\nlog: {level: {}}\n",
    edited: "x: 1\nlog: {level: {}}\n",
    v2: "x: 0\nlog:\n  level:\n    root: info\n",
    merged: "x: 1\nlog: {level: {root: info}}\n",
  },
].map((story) => ({ ...story, action: "merge_yaml", file: "config.yaml" }));

const json = [
  {
    what: "JSON: an empty object the release fills",
    v1: '{\n  "x": 0,\n  "level": {}\n}\n',
    edited: '{\n  "x": 1,\n  "level": {}\n}\n',
    v2: '{\n  "x": 0,\n  "level": {\n    "root": "info",\n    "modules": {\n      "db": "warn"\n    }\n  }\n}\n',
    merged:
      '{\n  "x": 1,\n  "level": {\n    "root": "info",\n    "modules": {\n      "db": "warn"\n    }\n  }\n}\n',
  },
  {
    what: "JSON: an empty list the release fills",
    v1: '{\n  "x": 0,\n  "hosts": []\n}\n',
    edited: '{\n  "x": 1,\n  "hosts": []\n}\n',
    v2: '{\n  "x": 0,\n  "hosts": [\n    "a",\n    "b"\n  ]\n}\n',
    merged: '{\n  "x": 1,\n  "hosts": [\n    "a",\n    "b"\n  ]\n}\n',
  },
  {
    what: "JSON: an empty object the release fills on one line",
    v1: '{\n  "x": 0,\n  "level": {}\n}\n',
    edited: '{\n  "x": 1,\n  "level": {}\n}\n',
    v2: '{\n  "x": 0,\n  "level": {"root": "info"}\n}\n',
    merged: '{\n  "x": 1,\n  "level": {"root": "info"}\n}\n',
  },
].map((story) => ({ ...story, action: "merge_json", file: "config.json" }));

const toml = [
  {
    what: "TOML: an empty inline table the release writes as a [table] and fills",
    v1: "x = 0\nlevel = {}\n",
    edited: "x = 1\nlevel = {}\n",
    v2: 'x = 0\n\n[level]\n# the root logger\nroot = "info"\n\n[level.modules]\ndb = "warn"\n',
    merged: 'x = 1\n\n[level]\n# the root logger\nroot = "info"\n\n[level.modules]\ndb = "warn"\n',
  },
  {
    what: "TOML: an empty array the release writes as [[blocks]] and fills",
    v1: "x = 0\nendpoints = []\n",
    edited: "x = 1\nendpoints = []\n",
    v2: 'x = 0\n\n# one block per backend\n[[endpoints]]\nname = "a"\n# seconds\ntimeout = 5\n',
    merged: 'x = 1\n\n# one block per backend\n[[endpoints]]\nname = "a"\n# seconds\ntimeout = 5\n',
  },
].map((story) => ({ ...story, action: "merge_toml", file: "config.toml" }));

const cases = [...yaml, ...json, ...toml];

describe("an empty collection of the operator's that the release fills", () => {
  const merged = updateMergedFilesOnce(cases);

  for (const [i, { what, merged: expected }] of cases.entries()) {
    it(`${what}: comes in the release's form`, async () => {
      const { run, read } = await merged();
      expect(run.code, run.stderr).toBe(0);
      expect(await read(i)).toBe(expected);
    });
  }

  it("says nothing of a comment moved or lost", async () => {
    const { run } = await merged();
    expect(run.stderr).not.toMatch(/WARNING/);
  });
});
