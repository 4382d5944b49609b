/**
 * A list whose values neither the operator nor the release changed, where the release rewrote a note
 * the operator left as the previous release shipped it: the stale note stayed, because a merge edited
 * only what changed, while the same note on a list the release changed takes the release's words
 * (merge-list-item-notes-rewritten.test.ts). Met by an operator who never touched the list: the
 * release's new notes never arrived. A note the operator wrote stays theirs; the key report names no
 * change for the list.
 */
import { describe, expect, it } from "vitest";
import { updateMergedFilesOnce } from "./local-app.js";

const cases = [
  {
    what: "TOML array, a note after an item",
    action: "merge_toml",
    file: "config.toml",
    v1: 'port = 1\nhosts = [\n  "a",\n  "b", # old note\n]\n',
    v2: 'port = 1\nhosts = [\n  "a",\n  "b", # new note\n]\n',
  },
  {
    what: "TOML array, a note above an item",
    action: "merge_toml",
    file: "config.toml",
    v1: 'port = 1\nhosts = [\n  "a",\n  # old note\n  "b",\n]\n',
    v2: 'port = 1\nhosts = [\n  "a",\n  # new note\n  "b",\n]\n',
  },
  {
    what: "TOML [[array]], a note in an element",
    action: "merge_toml",
    file: "config.toml",
    v1: 'port = 1\n\n[[servers]]\nname = "a"  # old note\n\n[[servers]]\nname = "b"\n',
    v2: 'port = 1\n\n[[servers]]\nname = "a"  # new note\n\n[[servers]]\nname = "b"\n',
  },
  {
    what: "YAML list, a note after an item",
    action: "merge_yaml",
    file: "config.yaml",
    v1: "port: 1\nhosts:\n  - a\n  - b  # old note\n",
    v2: "port: 1\nhosts:\n  - a\n  - b  # new note\n",
  },
  {
    what: "YAML list, a note in a mapping item",
    action: "merge_yaml",
    file: "config.yaml",
    v1: "port: 1\nservers:\n  - name: a  # old note\n    port: 1\n  - name: b\n",
    v2: "port: 1\nservers:\n  - name: a  # new note\n    port: 1\n  - name: b\n",
  },
];

describe("a shipped note on a list neither side changed, rewritten by the release", () => {
  const operatorsValue = (text: string) => text.replace(/port( =|:) 1\n/, "port$1 9\n");
  const operatorsNote = (text: string) => text.replace("# old note", "# ops note");
  // Every case in one app, once: case n's untouched copy is story 3n, with the operator's value
  // 3n + 1, with the operator's note 3n + 2.
  const merged = updateMergedFilesOnce(
    cases.flatMap((story) => [
      story,
      { ...story, edited: operatorsValue(story.v1) },
      { ...story, edited: operatorsNote(story.v1) },
    ]),
  );

  for (const [n, { what, v1, v2 }] of cases.entries()) {
    it(`${what}: the untouched copy takes the release's note, no key reported changed`, async () => {
      const { run, path, read } = await merged();
      expect(await read(3 * n)).toBe(v2);
      expect(run.stdout).toContain(`merged ${path(3 * n)}: 0 kept, 0 added, 0 updated, 0 removed`);
    });

    it(`${what}: with another value of the operator's, the list still takes it`, async () => {
      expect(await (await merged()).read(3 * n + 1)).toBe(operatorsValue(v2));
    });

    it(`${what}: a note the operator wrote there stays theirs, the file byte for byte`, async () => {
      expect(await (await merged()).read(3 * n + 2)).toBe(operatorsNote(v1));
    });
  }
});
