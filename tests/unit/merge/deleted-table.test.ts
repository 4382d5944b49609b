import { describe, expect, it } from "vitest";
import { mergeConfigFile } from "../../../agent/merge/index.js";

// The operator deleted a whole table (`[b]`, `b:`, `"b": {}`) and the release changes one key in
// it. A key the operator deleted stays deleted unless the release changed it, so only what the
// release changed comes back, in its table opened anew; the whole table came back before, every key
// the release left alone with it.

function merge(format: "toml" | "yaml" | "json", base: string, current: string, incoming: string) {
  return mergeConfigFile({ format, fileName: "f", base, current, incoming, strategy: "preserve_user" });
}

describe("a table the operator deleted, one key of which the release changed", () => {
  it("toml: only the changed and new keys come back, under the release's header and its comments", () => {
    const base = 'a = 1\n\n[b]\nx = 1\nkeep = "v"\n\n[b.c]\ny = 2\nz = 3\n';
    const incoming =
      '# top\na = 1\n\n# b notes\n[b]\nx = 5 # five\nkeep = "v"\nfresh = true\n\n[b.c]\ny = 2\nz = 4\n';
    const result = merge("toml", base, "a = 1\n", incoming);
    expect(result.text).toBe("a = 1\n\n# b notes\n[b]\nx = 5 # five\nfresh = true\n\n[b.c]\nz = 4\n");
    expect(result.warnings).toEqual([]);
    expect([result.kept, result.deleted]).toEqual([[], ["b.keep", "b.c.y"]]);
    expect(result.added).toEqual(["b.x", "b.fresh", "b.c.z"]);
  });

  it("toml: the table opens above the operator's footer, after their other tables", () => {
    const base = 'a = 1\n\n[s]\nk = 1\n\n[b]\nx = 1\nkeep = "v"\n';
    const current = "a = 1\n\n[s]\nk = 1\n\n# managed by ops\n";
    const incoming = 'a = 1\n\n[s]\nk = 1\n\n[b]\nx = 2\nkeep = "v"\n';
    const result = merge("toml", base, current, incoming);
    expect(result.text).toBe("a = 1\n\n[s]\nk = 1\n\n[b]\nx = 2\n\n# managed by ops\n");
    expect(result.warnings).toEqual([]);
  });

  it("toml: a table whose every key changed comes back whole, as before", () => {
    const result = merge("toml", "a = 1\n\n[b]\nx = 1\n", "a = 1\n", "a = 1\n\n[b]\nx = 2\n");
    expect(result.text).toBe("a = 1\n\n[b]\nx = 2\n");
    expect(result.added).toEqual(["b"]);
  });

  it("yaml: only the changed and new keys come back, under the release's key and its comments", () => {
    const base = "a: 1\nb:\n  x: 1\n  keep: v\n  c:\n    y: 2\n    z: 3\n";
    const incoming = "a: 1\n# b notes\nb:\n  x: 5\n  keep: v\n  fresh: true\n  c:\n    y: 2\n    z: 4\n";
    const result = merge("yaml", base, "a: 1  # mine\n", incoming);
    expect(result.text).toBe("a: 1  # mine\n# b notes\nb:\n  x: 5\n  fresh: true\n  c:\n    z: 4\n");
    expect(result.warnings).toEqual([]);
    expect([result.kept, result.deleted]).toEqual([[], ["b.keep", "b.c.y"]]);
    expect(result.added).toEqual(["b.x", "b.fresh", "b.c.z"]);
  });

  it("yaml: the release's comment above the first key of a mapping opened anew comes with that key", () => {
    // Held by the release's mapping, not its first key, it went with no word (TOML's came).
    const base = "z: 1\na:\n  b:\n    c: 1\n    d: 1\n  e: 1\n";
    const incoming = "z: 1\na:\n  # note on b\n  b:\n    # note on c\n    c: 2\n    d: 1\n  e: 1\n";
    const result = merge("yaml", base, "z: 1\n", incoming);
    expect(result.text).toBe("z: 1\na:\n  # note on b\n  b:\n    # note on c\n    c: 2\n");
    expect(result.deleted).toEqual(["a.b.d", "a.e"]);
    // Not above another key: the first one stays deleted, and the note on the key that comes stays its own.
    const second = merge(
      "yaml",
      "z: 1\na:\n  b: 1\n  e: 1\n",
      "z: 1\n",
      "z: 1\na:\n  # on b\n  b: 1\n  # on e\n  e: 2\n",
    );
    expect(second.text).toBe("z: 1\na:\n  # on e\n  e: 2\n");
  });

  it("yaml: a mapping deleted inside one the operator kept takes back only the changed key", () => {
    const base = "db:\n  host: h\n  pool:\n    size: 5\n    idle: 10\n";
    const current = "db:\n  host: mine\n";
    const incoming = "db:\n  host: h\n  pool:\n    size: 8\n    idle: 10\n";
    const result = merge("yaml", base, current, incoming);
    expect(result.text).toBe("db:\n  host: mine\n  pool:\n    size: 8\n");
    expect([result.kept, result.deleted]).toEqual([["db.host"], ["db.pool.idle"]]);
  });

  it("json: only the changed and new keys come back, in the operator's indentation", () => {
    const base = '{\n  "a": 1,\n  "b": {"x": 1, "keep": "v", "c": {"y": 2, "z": 3}}\n}\n';
    const incoming = '{"a": 1, "b": {"x": 5, "keep": "v", "fresh": true, "c": {"y": 2, "z": 4}}}\n';
    const result = merge("json", base, '{\n    "a": 1\n}\n', incoming);
    expect(result.text).toBe(
      '{\n    "a": 1,\n    "b": {\n        "x": 5,\n        "fresh": true,\n        "c": {\n            "z": 4\n        }\n    }\n}\n',
    );
    expect([result.kept, result.deleted]).toEqual([[], ["b.keep", "b.c.y"]]);
  });
});
