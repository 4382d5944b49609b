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

const merge = (format: "yaml" | "toml", base: string, current: string, incoming: string) =>
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
