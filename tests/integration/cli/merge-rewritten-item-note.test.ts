/**
 * A YAML list item the release keeps, other than the first, kept the note above it as the operator's
 * copy had it even when that note was still the previous release's and the release rewrote it: the
 * new note was lost, the stale one stayed. A key's note works so already (yaml-shipped-comments.ts);
 * a list item's now does too, for scalar items and mapping items alike, and a note the operator
 * wrote themselves still wins.
 */
import { describe, expect, it } from "vitest";
import { updateMergedFilesOnce } from "./local-app.js";

const cases = [
  {
    name: "a mapping item, note left as shipped",
    v1: "x: 1\nsvc:\n  - name: a\n    port: 1\n  # old note b\n  - name: b\n    port: 2\n",
    mine: "x: 2\nsvc:\n  - name: a\n    port: 1\n  # old note b\n  - name: b\n    port: 2\n",
    v2: "x: 1\nsvc:\n  - name: a\n    port: 1\n  # new note b\n  - name: b\n    port: 2\n  - name: c\n    port: 3\n",
    merged:
      "x: 2\nsvc:\n  - name: a\n    port: 1\n  # new note b\n  - name: b\n    port: 2\n  - name: c\n    port: 3\n",
  },
  {
    name: "a scalar item, note left as shipped",
    v1: "x: 1\nhosts:\n  - a\n  # old note b\n  - b\n",
    mine: "x: 2\nhosts:\n  - a\n  # old note b\n  - b\n",
    v2: "x: 1\nhosts:\n  - a\n  # new note b\n  - b\n  - c\n",
    merged: "x: 2\nhosts:\n  - a\n  # new note b\n  - b\n  - c\n",
  },
  {
    name: "a mapping item, the operator's own note",
    v1: "svc:\n  - name: a\n  # old note b\n  - name: b\n",
    mine: "svc:\n  - name: a\n  # ops: b is the canary\n  - name: b\n",
    v2: "svc:\n  - name: a\n  # new note b\n  - name: b\n  - name: c\n",
    merged: "svc:\n  - name: a\n  # ops: b is the canary\n  - name: b\n  - name: c\n",
  },
];

describe("the note above a YAML list item the release keeps", () => {
  // Every case in one app, once (updateMergedFilesOnce): case i is story i.
  const merged = updateMergedFilesOnce(
    cases.map((c) => ({ ...c, action: "merge_yaml", file: "config.yaml", edited: c.mine })),
  );

  for (const [i, { name, merged: expected }] of cases.entries()) {
    it(`${name}: the release's rewrite comes where the operator left the old note as shipped`, async () => {
      expect(await (await merged()).read(i)).toBe(expected);
    });
  }
});
