/**
 * A list item the release moves and changes keeps the user's spacing on its changed line: `port: 1
 * # ops: a` (the comment set apart by the user) came back `port: 5 # ops: a` in the library's
 * spacing, with no word, where the same change to an item left in place keeps the user's spacing
 * (README: a line the merge changed keeps your spacing around the new value, also where the release
 * moves the item).
 */
import { describe, expect, it } from "vitest";
import { mergeConfigFile } from "../../../agent/merge/index.js";

const merge = (base: string, current: string, incoming: string) =>
  mergeConfigFile({ format: "yaml", fileName: "c.yaml", base, current, incoming, strategy: "preserve_user" });

describe("a changed line of a list item the release moved", () => {
  const base = "list:\n  - name: a\n    port: 1\n  - name: b\n    port: 2\n";
  const current = "list:\n  - name: a\n    port: 1      # ops: a\n  - name: b\n    port: 2   # ops: b\n";

  it("keeps the user's spacing before its comment", () => {
    const result = merge(base, current, "list:\n  - name: b\n    port: 2\n  - name: a\n    port: 5\n");
    expect(result.text).toBe(
      "list:\n  - name: b\n    port: 2   # ops: b\n  - name: a\n    port: 5      # ops: a\n",
    );
    expect(result.warnings).toEqual([]);
  });

  it("as it does for the same change to an item left in place", () => {
    const result = merge(base, current, "list:\n  - name: a\n    port: 5\n  - name: b\n    port: 2\n");
    expect(result.text).toBe(
      "list:\n  - name: a\n    port: 5      # ops: a\n  - name: b\n    port: 2   # ops: b\n",
    );
  });
});
