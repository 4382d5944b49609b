/**
 * YAML keys that are not strings are named as the file writes them. In a `%YAML 1.1` file `on:` (a
 * GitHub Actions workflow's trigger) is the boolean true: the key report said `true.push`, a
 * `merge_strategies` section `on` named no key, and a rebuilt file wrote `"true":`. `1` and `1.0`
 * are two keys (an integer and a float), as the merge treats them as values.
 */
import { describe, expect, it } from "vitest";
import { mergeConfigFile } from "../../../agent/merge/index.js";
import type { SectionStrategy } from "../../../shared/manifest/schema.js";

const merge = (
  current: string,
  incoming: string,
  base?: string,
  sections?: Record<string, SectionStrategy>,
) =>
  mergeConfigFile({
    format: "yaml",
    fileName: "ci.yaml",
    current,
    incoming,
    strategy: "preserve_user",
    ...(base === undefined ? {} : { base }),
    ...(sections === undefined ? {} : { sections }),
  });

describe("YAML keys are named as written", () => {
  const v1 = "%YAML 1.1\n---\nname: ci\non:\n  push: main\n";
  const v2 = "%YAML 1.1\n---\nname: ci\non:\n  push: main\n  pr: all\nextra: 1\n";

  it("a YAML 1.1 `on:` is `on` in the key report, not `true`", () => {
    const result = merge(v1.replace("push: main", "push: dev"), v2, v1);
    expect(result.text).toBe("%YAML 1.1\n---\nname: ci\non:\n  push: dev\n  pr: all\nextra: 1\n");
    expect(result.kept).toEqual(["on.push"]);
    expect(result.added).toEqual(["on.pr", "extra"]);
    expect(result.warnings).toEqual([]);
  });

  it("a section named `on` is the key `on:` (no WARNING that it names no key)", () => {
    const result = merge(v1.replace("push: main", "push: dev"), v2, v1, { on: "replace" });
    expect(result.text).toBe("%YAML 1.1\n---\nname: ci\non:\n  push: main\n  pr: all\nextra: 1\n");
    expect(result.updated).toEqual(["on.push"]);
    // Not that it names no key: only that the user's on.push went, the section named `on`.
    expect(result.warnings).toEqual([
      `the merge_strategies section "on" (replace) took the release's values over your changes to the key on.push (changed, added or deleted since the previous release's copy); your copy is in this update's backup (ship --list-backups); to keep such a value, list it in preserve_keys or use preserve_user`,
    ]);
  });

  it("`1` and `1.0` are two keys: a release's change to either is merged and named", () => {
    const base = "codes:\n  1: one\n  1.0: onefloat\n  2: two\n";
    const result = merge(base.replace("2: two", "2: mine"), base.replace("1: one", "1: uno"), base);
    expect(result.text).toBe("codes:\n  1: uno\n  1.0: onefloat\n  2: mine\n");
    expect(result.updated).toEqual(["codes.1"]);
    expect(result.kept).toEqual(["codes.2"]);
    expect(result.warnings).toEqual([]);
    const float = merge(base, base.replace("1.0: onefloat", "1.0: two"), base);
    expect(float.text).toBe("codes:\n  1: one\n  1.0: two\n  2: two\n");
    expect(float.updated).toEqual(['codes."1.0"']);
  });

  it("a file rebuilt from values keeps its keys' spellings and types and its %YAML directive", () => {
    // Keys reading alike (`1` and '1') leave no edit in place that gives the merged values.
    const base = "%YAML 1.1\n---\non: a\n1: x\n'1': y\n2.0: z\n";
    const result = merge(base, `${base.replace("y", "w")}b: 1\n`, base);
    expect(result.warnings[0]).toMatch(/^rewrote the whole file from values/);
    // Keys in the order JavaScript keeps them (integer-like first); written as the file wrote them.
    expect(result.text).toBe('%YAML 1.1\n---\n"1": w\non: a\n2.0: z\nb: 1\n');
  });

  it("two keys that read as one value are a duplicate named with both spellings", () => {
    expect(() => merge("%YAML 1.1\n---\non: 1\nyes: 2\n", "on: 1\n")).toThrow(
      'ci.yaml:4:1 cannot merge: the server\'s copy does not parse: the key "yes" is the key "on" on line 3 written again (both read as true); remove one',
    );
    expect(() => merge("x: {1.0: a, 1.00: b}\n", "x: {}\n")).toThrow(
      'ci.yaml:1:13 cannot merge: the server\'s copy does not parse: the key "1.00" is the key "1.0" at column 5 of that line written again (both read as 1); remove one',
    );
  });
});
