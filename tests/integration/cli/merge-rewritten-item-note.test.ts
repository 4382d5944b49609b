/**
 * A YAML list item the release keeps, other than the first, kept the note above it as the operator's
 * copy had it even when that note was still the previous release's and the release rewrote it: the
 * new note was lost, the stale one stayed. A key's note works so already (yaml-shipped-comments.ts);
 * a list item's now does too, for scalar items and mapping items alike, and a note the operator
 * wrote themselves still wins.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type LocalApp, localApp, updateOverEdits } from "./local-app.js";

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
  let app: LocalApp;
  beforeEach(async () => {
    app = await localApp();
  });
  afterEach(() => app.cleanup());

  for (const { name, v1, mine, v2, merged } of cases) {
    it(`${name}: the release's rewrite comes where the operator left the old note as shipped`, async () => {
      const manifest = (version: string) =>
        `version: "${version}"\nfiles:\n  "config.yaml": { action: merge_yaml }\n`;
      const { read } = await updateOverEdits(app, manifest, {
        v1: { "config.yaml": v1 },
        edited: { "config.yaml": mine },
        v2: { "config.yaml": v2 },
      });
      expect(await read("config.yaml")).toBe(merged);
    });
  }
});
