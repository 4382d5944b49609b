/**
 * A release renaming a key the operator had changed (`a` → `b`, the comment above moving with it):
 * the merge keeps the operator's `a` under its comment, and the new `b` came with the same comment,
 * so the file held it twice (also a header over the key's own note, the release writing the header
 * alone over `b`). The comment stays with the key the merge keeps; `b` comes without it.
 */
import { describe, expect, it } from "vitest";
import { updateMergedFilesOnce } from "./local-app.js";

const cases = [
  {
    name: "a YAML header above the first key",
    action: "merge_yaml",
    file: "config.yaml",
    v1: "# myapp settings\na:\n  x: 1\n",
    edited: "# myapp settings\na:\n  x: 2\n",
    v2: "# myapp settings\nb: 1\n",
    merged: "# myapp settings\na:\n  x: 2\nb: 1\n",
  },
  {
    name: "a YAML comment above a later key",
    action: "merge_yaml",
    file: "config.yaml",
    v1: "x: 1\n# the pool size\na: 1\n",
    edited: "x: 1\n# the pool size\na: 2\n",
    v2: "x: 1\n# the pool size\nb: 1\n",
    merged: "x: 1\n# the pool size\na: 2\nb: 1\n",
  },
  {
    name: "a TOML comment above a key",
    action: "merge_toml",
    file: "config.toml",
    v1: "x = 1\n# the pool size\na = 1\n",
    edited: "x = 1\n# the pool size\na = 2\n",
    v2: "x = 1\n# the pool size\nb = 1\n",
    merged: "x = 1\n# the pool size\na = 2\nb = 1\n",
  },
  {
    name: "a TOML header above the first table",
    action: "merge_toml",
    file: "config.toml",
    v1: "# myapp settings\n[a]\nx = 1\n",
    edited: "# myapp settings\n[a]\nx = 2\n",
    v2: "# myapp settings\n[b]\ny = 1\n",
    merged: "# myapp settings\n[a]\nx = 2\n\n[b]\ny = 1\n",
  },
  // The header over the key's own note: the release writes the header alone over the new name.
  {
    name: "a YAML header over the renamed key's note",
    action: "merge_yaml",
    file: "config.yaml",
    v1: "# myapp settings\n# the database\ndb:\n  host: a\n",
    edited: "# myapp settings\n# the database\ndb:\n  host: b\n",
    v2: "# myapp settings\ndatabase:\n  host: a\n",
    merged: "# myapp settings\n# the database\ndb:\n  host: b\ndatabase:\n  host: a\n",
  },
  {
    name: "a TOML header over the renamed table's note",
    action: "merge_toml",
    file: "config.toml",
    v1: '# myapp settings\n# the database\n[db]\nhost = "a"\n',
    edited: '# myapp settings\n# the database\n[db]\nhost = "b"\n',
    v2: '# myapp settings\n[database]\nhost = "a"\n',
    merged: '# myapp settings\n# the database\n[db]\nhost = "b"\n\n[database]\nhost = "a"\n',
  },
];

describe("a key the release renamed, kept as the operator changed it", () => {
  const merged = updateMergedFilesOnce(cases);

  for (const [i, c] of cases.entries()) {
    it(`${c.name}: its comment stays with it, once`, async () => {
      const { run, read } = await merged();
      expect(run.code, run.stderr).toBe(0);
      expect(await read(i)).toBe(c.merged);
      // The operator is told the kept key may no longer be read.
      expect(run.stderr).toContain(`s${i}/${c.file}: this release no longer has`);
    });
  }
});
