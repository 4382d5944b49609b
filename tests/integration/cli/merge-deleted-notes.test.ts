/**
 * A note the previous release shipped on a list item, that the operator deleted, came back when the
 * release changed the list (an item dropped, added or moved): the list is written from the release's
 * text, its notes with it. The README: a shipped comment you deleted does not come back with the
 * release's value. Now it stays deleted, above an item or after it, in a YAML list and a TOML
 * array, also on the item that becomes first; a note the operator kept stays, and one the release
 * writes anew comes.
 */
import { describe, expect, it } from "vitest";
import { updateMergedFilesOnce } from "./local-app.js";

const cases = [
  {
    name: "YAML, the note above the item that becomes first",
    file: "config.yaml",
    action: "merge_yaml",
    v1: "ports:\n  - a\n  # note b\n  - b\n  - c\n",
    mine: "ports:\n  - a\n  - b\n  - c\n",
    v2: "ports:\n  # note b\n  - b\n  - c\n",
    merged: "ports:\n  - b\n  - c\n",
  },
  {
    name: "YAML, a note after an item, another kept, a new one",
    file: "config.yaml",
    action: "merge_yaml",
    v1: "ports:\n  - a # note a\n  - b # note b\n  - c\n",
    mine: "ports:\n  - a # note a\n  - b\n  - c\n",
    v2: "ports:\n  - a # note a\n  - b # note b\n  - d # new\n",
    merged: "ports:\n  - a # note a\n  - b\n  - d # new\n",
  },
  {
    name: "YAML, list items that are mappings",
    file: "config.yaml",
    action: "merge_yaml",
    v1: "svc:\n  - name: a\n  # note b\n  - name: b\n  - name: c\n",
    mine: "svc:\n  - name: a\n  - name: b\n  - name: c\n",
    v2: "svc:\n  # note b\n  - name: b\n  - name: c\n",
    merged: "svc:\n  - name: b\n  - name: c\n",
  },
  {
    name: "TOML array, one item per line",
    file: "config.toml",
    action: "merge_toml",
    v1: 'ports = [\n  "a",\n  # note b\n  "b",\n  "c", # note c\n]\n',
    mine: 'ports = [\n  "a",\n  "b",\n  "c",\n]\n',
    v2: 'ports = [\n  # note b\n  "b",\n  "c", # note c\n]\n',
    merged: 'ports = [\n  "b",\n  "c",\n]\n',
  },
];

describe("a shipped note on a list item the operator deleted", () => {
  // Every case in one app, once (updateMergedFilesOnce): case i is story i.
  const merged = updateMergedFilesOnce(cases.map((c) => ({ ...c, edited: c.mine })));

  for (const [i, { name, merged: expected }] of cases.entries()) {
    it(`${name}: stays deleted when the release changes the list`, async () => {
      expect(await (await merged()).read(i)).toBe(expected);
    });
  }
});
