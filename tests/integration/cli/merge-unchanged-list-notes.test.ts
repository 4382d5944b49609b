/**
 * A list whose values neither the operator nor the release changed, where the release rewrote a note
 * the operator left as the previous release shipped it: the stale note stayed, because a merge edited
 * only what changed, while the same note on a list the release changed takes the release's words
 * (merge-list-item-notes-rewritten.test.ts). Met by an operator who never touched the list: the
 * release's new notes never arrived. A note the operator wrote stays theirs; the key report names no
 * change for the list.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type LocalApp, localApp, updateMergedFile } from "./local-app.js";

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
  let app: LocalApp;
  beforeEach(async () => {
    app = await localApp();
  });
  afterEach(() => app.cleanup());

  for (const story of cases) {
    const { what, file, v1, v2 } = story;
    const mergedOver = (edited?: string) => updateMergedFile(app, story, edited);

    it(`${what}: the untouched copy takes the release's note, no key reported changed`, async () => {
      const { run, read } = await mergedOver();
      expect(await read(file)).toBe(v2);
      expect(run.stdout).toContain(`merged ${file}: 0 kept, 0 added, 0 updated, 0 removed`);
    });

    it(`${what}: with another value of the operator's, the list still takes it`, async () => {
      const { read } = await mergedOver(v1.replace(/port( =|:) 1\n/, "port$1 9\n"));
      expect(await read(file)).toBe(v2.replace(/port( =|:) 1\n/, "port$1 9\n"));
    });

    it(`${what}: a note the operator wrote there stays theirs, the file byte for byte`, async () => {
      const mine = v1.replace("# old note", "# ops note");
      const { read } = await mergedOver(mine);
      expect(await read(file)).toBe(mine);
    });
  }
});
