/**
 * The comment on a key's own line above its block list or mapping (`hosts: # which hosts`) is about
 * the key. The yaml library files it with the lines above the first item, so a release replacing
 * the list, or turning it into a mapping or a single value, or dropping the user's first item, took
 * it along (a WARNING named it as gone, and the line as rewritten). It stays on the key's line now,
 * as one above a scalar value does; a note on its own line above the first item still goes with
 * that item, and one the user left as the previous release shipped it is the release's to change.
 */
import { describe, expect, it } from "vitest";
import { mergeConfigFile } from "../../../agent/merge/index.js";

const merge = (base: string, current: string, incoming: string) =>
  mergeConfigFile({ format: "yaml", fileName: "c.yaml", base, current, incoming, strategy: "preserve_user" });

const base = "hosts:\n  - a\n  - b\nz: 1\n";
const current = "hosts:    # which hosts\n  - a\n  - b\nz: 1\n";

describe("the comment on a key's line above its block collection stays with the key", () => {
  it("whatever the release writes there: another list, a mapping, a single value", () => {
    for (const [incoming, value] of [
      ["hosts:\n  - c\n  - d\n", "\n  - c\n  - d\n"],
      ["hosts:\n  x: 1\n", "\n  x: 1\n"],
      ["hosts: none\n", "\n  none\n"],
    ] as const) {
      const result = merge(base, current, `${incoming}z: 1\n`);
      expect(result.text).toBe(`hosts:    # which hosts${value}z: 1\n`);
      expect(result.warnings).toEqual([]);
      expect(result.updated).toEqual(["hosts"]);
    }
  });

  it("a release dropping the first item takes only the note above that item, and says so", () => {
    const noted = current.replace("  - a\n", "  # a is primary\n  - a\n");
    const result = merge(base, noted, "hosts:\n  - b\n  - c\nz: 1\n");
    expect(result.text).toBe("hosts:    # which hosts\n  - b\n  - c\nz: 1\n");
    expect(result.warnings).toEqual([
      "your comments are not in the merged file (they went with values the merge replaced): # a is primary (line 2)",
    ]);
  });
});
