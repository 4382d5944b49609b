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

  describe("a value the release replaces whole (a list, a scalar) that holds an anchor", () => {
    const merge = (current: string, incoming: string) =>
      mergeConfigFile({
        format: "yaml",
        fileName: "app.yaml",
        current,
        incoming,
        base: current,
        strategy: "preserve_user",
      });
    const lists = "# hosts we trust\nhosts: &h [a, b]   # list\nweb:\n  allow: *h # same\n# end\n";

    it("keeps its anchor when the release changes it and what aliases it alike: no rebuild, comments kept", () => {
      const list = merge(lists, "hosts: [a, b, c]\nweb:\n  allow: [a, b, c]\n");
      expect(list.text).toBe(
        "# hosts we trust\nhosts: &h [a, b, c]   # list\nweb:\n  allow: *h # same\n# end\n",
      );
      expect(list.warnings).toEqual([]);
      const scalar = merge(
        "# s\nport: &p 80 # the port\nhealth:\n  port: *p\n",
        "port: 81\nhealth:\n  port: 81\n",
      );
      expect(scalar.text).toBe("# s\nport: &p 81 # the port\nhealth:\n  port: *p\n");
      expect(scalar.warnings).toEqual([]);
    });

    it("an alias whose value the release keeps, or whose anchor it removes, gets its own copy, with a warning", () => {
      const expanded =
        "the alias *h at web.allow was expanded into its own copy, to keep its value while the anchored value changed";
      const changed = merge(lists, "hosts: [a, b, c]\nweb:\n  allow: [a, b]\n");
      expect(changed.text).toBe(
        "# hosts we trust\nhosts: [a, b, c]   # list\nweb:\n  allow: [a, b] # same\n# end\n",
      );
      expect(changed.warnings).toEqual([expanded]);
      const removed = merge(lists, "web:\n  allow: [a, b]\n");
      expect(removed.removed).toEqual(["hosts"]);
      expect(removed.text).toBe("web:\n  allow: [a, b] # same\n# end\n");
      expect(removed.warnings[0]).toBe(expanded);
    });
  });

  it("a key inherited through << that must go: the merge key becomes own keys there, with a warning; comments and anchors stay", () => {
    const base = "base: &b\n  a: 1\n  x: 2\nprod:\n  <<: *b # shared\n  db: p\n";
    const result = mergeConfigFile({
      format: "yaml",
      fileName: "app.yaml",
      current: `# mine\n${base}`,
      incoming: "base: {a: 1, x: 2}\nprod: {a: 1, db: p}\n",
      base,
      strategy: "preserve_user",
    });
    expect(result.removed).toEqual(["prod.x"]);
    expect(result.text).toBe("# mine\nbase: &b\n  a: 1\n  x: 2\nprod:\n  a: 1\n  db: p\n");
    expect(result.warnings).toEqual([
      "the merge key (<<) of prod was expanded into its own keys, to remove a key it gave",
    ]);
  });

  it("a value of the user's that follows an anchor takes its change and is named in the key report", () => {
    // The release's copy has no `svc` that way (a service of the operator's own, or one the release
    // writes out): the alias and the << still follow the anchor, and the app reads the new values.
    const merge = (current: string, incoming: string, base: string) =>
      mergeConfigFile({
        format: "yaml",
        fileName: "app.yaml",
        current,
        incoming,
        base,
        strategy: "preserve_user",
      });
    const alias = merge(
      "base: &b\n  x: 1\n  y: 5\nsvc: *b\n",
      "base:\n  x: 1\n  z: 2\n",
      "base:\n  x: 1\n  y: 5\n",
    );
    expect(alias.text).toBe("base: &b\n  x: 1\n  z: 2\nsvc: *b\n");
    expect(alias.added).toEqual(["base.z", "svc.z"]);
    expect(alias.removed).toEqual(["base.y", "svc.y"]);
    const merged = merge(
      "base: &b\n  x: 1\nmine:\n  <<: *b\n  own: 1\n",
      "base:\n  x: 2\n",
      "base:\n  x: 1\n",
    );
    expect(merged.text).toBe("base: &b\n  x: 2\nmine:\n  <<: *b\n  own: 1\n");
    expect(merged.updated).toEqual(["base.x", "mine.x"]);
    expect(merged.warnings).toEqual([]);
  });

  it("an anchor name defined again: only the aliases of the changed node are expanded, and only they are named", () => {
    // `*x` shows the last `&x` before it: `d` aliases `c`, which the release leaves alone. It was
    // expanded as well, and the WARNING said its anchored value had changed.
    const result = mergeConfigFile({
      format: "yaml",
      fileName: "app.yaml",
      current: "a: &x 1\nb: *x\nc: &x 2\nd: *x\nm1: &m {k: 1}\nf:\n  <<: *m\nm2: &m {k: 2}\ng:\n  <<: *m\n",
      incoming: "a: 5\nb: 1\nc: 2\nd: 2\nm1: {k: 1}\nf: {k: 1}\nm2: {k: 3}\ng: {k: 2}\n",
      base: "a: 1\nb: 1\nc: 2\nd: 2\nm1: {k: 1}\nf: {k: 1}\nm2: {k: 2}\ng: {k: 2}\n",
      strategy: "preserve_user",
    });
    expect(result.text).toBe(
      "a: 5\nb: 1\nc: &x 2\nd: *x\nm1: &m {k: 1}\nf:\n  <<: *m\nm2: &m {k: 3}\ng:\n  k: 2\n",
    );
    expect(result.updated).toEqual(["a", "m2.k"]);
    expect(result.warnings).toEqual([
      "the alias *x at b was expanded into its own copy, to keep its value while the anchored value changed",
      "the merge key (<<) of g was expanded into its own keys, to keep the values it gave while the anchored mapping changed",
    ]);
  });

  it("a first key the release removes takes the blank line after it along, at the top and inside a mapping", () => {
    const removed = (current: string, incoming: string) =>
      mergeConfigFile({
        format: "yaml",
        fileName: "app.yaml",
        current,
        incoming,
        base: current,
        strategy: "preserve_user",
      });
    expect(removed("old: 2\n\nb: 3\n", "b: 3\n").text).toBe("b: 3\n");
    expect(removed("x:\n  old: 2\n\n  b: 3\n", "x:\n  b: 3\n").text).toBe("x:\n  b: 3\n");
    expect(removed("# head\n\nold: 2\n\nb: 3\n", "b: 3\n").text).toBe("# head\n\nb: 3\n");
    expect(removed("a: 1\n\nold: 2\n\nb: 3\n", "a: 1\n\nb: 3\n").text).toBe("a: 1\n\nb: 3\n");
  });

  it("an anchor the release removes while a mapping merges it: that mapping's << becomes own keys, never `<<:` holding a copy", () => {
    const base = "defaults: &defaults\n  adapter: postgres\n  pool: 5\nprod:\n  <<: *defaults\n  host: db\n";
    const current = base.replace("host: db", "host: db.local   # mine");
    const incoming = "prod:\n  adapter: postgres\n  pool: 5\n  host: db\n";
    for (const strategy of ["preserve_user", "replace"] as const) {
      const result = mergeConfigFile({
        format: "yaml",
        fileName: "app.yaml",
        current,
        incoming,
        base,
        strategy,
        sections: strategy === "replace" ? { prod: "preserve_user" } : undefined,
      });
      expect(result.removed).toEqual(["defaults"]);
      expect(result.text).toBe("prod:\n  adapter: postgres\n  pool: 5\n  host: db.local   # mine\n");
      expect(result.warnings).toEqual([
        "the merge key (<<) of prod was expanded into its own keys, to keep the values it gave while the anchored mapping changed",
      ]);
    }
    // The same when the anchored mapping is replaced by a value the mapping that merges it must not follow.
    const list = mergeConfigFile({
      format: "yaml",
      fileName: "app.yaml",
      current,
      incoming: "defaults: [a]\nprod:\n  adapter: postgres\n  pool: 5\n  host: db\n",
      base,
      strategy: "preserve_user",
    });
    expect(list.text).toBe(
      "defaults: [a]\nprod:\n  adapter: postgres\n  pool: 5\n  host: db.local   # mine\n",
    );
  });

  it("an anchored mapping changed where a << user must keep the old value: that user's << becomes own keys, with a warning", () => {
    const result = mergeConfigFile({
      format: "yaml",
      fileName: "app.yaml",
      current: "# mine\na: &x {k: 1}\nb:\n  <<: [*x]\n  j: 2\nc:\n  <<: *x\n",
      incoming: "a: {k: 2}\nb: {k: 1, j: 2}\nc: {k: 2}\n",
      base: "a: {k: 1}\nb: {k: 1, j: 2}\nc: {k: 1}\n",
      strategy: "preserve_user",
    });
    expect(result.text).toBe("# mine\na: &x {k: 2}\nb:\n  k: 1\n  j: 2\nc:\n  k: 2\n");
    expect(result.warnings).toEqual([
      "the merge key (<<) of b was expanded into its own keys, to keep the values it gave while the anchored mapping changed",
      "the merge key (<<) of c was expanded into its own keys, to keep the values it gave while the anchored mapping changed",
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
