/**
 * An alias, or a `<<` merge key, inside a value the release removes, whose anchor goes too (the
 * release dropped both the anchored `defaults:` and the `ref:`/`dev:` that used it). Nothing is kept
 * of either, and the merged file is right; but the merge said, in a WARNING on the terminal and in
 * the log, "the alias *first at ref was expanded into its own copy, to keep its value while the
 * anchored value changed" (and likewise for `<<`): a copy that is in no way in the file, of a key
 * the same run reports as removed. README: the alias gets its own copy (WARNING) where it stays;
 * lines of a value the release removed are not named as rewritten (5e39cecd), and the same holds
 * for what is expanded.
 */
import { describe, expect, it } from "vitest";
import { mergeConfigFile } from "../../../agent/merge/index.js";

const merge = (base: string, incoming: string, current = base) =>
  mergeConfigFile({ format: "yaml", fileName: "c.yaml", base, current, incoming, strategy: "preserve_user" });

describe("an alias the release removes with its anchor", () => {
  it("a key holding only the alias: removed, no WARNING of a copy kept", () => {
    const result = merge("old:\n  - &first {n: 1}\nref: *first\nx: 1\n", "x: 1\ny: 2\n");
    expect(result.text).toBe("x: 1\ny: 2\n");
    expect(result.warnings).toEqual([]);
  });

  it("a list item holding the alias, in a list the release drops the item from", () => {
    const base = "defaults: &d {pool: 5}\nenvs:\n  - name: dev\n  - *d\nx: 1   # mine\n";
    const result = merge(base, "envs:\n  - name: dev\nx: 1   # mine\n");
    expect(result.text).toBe("envs:\n  - name: dev\nx: 1   # mine\n");
    expect(result.warnings).toEqual([]);
  });

  it("a mapping merging it with <<, removed too: no WARNING of keys expanded", () => {
    const base = "defaults:\n  db: &db\n    pool: 5\ndev:\n  <<: *db\n  name: dev\nx: 1\n";
    const result = merge(base, "x: 1\n");
    expect(result.text).toBe("x: 1\n");
    expect(result.warnings).toEqual([]);
  });
});

describe("an alias the release removes with its anchor, elsewhere (the same kind)", () => {
  it("a nested key holding the alias, removed with its parent", () => {
    const base = "defaults: &d {pool: 5}\nold:\n  db:\n    conf: *d\nx: 1\n";
    const result = merge(base, "x: 1\n");
    expect(result.text).toBe("x: 1\n");
    expect(result.removed).toEqual(["defaults", "old"]);
    expect(result.warnings).toEqual([]);
  });

  it("an item of a flow list holding the alias, dropped by the release", () => {
    const base = "defaults: &d {pool: 5}\nenvs: [{name: dev}, *d]\nx: 1\n";
    const result = merge(base, "envs: [{name: dev}]\nx: 1\n");
    expect(result.text).toBe("envs: [{name: dev}]\nx: 1\n");
    expect(result.warnings).toEqual([]);
  });

  it("an alias that stays is still said to be expanded, its copy being in the merged file", () => {
    const base = "old: &first {n: 1}\nref: *first\nx: 1\n";
    const result = merge(base, "ref: {n: 1}\nx: 1\n");
    expect(result.text).toBe("ref: {n: 1}\nx: 1\n");
    expect(result.warnings).toEqual([
      "the alias *first at ref was expanded into its own copy, to keep its value while the anchored value changed",
    ]);
  });

  it("a list item holding the alias, kept by the release (as a copy of the user's item): still said", () => {
    const base = "defaults: &d {pool: 5}\nenvs:\n  - name: dev\n  - *d\nx: 1\n";
    const incoming = "envs:\n  - name: dev\n  - {pool: 5}\n  - name: prod\nx: 1\n";
    const result = merge(base, incoming);
    expect(result.text).toBe(incoming);
    expect(result.warnings).toEqual([
      "the alias *d at envs was expanded into its own copy, to keep its value while the anchored value changed",
    ]);
  });
});
