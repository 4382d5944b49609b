/**
 * A comment the operator wrote after a value (`a = 1  # one`) that the release turns into a table
 * (`[a]`) was written above the new header, on a line of its own, with no WARNING: the safety net
 * for lost comments compares texts alone, and the comment was still there. Every comment is kept in
 * its place or named: it is now named, with its line in the operator's copy. YAML keeps such a
 * comment on its key's line (`a:  # one` over the new mapping or list), so it needs no WARNING, and
 * writes one the release's new value carries after it once.
 */
import { describe, expect, it } from "vitest";
import { updateMergedFilesOnce } from "./local-app.js";

const MOVED = "your comments that followed a value now stand on a line of their own";

const cases = [
  {
    what: "a top-level TOML value turned into a table",
    action: "merge_toml",
    file: "config.toml",
    v1: "x = 0\ncache = 1\n",
    edited: "x = 0\ncache = 1  # ops: one node only\n",
    v2: "x = 0\n\n[cache]\nsize = 2\n",
    merged: "x = 0\n\n# ops: one node only\n[cache]\nsize = 2\n",
    named: "# ops: one node only (line 2)",
  },
  {
    what: "a TOML value in a table turned into a sub-table",
    action: "merge_toml",
    file: "config.toml",
    v1: "[server]\nport = 80\ntls = false\n",
    edited: "[server]\nport = 80\ntls = false  # ops: behind the proxy\n",
    v2: "[server]\nport = 80\n\n[server.tls]\ncert = 'a.pem'\n",
    named: "# ops: behind the proxy (line 3)",
  },
  {
    what: "a YAML value turned into a mapping",
    action: "merge_yaml",
    file: "config.yaml",
    v1: "x: 0\ncache: 1\n",
    edited: "x: 0\ncache: 1  # ops: one node only\n",
    v2: "x: 0\ncache:\n  size: 2\n",
    merged: "x: 0\ncache:    # ops: one node only\n  size: 2\n",
  },
  {
    what: "a YAML value turned into a list",
    action: "merge_yaml",
    file: "config.yaml",
    v1: "x: 0\nhosts: a\n",
    edited: "x: 0\nhosts: a  # ops: one node only\n",
    v2: "x: 0\nhosts:\n  - b\n",
    merged: "x: 0\nhosts:    # ops: one node only\n  - b\n",
  },
  // The comment on a key's line above a list (`hosts:  # ops: …`, then `- a`), which the release,
  // writing a mapping there, carries after its value: it came twice, on a line of its own and after.
  {
    what: "a YAML list on its key's line turned into a mapping carrying the same comment",
    action: "merge_yaml",
    file: "config.yaml",
    v1: "x: 0\nhosts: [a]  # ops: which hosts\n",
    edited: "x: 0\nhosts:  # ops: which hosts\n- a\n",
    v2: "x: 0\nhosts: {a: 1}  # ops: which hosts\n",
    merged: "x: 0\nhosts: {a: 1}  # ops: which hosts\n",
  },
];

describe("an operator's comment after a value the release changes in form", () => {
  const merged = updateMergedFilesOnce(cases);

  for (const [i, { what, merged: expected, named }] of cases.entries()) {
    it(`${what}: kept on its line, or named in a WARNING`, async () => {
      const { run, path, read } = await merged();
      const text = await read(i);
      expect(text.split("ops: ")).toHaveLength(2);
      if (expected !== undefined) expect(text).toBe(expected);
      const warning = run.stderr
        .split("\n")
        .find((line) => line.startsWith(`myapp: WARNING: merge of ${path(i)}: ${MOVED}`));
      if (named === undefined) expect(warning).toBeUndefined();
      else
        expect(warning).toMatch(
          new RegExp(`^myapp: WARNING: merge of .*: ${MOVED} \\(.*\\): ${named.replace(/[()]/g, "\\$&")}$`),
        );
    });
  }
});
