/**
 * A YAML list item that is itself a list of plain values (`- - a      # first`), which the release
 * changes: the item took the release's text whole, so the operator's comment on `a`, an item still
 * there unchanged, went (named in a WARNING), where a list under a key and a mapping item keep
 * theirs. Now the user's items it still holds keep their comments and spacing.
 */
import { describe, expect, it } from "vitest";
import { mergeConfigFile } from "../../../agent/merge/index.js";

const merge = (base: string, current: string, incoming: string) =>
  mergeConfigFile({ format: "yaml", fileName: "c.yaml", base, current, incoming, strategy: "preserve_user" });

describe("a list item that is a list, changed by the release, keeps the user's comments", () => {
  it("the outer list keeps its length: paired by place", () => {
    const result = merge(
      "l:\n  - - a\n    - b\n",
      "l:\n  - - a      # first\n    - b\n",
      "l:\n  - - a\n    - c\n",
    );
    expect(result.text).toBe("l:\n  - - a      # first\n    - c\n");
    expect(result.warnings).toEqual([]);
  });

  it("the release adds an outer item above it: paired by the items they share", () => {
    const result = merge(
      "l:\n  - - a\n    - b\n  - - x\n",
      "l:\n  - - a      # first\n    - b\n  - - x   # ex\n",
      "l:\n  - - q\n  - - a\n    - c\n  - - x\n",
    );
    expect(result.text).toBe("l:\n  - - q\n  - - a      # first\n    - c\n  - - x   # ex\n");
    expect(result.warnings).toEqual([]);
  });

  it("written as an indented block under `-`, a comment line above its first item too", () => {
    const result = merge(
      "l:\n  -\n    - a\n    - b\n",
      "l:\n  -\n    # top\n    - a      # first\n    - b\n",
      "l:\n  -\n    - a\n    - b\n    - c\n",
    );
    expect(result.text).toBe("l:\n  -\n    # top\n    - a      # first\n    - b\n    - c\n");
    expect(result.warnings).toEqual([]);
  });

  it("an item the release drops still takes its comment along, named", () => {
    const result = merge(
      "l:\n  - - a\n    - b\n",
      "l:\n  - - a      # first\n    - b   # second\n",
      "l:\n  - - a\n    - c\n",
    );
    expect(result.text).toBe("l:\n  - - a      # first\n    - c\n");
    expect(result.warnings).toEqual([expect.stringContaining("# second (line 3)")]);
  });
});
