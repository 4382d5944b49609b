/**
 * A note the previous release shipped on a list item the release keeps, left as shipped, that the
 * release rewrote: the YAML note above an item now takes the release's words (3b14b1af), but the
 * neighbouring forms still keep the previous release's stale note and lose the new one — a YAML note
 * after the item (`- b  # old note`, on any item), a YAML mapping item's notes on its keys (`- name: a
 * # old note`, which the yaml library hangs on the value, not the item), a TOML array item's note
 * above or after it, and the notes of a TOML `[[array]]` element (above its header, above or after
 * its keys). A note the operator wrote there stays theirs.
 * Met by an operator who never touched the file: the release's new notes never arrive. README: a
 * comment still as the previous release shipped it, where the release writes a new note, is the
 * release's (as a key's `port = 8080  # was 80` is).
 */
import { describe, expect, it } from "vitest";
import { updateMergedFilesOnce } from "./local-app.js";

const cases = [
  {
    what: "YAML, after the second item",
    action: "merge_yaml",
    file: "config.yaml",
    v1: "hosts:\n  - a\n  - b  # old note\n",
    v2: "hosts:\n  - a\n  - b  # new note\n  - c\n",
  },
  {
    what: "YAML, after the first item",
    action: "merge_yaml",
    file: "config.yaml",
    v1: "hosts:\n  - a  # old note\n  - b\n",
    v2: "hosts:\n  - a  # new note\n  - b\n  - c\n",
  },
  // A mapping item's notes: the yaml library hangs them on the value or key inside the item.
  {
    what: "YAML, after a mapping item's first key",
    action: "merge_yaml",
    file: "config.yaml",
    v1: "servers:\n  - name: a  # old note\n    port: 1\n  - name: b\n    port: 2\n",
    v2: "servers:\n  - name: a  # new note\n    port: 1\n  - name: b\n    port: 2\n  - name: c\n    port: 3\n",
  },
  {
    what: "YAML, after a mapping item's second key",
    action: "merge_yaml",
    file: "config.yaml",
    v1: "servers:\n  - name: a\n    port: 1\n  - name: b\n    port: 2  # old note\n",
    v2: "servers:\n  - name: a\n    port: 1\n  - name: b\n    port: 2  # new note\n  - name: c\n    port: 3\n",
  },
  {
    what: "YAML, above a mapping item's second key",
    action: "merge_yaml",
    file: "config.yaml",
    v1: "servers:\n  - name: a\n    # old note\n    port: 1\n  - name: b\n    port: 2\n",
    v2: "servers:\n  - name: a\n    # new note\n    port: 1\n  - name: b\n    port: 2\n  - name: c\n    port: 3\n",
  },
  {
    what: "YAML, after a flow mapping item",
    action: "merge_yaml",
    file: "config.yaml",
    v1: "servers:\n  - {name: a}  # old note\n  - {name: b}\n",
    v2: "servers:\n  - {name: a}  # new note\n  - {name: b}\n  - {name: c}\n",
  },
  {
    what: "YAML, after an item of a list inside a mapping item",
    action: "merge_yaml",
    file: "config.yaml",
    v1: "servers:\n  - name: a\n    tags:\n      - x  # old note\n  - name: b\n",
    v2: "servers:\n  - name: a\n    tags:\n      - x  # new note\n  - name: b\n  - name: c\n",
  },
  {
    what: "TOML, above the second item",
    action: "merge_toml",
    file: "config.toml",
    v1: 'hosts = [\n  "a",\n  # old note\n  "b",\n]\n',
    v2: 'hosts = [\n  "a",\n  # new note\n  "b",\n  "c",\n]\n',
  },
  {
    what: "TOML, after the second item",
    action: "merge_toml",
    file: "config.toml",
    v1: 'hosts = [\n  "a",\n  "b", # old note\n]\n',
    v2: 'hosts = [\n  "a",\n  "b", # new note\n  "c",\n]\n',
  },
  {
    what: "YAML, above the first item",
    action: "merge_yaml",
    file: "config.yaml",
    v1: "hosts:\n  # old note\n  - a\n  - b\n",
    v2: "hosts:\n  # new note\n  - a\n  - b\n  - c\n",
  },
  {
    what: "TOML, above the first item",
    action: "merge_toml",
    file: "config.toml",
    v1: 'hosts = [\n  # old note\n  "a",\n  "b",\n]\n',
    v2: 'hosts = [\n  # new note\n  "a",\n  "b",\n  "c",\n]\n',
  },
  {
    what: "TOML, after the first item",
    action: "merge_toml",
    file: "config.toml",
    v1: 'hosts = [\n  "a", # old note\n  "b",\n]\n',
    v2: 'hosts = [\n  "a", # new note\n  "b",\n  "c",\n]\n',
  },
  {
    what: "TOML [[array]], above an element's key",
    action: "merge_toml",
    file: "config.toml",
    v1: '[[servers]]\n# old note\nname = "a"\n\n[[servers]]\nname = "b"\n',
    v2: '[[servers]]\n# new note\nname = "a"\n\n[[servers]]\nname = "b"\n\n[[servers]]\nname = "c"\n',
  },
  {
    what: "TOML [[array]], above an element's header",
    action: "merge_toml",
    file: "config.toml",
    v1: '[[servers]]\nname = "a"\n\n# old note\n[[servers]]\nname = "b"\n',
    v2: '[[servers]]\nname = "a"\n\n# new note\n[[servers]]\nname = "b"\n\n[[servers]]\nname = "c"\n',
  },
  {
    what: "TOML [[array]], after an element's key",
    action: "merge_toml",
    file: "config.toml",
    v1: '[[servers]]\nname = "a"  # old note\n\n[[servers]]\nname = "b"\n',
    v2: '[[servers]]\nname = "a"  # new note\n\n[[servers]]\nname = "b"\n\n[[servers]]\nname = "c"\n',
  },
];

describe("a shipped note on a kept list item that the release rewrote", () => {
  // Every case in one app, once: case n's untouched copy is story 2n, the operator's note 2n + 1.
  const merged = updateMergedFilesOnce(
    cases.flatMap((story) => [story, { ...story, edited: story.v1.replace("# old note", "# ops note") }]),
  );

  for (const [n, { what }] of cases.entries()) {
    it(`${what}: the untouched copy takes the release's note`, async () => {
      const text = await (await merged()).read(2 * n);
      expect(text).toContain("# new note");
      expect(text).not.toContain("# old note");
      expect(text).toContain("c");
    });

    it(`${what}: a note the operator wrote there stays theirs`, async () => {
      const text = await (await merged()).read(2 * n + 1);
      expect(text).toContain("# ops note");
      expect(text).not.toContain("# old note");
      expect(text).toContain("c");
    });
  }
});
