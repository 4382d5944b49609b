/**
 * An anchor inside a value the merge replaces or removes (`- &a` on a list item the release drops,
 * `db: &db` under a removed `defaults:`) while an alias or merge key elsewhere still uses it: no
 * edit in place held, so the file was rebuilt from values, every comment, anchor and style of it
 * lost. README: an alias whose anchor the release removes gets its own copy of the old value, and a
 * mapping that merges it its own copies of the keys it gave (WARNING), the rest edited in place.
 */
import { describe, expect, it } from "vitest";
import { mergeConfigFile } from "../../../agent/merge/index.js";

const merge = (base: string, incoming: string, current = base) =>
  mergeConfigFile({ format: "yaml", fileName: "c.yaml", base, current, incoming, strategy: "preserve_user" });

describe("an anchor inside a value that goes", () => {
  it("on a list item the release drops: the alias gets its own copy, the comments stay", () => {
    const base =
      "# header\nsvc:\n  - &a\n    name: a\n    port: 1\n  - name: b\nbackup: *a\nother: 1   # note\n";
    const current = base.replace("other: 1", "other: 2");
    const incoming = "# header\nsvc:\n  - name: b\nbackup:\n  name: a\n  port: 1\nother: 1   # note\n";
    const result = merge(base, incoming, current);
    expect(result.text).toBe(
      "# header\nsvc:\n  - name: b\nbackup:\n  name: a\n  port: 1\nother: 2   # note\n",
    );
    expect(result.warnings).toEqual([
      "the alias *a at backup was expanded into its own copy, to keep its value while the anchored value changed",
    ]);
  });

  it("on a list item the user's list keeps: the alias stays an alias", () => {
    const base = "svc:\n  - &a\n    name: a\n    port: 1\nbackup: *a\n";
    const incoming = "svc:\n  - name: z\n  - &a\n    name: a\n    port: 1\nbackup: *a\n";
    const result = merge(base, incoming, base.replace("svc:\n", "svc:\n  # ops: a\n"));
    expect(result.text).toBe(incoming.replace("  - &a", "  # ops: a\n  - &a"));
    expect(result.warnings).toEqual([]);
  });

  it("under a key the release removes, merged elsewhere with <<: that mapping gets its own keys", () => {
    const base = "# header\n\ndefaults:\n  db: &db\n    pool: 5\ndev:\n  <<: *db\n  name: dev   # mine\n";
    const result = merge(base, "# header\n\ndev:\n  pool: 5\n  name: dev\n");
    expect(result.text).toBe("# header\n\ndev:\n  pool: 5\n  name: dev   # mine\n");
    expect(result.warnings).toEqual([
      "the merge key (<<) of dev was expanded into its own keys, to keep the values it gave while the anchored mapping changed",
    ]);
  });
});
