import { describe, expect, it } from "vitest";
import { mergeConfigFile } from "../../../agent/merge/index.js";

describe("YAML merges keep the server copy's comments and layout", () => {
  it("edits the user's document in place and brings the release's comments for new keys", () => {
    const current = [
      "# Site settings (edited by ops)",
      "server:",
      "    port: 9090  # moved off 8080",
      "    host: 0.0.0.0",
      "",
      "# leave this alone",
      "legacy: true",
      "",
    ].join("\n");
    const incoming = [
      "server:",
      "  port: 8080",
      "  host: 0.0.0.0",
      "  # seconds before a request is dropped",
      "  timeout: 30",
      "# structured logs",
      "logging:",
      "  format: json",
      "",
    ].join("\n");
    const result = mergeConfigFile({
      format: "yaml",
      fileName: "app.yaml",
      current,
      incoming,
      strategy: "update_only",
    });
    expect(result.text).toBe(
      [
        "# Site settings (edited by ops)",
        "server:",
        "    port: 9090  # moved off 8080",
        "    host: 0.0.0.0",
        "    # seconds before a request is dropped",
        "    timeout: 30",
        "",
        "# leave this alone",
        "legacy: true",
        "# structured logs",
        "logging:",
        "    format: json",
        "",
      ].join("\n"),
    );
    expect(result.added).toEqual(["server.timeout", "logging"]);
    expect(result.warnings).toEqual([]);
  });

  it("an updated value keeps the user's comment above its key", () => {
    const base = "# how many workers\nworkers: 2\nname: app\n";
    const current = "# how many workers\nworkers: 2\nname: mine # renamed\n";
    const incoming = "workers: 4\nname: app\n";
    const result = mergeConfigFile({
      format: "yaml",
      fileName: "app.yaml",
      current,
      incoming,
      base,
      strategy: "preserve_user",
    });
    expect(result.text).toBe("# how many workers\nworkers: 4\nname: mine # renamed\n");
  });

  it("keeps unindented block sequences and long lines as the user wrote them", () => {
    const long = `note: ${"x".repeat(120)}`;
    const current = `hosts:\n- a\n- b\n${long}\n`;
    const result = mergeConfigFile({
      format: "yaml",
      fileName: "app.yaml",
      current,
      incoming: "hosts: [c]\nextra: 1\n",
      strategy: "update_only",
    });
    expect(result.text).toBe(`hosts:\n- a\n- b\n${long}\nextra: 1\n`);
  });
});

describe("YAML edge cases", () => {
  it("an empty server copy takes the release's keys and comments", () => {
    const result = mergeConfigFile({
      format: "yaml",
      fileName: "app.yaml",
      current: "",
      incoming: "# the port\nport: 80 # http\n",
      strategy: "update_only",
    });
    expect(result.text).toBe("# the port\nport: 80 # http\n");
  });

  it("an alias in the way of an edit: that one place gets its own copy of the anchor, with a warning", () => {
    const current = "# mine\nbase: &b\n  a: 1\nprod: *b\n";
    const result = mergeConfigFile({
      format: "yaml",
      fileName: "app.yaml",
      current,
      incoming: "base: {a: 1}\nprod: {a: 1, b: 2}\n",
      strategy: "update_only",
    });
    expect(result.text).toBe("# mine\nbase: &b\n  a: 1\nprod:\n  a: 1\n  b: 2\n");
    expect(result.warnings).toEqual([
      "the alias *b at prod was expanded into its own copy, to change a key inside it",
    ]);
  });

  it("a key inherited through << that must go: rebuilt from values, with a warning", () => {
    const base = "base: &b\n  a: 1\n  x: 2\nprod:\n  <<: *b\n";
    const result = mergeConfigFile({
      format: "yaml",
      fileName: "app.yaml",
      current: `# mine\n${base}`,
      incoming: "base: {a: 1, x: 2}\nprod: {a: 1}\n",
      base,
      strategy: "preserve_user",
    });
    expect(result.removed).toEqual(["prod.x"]);
    expect(result.text).toBe("base:\n  a: 1\n  x: 2\nprod:\n  a: 1\n");
    expect(result.warnings).toEqual([
      "rebuilt the whole file from values because anchors, aliases or merge keys (<<) could not take the change in place: its comments, anchors and aliases were lost",
    ]);
  });
});

describe("JSON merges keep the server copy's layout", () => {
  it.each([
    ["four spaces", "    "],
    ["tabs", "\t"],
    ["two spaces", "  "],
  ])("keeps %s indentation and the user's key order, new keys appended in release order", (_name, indent) => {
    const current = `${JSON.stringify({ z: 1, nested: { b: 2, a: 1 }, a: [1, 2] }, null, indent)}\n`;
    const incoming = JSON.stringify({ a: [3], nested: { c: 3, a: 9 }, new2: true, new1: false, z: 0 });
    const result = mergeConfigFile({
      format: "json",
      fileName: "app.json",
      current,
      incoming,
      strategy: "update_only",
    });
    const expected = { z: 1, nested: { b: 2, a: 1, c: 3 }, a: [1, 2], new2: true, new1: false };
    expect(result.text).toBe(`${JSON.stringify(expected, null, indent)}\n`);
  });

  it("keeps CRLF line endings and a missing trailing newline", () => {
    const current = '{\r\n  "a": 1\r\n}';
    const result = mergeConfigFile({
      format: "json",
      fileName: "app.json",
      current,
      incoming: '{"b": 2}',
      strategy: "update_only",
    });
    expect(result.text).toBe('{\r\n  "a": 1,\r\n  "b": 2\r\n}');
  });

  it("treats a __proto__ key as data", () => {
    const result = mergeConfigFile({
      format: "json",
      fileName: "app.json",
      current: '{"a": 1}',
      incoming: '{"__proto__": {"polluted": true}}',
      strategy: "update_only",
    });
    expect(JSON.parse(result.text)).toEqual(JSON.parse('{"a": 1, "__proto__": {"polluted": true}}'));
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});
