/**
 * A note the previous release shipped on a list item the release keeps, left as shipped, that the
 * release rewrote: the YAML note above an item now takes the release's words (3b14b1af), but the
 * neighbouring forms still keep the previous release's stale note and lose the new one — a YAML note
 * after the item (`- b  # old note`, on any item), and a TOML array item's note above or after it.
 * Met by an operator who never touched the file: the release's new notes never arrive. README: a
 * comment still as the previous release shipped it, where the release writes a new note, is the
 * release's (as a key's `port = 8080  # was 80` is).
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type LocalApp, localApp, updateOverEdits } from "./local-app.js";

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
];

describe("a shipped note on a kept list item that the release rewrote", () => {
  let app: LocalApp;
  beforeEach(async () => {
    app = await localApp();
  });
  afterEach(() => app.cleanup());

  for (const { what, action, file, v1, v2 } of cases) {
    it(`${what}: the untouched copy takes the release's note`, async () => {
      const manifest = (version: string) =>
        `version: "${version}"\nfiles:\n  "${file}": { action: ${action} }\n`;
      const { read } = await updateOverEdits(app, manifest, {
        v1: { [file]: v1 },
        edited: {},
        v2: { [file]: v2 },
      });
      const merged = await read(file);
      expect(merged).toContain("# new note");
      expect(merged).not.toContain("# old note");
      expect(merged).toContain("c");
    });
  }
});
