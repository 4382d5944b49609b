/**
 * Through the real CLI: a YAML list item the operator annotated with an aligned comment (`- 1  # one`)
 * that the release turns into a mapping, a list or a flow collection (`- x: 1`, `- - 1`, `- [1, 2]`)
 * goes with its comment, as a dropped item's comments do; the spaces set before that comment went
 * into the new item (`- x:  1`, `- -  1`, `- [1,   2]`). A release comment on the new item keeps the
 * operator's column.
 */
import { describe, expect, it } from "vitest";
import { updateMergedFilesOnce } from "./local-app.js";

const cases = [
  {
    what: "a scalar item turned into a mapping",
    v1: "x: 0\nl:\n  - 1  # one\n  - 2\n",
    v2: "x: 0\nl:\n  - x: 1\n  - 2\n",
    merged: "x: 1\nl:\n  - x: 1\n  - 2\n",
  },
  {
    what: "a scalar item turned into a list",
    v1: "x: 0\nl:\n  - 1  # one\n  - 2\n",
    v2: "x: 0\nl:\n  - - 1\n    - 3\n  - 2\n",
    merged: "x: 1\nl:\n  - - 1\n    - 3\n  - 2\n",
  },
  {
    what: "a scalar item turned into a flow list",
    v1: "x: 0\nl:\n  - 1   # one\n",
    v2: "x: 0\nl:\n  - [1, 2]\n",
    merged: "x: 1\nl:\n  - [1, 2]\n",
  },
  {
    what: "a scalar item turned into a flow mapping",
    v1: "x: 0\nl:\n  - 1  # one\n",
    v2: "x: 0\nl:\n  - {x: 1}\n",
    merged: "x: 1\nl:\n  - {x: 1}\n",
  },
  {
    what: "a scalar item turned into a mapping with a comment of the release's",
    v1: "x: 0\nl:\n  - 1  # one\n",
    v2: "x: 0\nl:\n  - x: 1  # new\n",
    merged: "x: 1\nl:\n  - x: 1  # new\n",
  },
].map((story) => ({
  ...story,
  action: "merge_yaml",
  file: "config.yaml",
  edited: story.v1.replace("x: 0", "x: 1"),
}));

describe("a YAML list item with an aligned comment that the release gives another shape", () => {
  const merged = updateMergedFilesOnce(cases);

  for (const [i, { what, merged: expected }] of cases.entries()) {
    it(`${what}: no spaces of the comment left in it`, async () => {
      const { run, read } = await merged();
      expect(run.code, run.stderr).toBe(0);
      expect(await read(i)).toBe(expected);
    });
  }
});
