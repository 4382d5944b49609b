/**
 * A list item the release moves and changes keeps the user's spacing on its changed line: `port: 1
 * # ops: a` (the comment set apart by the user) came back `port: 5 # ops: a` in the library's
 * spacing, with no word, where the same change to an item left in place keeps the user's spacing
 * (README: a line the merge changed keeps your spacing around the new value, also where the release
 * moves the item). The layout comes only from the line under the same item in the user's copy: a
 * first fix looked it up by key and comment file-wide and gave in-place changes other lines' spacing.
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

  it("takes the layout of its own item's line, not of a like line in another item", () => {
    // Both items hold `port:` with the same comment, spaced differently: each keeps its own.
    const base2 = "list:\n  - name: a\n    port: 1\n  - name: b\n    port: 2\n  - name: c\n    port: 3\n";
    const current2 =
      "list:\n  - name: a\n    port: 1         # ops\n  - name: b\n    port: 2  # ops\n  - name: c\n    port: 3\n";
    const result = merge(
      base2,
      current2,
      "list:\n  - name: c\n    port: 3\n  - name: b\n    port: 7\n  - name: a\n    port: 8\n",
    );
    expect(result.text).toBe(
      "list:\n  - name: c\n    port: 3\n  - name: b\n    port: 7  # ops\n  - name: a\n    port: 8         # ops\n",
    );
    expect(result.warnings).toEqual([]);
  });

  it("keeps the spacing on several changed lines of the moved item, its nested mapping too", () => {
    const base3 = "svc:\n  - name: a\n    port: 1\n    tls:\n      mode: off\n  - name: b\n    port: 2\n";
    const current3 =
      "svc:\n  - name: a\n    port:   1    # p\n    tls:\n      mode: off     # t\n  - name: b\n    port: 2\n";
    const result = merge(
      base3,
      current3,
      "svc:\n  - name: b\n    port: 2\n  - name: a\n    port: 9\n    tls:\n      mode: on\n",
    );
    expect(result.text).toBe(
      "svc:\n  - name: b\n    port: 2\n  - name: a\n    port:   9    # p\n    tls:\n      mode: on      # t\n",
    );
    expect(result.warnings).toEqual([]);
  });
});

describe("a list item on one line the release moved and changed", () => {
  const base = "list:\n  - {name: a, port: 1}\n  - {name: b, port: 2}\n";
  const current = "list:\n  - {name: a, port: 1}     # ops: a\n  - {name: b, port: 2}\n";

  it("keeps the user's spacing before its comment", () => {
    const result = merge(base, current, "list:\n  - {name: b, port: 2}\n  - {name: a, port: 5}\n");
    expect(result.text).toBe("list:\n  - {name: b, port: 2}\n  - {name: a, port: 5}     # ops: a\n");
    expect(result.warnings).toEqual([]);
  });

  it("as the same change in place does", () => {
    const result = merge(base, current, "list:\n  - {name: a, port: 5}\n  - {name: b, port: 2}\n");
    expect(result.text).toBe("list:\n  - {name: a, port: 5}     # ops: a\n  - {name: b, port: 2}\n");
  });
});
