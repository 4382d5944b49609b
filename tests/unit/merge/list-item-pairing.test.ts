/**
 * A changed mapping item of a YAML list, and a changed inline table of a TOML array, is the user's
 * item it is by the rule `[[array]]` elements follow (toml-element-pairing.ts): a key naming one
 * item on each side (name, id, key, or another such as mypy's `module` or a router's `path`), else
 * place in lists of one length, else likeness. They paired by name/id/key only, so a release that
 * added or dropped an item in a list keyed otherwise dropped the user's comments in the item it
 * changed (named in a WARNING) where the same file as `[[array]]` kept them.
 */
import { describe, expect, it } from "vitest";
import { mergeConfigFile } from "../../../agent/merge/index.js";

const merge = (format: "yaml" | "toml" | "json", base: string, current: string, incoming: string) =>
  mergeConfigFile({ format, fileName: `c.${format}`, base, current, incoming, strategy: "preserve_user" });

describe("a YAML list of mappings", () => {
  const item = (key: string, v: string, strict: string) => `  - ${key}: ${v}\n    strict: ${strict}\n`;
  for (const key of ["module", "path", "name"]) {
    it(`keyed by ${key}: the release adds an item first and changes the user's commented one`, () => {
      const base = `overrides:\n${item(key, "a", "true")}${item(key, "b", "false")}`;
      const current = base.replace(
        `  - ${key}: b\n    strict: false\n`,
        `  - ${key}: b\n    # ops: b vendored\n    strict: false   # keep lax\n`,
      );
      const incoming = `overrides:\n${item(key, "c", "true")}${item(key, "a", "true")}${item(key, "b", "false")}    ignore: true\n`;
      const result = merge("yaml", base, current, incoming);
      expect(result.text).toBe(
        `overrides:\n${item(key, "c", "true")}${item(key, "a", "true")}  - ${key}: b\n    # ops: b vendored\n    strict: false   # keep lax\n    ignore: true\n`,
      );
      expect(result.warnings).toEqual([]);
    });
  }

  it("with no key naming items: a dropped item's neighbour keeps its own comments (likeness, not place)", () => {
    const base =
      "backends:\n  - port: 1\n    weight: 1\n  - port: 2\n    weight: 2\n  - port: 3\n    weight: 3\n";
    const current = base.replace("  - port: 3\n", "  # ops: the api\n  - port: 3   # mine\n");
    const incoming = "backends:\n  - port: 1\n    weight: 1\n  - port: 3\n    weight: 30\n";
    const result = merge("yaml", base, current, incoming);
    expect(result.text).toBe(
      "backends:\n  - port: 1\n    weight: 1\n  # ops: the api\n  - port: 3   # mine\n    weight: 30\n",
    );
    expect(result.warnings).toEqual([]);
  });
});

describe("a TOML array of inline tables, one per line", () => {
  for (const key of ["module", "path", "name"]) {
    it(`keyed by ${key}: the release adds an item first and changes the user's commented one`, () => {
      const item = (v: string, rest: string) => `  { ${key} = "${v}", strict = ${rest} },\n`;
      const base = `overrides = [\n${item("a", "true")}${item("b", "false")}]\n`;
      const current = `overrides = [\n${item("a", "true")}  # ops: b vendored\n${item("b", "false").replace(",\n", ",  # keep lax\n")}]\n`;
      const incoming = `overrides = [\n${item("c", "true")}${item("a", "true")}${item("b", "false, ignore = true")}]\n`;
      const result = merge("toml", base, current, incoming);
      expect(result.text).toBe(
        `overrides = [\n${item("c", "true")}${item("a", "true")}  # ops: b vendored\n${item("b", "false, ignore = true").replace(",\n", ",  # keep lax\n")}]\n`,
      );
      expect(result.warnings).toEqual([]);
    });
  }
});

describe("an identity key holding a float a double does not hold", () => {
  // 0.1 and 0.10000000000000001 read as one double: the ids named nothing, the items paired by
  // place, and the comment in the item the release changed went, as if the release replaced it.
  const [one, more] = ["0.1", "0.10000000000000001"];

  it("YAML: the release reorders the items and changes one; each keeps its own comment", () => {
    const item = (id: string, x: string) => `  - id: ${id}\n    x: ${x}\n`;
    const base = `r:\n${item(one, "1")}${item(more, "2")}`;
    const current = `r:\n${item(one, "1   # mine")}${item(more, "2   # mine too")}`;
    const result = merge("yaml", base, current, `r:\n${item(more, "3")}${item(one, "1")}`);
    expect(result.text).toBe(`r:\n${item(more, "3   # mine too")}${item(one, "1   # mine")}`);
    expect(result.warnings).toEqual([]);
  });

  it("YAML: a changed item's note left as shipped is the release's new note, found by the exact id", () => {
    const item = (id: string, x: string) => `  - id: ${id}\n    x: ${x}\n`;
    const base = `r:\n${item(more, "2   # shipped: two")}${item(one, "1   # shipped: one")}`;
    const incoming = `r:\n${item(one, "1   # shipped: one")}${item(more, "3   # shipped: three")}`;
    const result = merge("yaml", base, base, incoming);
    expect(result.text).toBe(incoming);
    expect(result.warnings).toEqual([]);
  });

  it("JSON: the release reorders the objects and adds one; each keeps its own number spellings", () => {
    const item = (id: string, x: string) => `{"id": ${id}, "x": ${x}}`;
    const base = `{"r": [${item(one, "1.5")}, ${item(more, "1.5")}]}\n`;
    const current = `{"r": [${item(one, "1.50")}, ${item(more, "1.5")}]}\n`;
    const incoming = `{"r": [${item(more, "1.5")}, ${item(one, "1.5")}, ${item("3", "1")}]}\n`;
    const result = merge("json", base, current, incoming);
    // Paired as one double, the user's `1.50` went to the other object.
    expect(result.text).toBe(`{"r": [${item(more, "1.5")}, ${item(one, "1.50")}, ${item("3", "1")}]}\n`);
    expect(result.warnings).toEqual([]);
  });

  it("TOML inline tables: the release reorders the items and changes one; each keeps its own comment", () => {
    const item = (id: string, x: string) => `  { id = ${id}, x = ${x} },\n`;
    const base = `r = [\n${item(one, "1")}${item(more, "2")}]\n`;
    const current = `r = [\n${item(one, "1").replace(",\n", ",  # mine\n")}${item(more, "2").replace(",\n", ",  # mine too\n")}]\n`;
    const result = merge("toml", base, current, `r = [\n${item(more, "3")}${item(one, "1")}]\n`);
    expect(result.text).toBe(
      `r = [\n${item(more, "3").replace(",\n", ",  # mine too\n")}${item(one, "1").replace(",\n", ",  # mine\n")}]\n`,
    );
    expect(result.warnings).toEqual([]);
  });
});
