/**
 * Top-level keys that share a name with Object.prototype's members (`constructor`, `toString`,
 * `__proto__`) are config keys like any other: the user's value under them is merged by the file's
 * strategy, not by whatever the prototype holds under that name.
 */
import { describe, expect, it } from "vitest";
import { mergeConfigFile } from "../../../agent/merge/index.js";
import { formats, read, write } from "./formats.js";

const doc = (entries: Record<string, unknown>): Record<string, unknown> => {
  // defineProperty, so `__proto__` is an own key and not the object's prototype.
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(entries)) {
    Object.defineProperty(out, k, { value: v, enumerable: true, writable: true, configurable: true });
  }
  return out;
};

describe.each(formats)("%s: keys named like Object.prototype's members", (format) => {
  it.each(["constructor", "toString", "valueOf", "hasOwnProperty"])(
    "preserve_user keeps the user's changed %s",
    (key) => {
      const merged = mergeConfigFile({
        format,
        fileName: `config.${format}`,
        strategy: "preserve_user",
        base: write(format, doc({ [key]: "shipped", port: 1 })),
        current: write(format, doc({ [key]: "mine", port: 1 })),
        incoming: write(format, doc({ [key]: "new default", port: 2 })),
      });
      expect(read(format, merged.text)).toEqual(doc({ [key]: "mine", port: 2 }));
      expect(merged.kept).toEqual([key]);
      expect(merged.updated).toEqual(["port"]);
    },
  );

  it("replace reports a user's `__proto__` and `constructor` keys it removes", () => {
    const merged = mergeConfigFile({
      format,
      fileName: `config.${format}`,
      strategy: "replace",
      current: write(format, doc({ ["__proto__"]: { a: 1 }, constructor: "x", port: 1 })),
      incoming: write(format, doc({ port: 2 })),
    });
    expect([...merged.removed].sort()).toEqual(["__proto__", "constructor"]);
    expect(merged.updated).toEqual(["port"]);
  });
});

// A JS object lists keys that read as array indices (HTTP codes, ports) first, in numeric order,
// whatever order the file wrote them in.
describe("JSON: keys that read as array indices keep their place", () => {
  const merge = (current: string, incoming: string, base?: string) =>
    mergeConfigFile({
      format: "json",
      fileName: "config.json",
      strategy: "preserve_user",
      current,
      incoming,
      ...(base === undefined ? {} : { base }),
    });

  it("the user's order stays when the merge changes a value, with no warning", () => {
    const base = '{"errors": {"default": "/e.html", "404": "/nf.html"}, "b": 1, "5": 1, "a": 3}';
    const current =
      '{\n  "errors": {\n    "default": "/e.html",\n    "404": "/nf.html"\n  },\n  "b": 1,\n  "5": 1,\n  "a": 3\n}\n';
    const incoming = '{"errors": {"default": "/e.html", "404": "/404.html"}, "b": 1, "5": 2, "a": 4}';
    const merged = merge(current, incoming, base);
    expect(merged.text).toBe(
      '{\n  "errors": {\n    "default": "/e.html",\n    "404": "/404.html"\n  },\n  "b": 1,\n  "5": 2,\n  "a": 4\n}\n',
    );
    expect(merged.warnings).toEqual([]);
    expect(merged.updated).toEqual(["errors.404", "5", "a"]);
  });

  it("a file on one line keeps its order too", () => {
    const merged = merge(
      '{"b": 1, "5": 1, "a": 3}\n',
      '{"b": 2, "5": 1, "a": 3}',
      '{"b": 1, "5": 1, "a": 3}',
    );
    expect(merged.text).toBe('{"b": 2, "5": 1, "a": 3}\n');
  });

  it("added keys follow the user's, in the release's order, under every strategy", () => {
    const current = '{\n  "ports": {\n    "web": 80\n  }\n}\n';
    const incoming = '{"ports": {"web": 80, "admin": 9000, "8080": 2, "443": 3}}';
    const expected =
      '{\n  "ports": {\n    "web": 80,\n    "admin": 9000,\n    "8080": 2,\n    "443": 3\n  }\n}\n';
    const added = ["ports.admin", "ports.8080", "ports.443"];
    for (const strategy of ["preserve_user", "update_only"] as const) {
      for (const base of [undefined, '{"ports": {"web": 80}}']) {
        const merged = mergeConfigFile({
          format: "json",
          fileName: "config.json",
          strategy,
          current,
          incoming,
          ...(base === undefined ? {} : { base }),
        });
        expect(merged.text).toBe(expected);
        expect(merged.added).toEqual(added);
      }
    }
  });
});

describe("YAML and TOML: new keys that read as array indices come in the release's order", () => {
  const cases = [
    {
      format: "yaml" as const,
      current: "b: 1\nports:\n  web: 80 # mine\n",
      incoming: 'b: 1\nports:\n  web: 80\n  admin: 9000\n  "8080": 2\n  443: 3\nz: 1\n10: 5\n',
      expected: 'b: 1\nports:\n  web: 80 # mine\n  admin: 9000\n  "8080": 2\n  443: 3\nz: 1\n10: 5\n',
    },
    {
      format: "toml" as const,
      current: "b = 1\n\n[ports]\nweb = 80 # mine\n",
      incoming:
        "b = 1\nz = 1\n10 = 5\n\n[ports]\nweb = 80\nadmin = 9000\n8080 = 2\n443 = 3\n\n[zz]\nx = 1\n\n[7]\nx = 2\n",
      expected:
        "b = 1\nz = 1\n10 = 5\n\n[ports]\nweb = 80 # mine\nadmin = 9000\n8080 = 2\n443 = 3\n\n[zz]\nx = 1\n\n[7]\nx = 2\n",
    },
  ];
  it.each(cases)("$format", ({ format, current, incoming, expected }) => {
    for (const base of [undefined, current.replace(" # mine", "")]) {
      const merged = mergeConfigFile({
        format,
        fileName: `config.${format}`,
        strategy: "preserve_user",
        current,
        incoming,
        ...(base === undefined ? {} : { base }),
      });
      expect(merged.text).toBe(expected);
      expect(merged.warnings).toEqual([]);
    }
  });
});

describe("YAML and TOML: the key report names keys that read as array indices in the file's order", () => {
  // Each table writes `zeta`, `404`, `200` (beside `k` where a table loses or gains those three): the report
  // named them `200`, `404`, `zeta`, as a JS object lists them, in every list.
  type Tables = [string, [string, string][]][];
  const text = (format: "yaml" | "toml", tables: Tables): string =>
    tables
      .map(([table, keys]) =>
        format === "yaml"
          ? `${table}:\n${keys.map(([k, v]) => `  ${k}: ${v}\n`).join("")}`
          : `[${table}]\n${keys.map(([k, v]) => `${k} = "${v}"\n`).join("")}`,
      )
      .join("\n");
  const three = (v: string): [string, string][] => [
    ["zeta", v],
    ["404", v],
    ["200", v],
  ];
  const k: [string, string] = ["k", "a"];
  const base: Tables = [
    ["upd", three("a")],
    ["mine", three("a")],
    ["rem", [...three("a"), k]],
    ["del", [...three("a"), k]],
    ["more", [k]],
  ];
  const user: Tables = [
    ["upd", three("a")],
    ["mine", three("u")],
    ["rem", [...three("a"), k]],
    ["del", [k]],
    ["more", [k]],
  ];
  const release: Tables = [
    ["upd", three("r")],
    ["mine", three("r")],
    ["rem", [k]],
    ["del", [...three("a"), k]],
    ["more", [k, ...three("r")]],
  ];
  it.each(["yaml", "toml"] as const)("%s", (format) => {
    const merged = mergeConfigFile({
      format,
      fileName: `config.${format}`,
      strategy: "preserve_user",
      current: text(format, user),
      incoming: text(format, release),
      base: text(format, base),
    });
    const inOrder = (table: string) => [`${table}.zeta`, `${table}.404`, `${table}.200`];
    expect(merged.updated).toEqual(inOrder("upd"));
    expect(merged.kept).toEqual(inOrder("mine"));
    expect(merged.removed).toEqual(inOrder("rem"));
    expect(merged.deleted).toEqual(inOrder("del"));
    expect(merged.added).toEqual(inOrder("more"));
    expect(merged.warnings).toEqual([]);
  });
});

describe("TOML: the key report names an inline table's members in the file's order", () => {
  it("on one line, over lines and nested", () => {
    const base = "codes = { zeta = 1, 404 = 1, 200 = 1 }\nt = {\n  n = { zeta = 1, 404 = 1 },\n}\n";
    const incoming = "codes = { zeta = 2, 404 = 2, 200 = 2 }\nt = {\n  n = { zeta = 2, 404 = 2 },\n}\n";
    const merged = mergeConfigFile({
      format: "toml",
      fileName: "config.toml",
      strategy: "preserve_user",
      current: base,
      incoming,
      base,
    });
    expect(merged.updated).toEqual(["codes.zeta", "codes.404", "codes.200", "t.n.zeta", "t.n.404"]);
  });
});
