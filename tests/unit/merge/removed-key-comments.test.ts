/**
 * A key the release removes takes the comment lines directly above it along (reported when they
 * are the user's own); comment paragraphs a blank line sets apart (a file header, a section note)
 * are not the key's and stay. The same in YAML and TOML, for the first key of a mapping or table
 * too, where the YAML parser keeps the comment on the mapping rather than on the key.
 */
import { describe, expect, it } from "vitest";
import { mergeConfigFile } from "../../../agent/merge/index.js";

const merge = (format: "yaml" | "toml", current: string, incoming: string, base: string) =>
  mergeConfigFile({ format, fileName: `app.${format}`, current, incoming, base, strategy: "preserve_user" });

describe("the comment above a removed key goes with it; a paragraph set apart stays", () => {
  it.each([
    [
      "yaml",
      "database:\n  # mine: pool size\n  pool: 5\n  host: db\n",
      "database:\n  pool: 5\n  host: db\n",
      "database:\n  host: db\n",
      "database:\n  host: db\n",
    ],
    [
      "toml",
      '[database]\n# mine: pool size\npool = 5\nhost = "db"\n',
      '[database]\npool = 5\nhost = "db"\n',
      '[database]\nhost = "db"\n',
      '[database]\nhost = "db"\n',
    ],
  ] as const)(
    "%s: the first key of a mapping/table, its comment reported, not left above the next key",
    (format, current, base, release, expected) => {
      const result = merge(format, current, release, base);
      expect(result.text).toBe(expected);
      expect(result.removed).toEqual(["database.pool"]);
      expect(result.warnings).toEqual([
        "your comments went with the keys the merge removed (database.pool): # mine: pool size (line 2)",
      ]);
    },
  );

  it.each([
    [
      "yaml",
      "# my header\n\n# mine: pool\npool: 5\nhost: db\n",
      "pool: 5\nhost: db\n",
      "host: db\n",
      "# my header\n\nhost: db\n",
      3,
    ],
    [
      "toml",
      "# my header\n\n# mine: pool\npool = 5\nhost = 1\n",
      "pool = 5\nhost = 1\n",
      "host = 1\n",
      "# my header\n\nhost = 1\n",
      3,
    ],
    [
      "yaml",
      "m:\n  # section\n\n  # mine: pool\n  pool: 5\n  host: 1\n",
      "m:\n  pool: 5\n  host: 1\n",
      "m:\n  host: 1\n",
      "m:\n  # section\n\n  host: 1\n",
      4,
    ],
    [
      "yaml",
      "a: 1\n\n# section two\n\n# mine: pool\npool: 5\n\n# host note\nhost: db\n",
      "a: 1\npool: 5\nhost: db\n",
      "a: 1\nhost: db\n",
      "a: 1\n\n# section two\n\n# host note\nhost: db\n",
      5,
    ],
  ] as const)(
    "%s: a header set apart by a blank line stays (%#)",
    (format, current, base, release, expected, line) => {
      const result = merge(format, current, release, base);
      expect(result.text).toBe(expected);
      expect(result.warnings).toEqual([
        `your comments went with the keys the merge removed (${result.removed.join(", ")}): # mine: pool (line ${line})`,
      ]);
    },
  );

  it("yaml: the first key of an anchored mapping (Rails' `default: &default`): the comment goes, no layout warning", () => {
    const base = "default: &default\n  pool: 5\n  adapter: pg\ndev:\n  <<: *default\n";
    const current = "default: &default\n  # mine: pool\n  pool: 5\n  adapter: pg\ndev:\n  <<: *default\n";
    const result = merge("yaml", current, "default: &default\n  adapter: pg\ndev:\n  <<: *default\n", base);
    expect(result.text).toBe("default: &default\n  adapter: pg\ndev:\n  <<: *default\n");
    expect(result.warnings).toEqual([
      "your comments went with the keys the merge removed (default.pool, dev.pool): # mine: pool (line 2)",
    ]);
  });

  it("yaml: a comment the previous release shipped above the removed key goes silently (the release's change)", () => {
    const shipped = "database:\n  # pool size\n  pool: 5\n  host: db\n";
    const result = merge("yaml", shipped, "database:\n  host: db\n", shipped);
    expect(result.text).toBe("database:\n  host: db\n");
    expect(result.warnings).toEqual([]);
  });
});

describe("a YAML file rebuilt from values says so in TOML's words and blames anchors only when it has some", () => {
  const rebuild = (current: string, incoming: string) =>
    mergeConfigFile({
      format: "yaml",
      fileName: "app.yaml",
      current,
      incoming,
      strategy: "replace",
      // A section naming a key keeps the merge a merge under replace (the release's text is not taken whole).
      sections: { "1": "merge_smart" },
    });

  // The rebuild holds one key per value: the value of the other key reading alike went, and the
  // warning said every value was kept.
  it("no anchors: keys 1 and '1' that read alike, the one that went named", () => {
    const result = rebuild("# mine\n1: a\n'1': b\n", "1: c\n");
    expect(result.text).toBe('"1": c\n');
    expect(result.warnings).toEqual([
      "rewrote the whole file from values because no edit of the file in place gave the merged values: its comments, blank lines, anchors, aliases, merge keys (<<) and quoting and flow styles were lost (values, number spellings and tags are kept), except that keys reading alike in one mapping became one key holding the last one's value, so the values of these keys went: 1 (beside '1')",
    ]);
  });

  it("with aliases", () => {
    const result = rebuild("# mine\na: &x 1\nb: *x\n1: a\n'1': b\n", "a: 1\nb: 1\n1: c\n");
    expect(result.warnings).toEqual([
      "rewrote the whole file from values because no edit of the file in place, through its anchors, aliases and merge keys (<<), gave the merged values: its comments, blank lines, anchors, aliases, merge keys (<<) and quoting and flow styles were lost (values, number spellings and tags are kept), except that keys reading alike in one mapping became one key holding the last one's value, so the values of these keys went: 1 (beside '1')",
    ]);
  });

  it("nested, and a boolean key beside its quoted spelling: each named with its mapping", () => {
    const result = mergeConfigFile({
      format: "yaml",
      fileName: "app.yaml",
      current: "x:\n  true: a\n  'true': b\n",
      incoming: "x:\n  true: a\n  'true': c\n",
      base: "x:\n  true: a\n  'true': b\n",
      strategy: "preserve_user",
    });
    expect(result.text).toBe('x:\n  "true": c\n');
    expect(result.warnings).toHaveLength(1);
    expect(result.warnings[0]).toMatch(/so the values of these keys went: x: true \(beside 'true'\)$/);
  });
});

describe("a header above a first key the release removes stays above the operator's comment on the next key", () => {
  // Was: the header went with the removed key as soon as the operator had written a comment of
  // their own (or kept the previous release's) on the key that followed, though the release's copy
  // still began with it; no warning (a shipped comment).
  const yaml = (toml: string) => toml.replace(/ = /g, ": ").replace(/^\[db\]$/m, "db:");
  const cases = [
    {
      name: "the operator's own comment on the next key",
      base: '# Server settings\n# (defaults)\nold = 1\nport = 80\nhost = "a"\n',
      current: '# Server settings\n# (defaults)\nold = 1\n# ops: raised for load\nport = 81\nhost = "a"\n',
      release: '# Server settings\n# (defaults)\nport = 80\nhost = "a"\n',
      expected: '# Server settings\n# (defaults)\n# ops: raised for load\nport = 81\nhost = "a"\n',
    },
    {
      name: "the previous release's comment on the next key, edited by the operator",
      base: "# H\nold = 1\n# the port\nport = 80\n",
      current: "# H\nold = 1\n# the port (ops: 81)\nport = 81\n",
      release: "# H\n# the port\nport = 80\n",
      expected: "# H\n# the port (ops: 81)\nport = 81\n",
    },
  ];
  it.each(cases)("toml and yaml: $name", ({ base, current, release, expected }) => {
    for (const [format, form] of [
      ["toml", (text: string) => text],
      ["yaml", yaml],
    ] as const) {
      const result = merge(format, form(current), form(release), form(base));
      expect(result.text).toBe(form(expected));
      expect([result.removed, result.warnings]).toEqual([["old"], []]);
    }
  });

  it("toml and yaml: inside a table or mapping", () => {
    const base = "[db]\n# H\nold = 1\nport = 80\n";
    const current = "[db]\n# H\nold = 1\n# ops\nport = 81\n";
    for (const format of ["toml", "yaml"] as const) {
      const form =
        format === "toml"
          ? (text: string) => text
          : (text: string) => yaml(text).replace(/^(?!db)(?=.)/gm, "  ");
      const result = merge(format, form(current), form("[db]\n# H\nport = 80\n"), form(base));
      expect(result.text).toBe(form("[db]\n# H\n# ops\nport = 81\n"));
    }
  });

  it("toml and yaml: a separator the release drops with the key, which the next key still has, is not doubled", () => {
    for (const format of ["toml", "yaml"] as const) {
      const form = format === "toml" ? (text: string) => text : yaml;
      const base = form("# -----\nold = 1\n# -----\nport = 80\n");
      const result = merge(
        format,
        form("# -----\nold = 1\n# -----\nport = 81\n"),
        form("# -----\nport = 80\n"),
        base,
      );
      expect(result.text).toBe(form("# -----\nport = 81\n"));
    }
  });

  // Was: the kept header went above the operator's own comment on the next key whole, so a header
  // ending in `# -----` over the operator's own `# -----` (one the previous release did not write)
  // gave two separators, one under the other; in a table or mapping and above a [table] too.
  it.each([
    { name: "a separator alone", header: "# -----\n", own: "# -----\n" },
    { name: "a header ending in a separator", header: "# Server\n# -----\n", own: "# -----\n# mine\n" },
  ])("toml and yaml: $name the operator also wrote on the next key is written once", ({ header, own }) => {
    const yamlIn = (text: string) => yaml(text).replace(/^(?!db)(?=.)/gm, "  ");
    for (const [format, form] of [
      ["toml", (text: string) => text],
      ["yaml", yaml],
      ["toml", (text: string) => `[db]\n${text}`],
      ["yaml", (text: string) => yamlIn(`[db]\n${text}`)],
    ] as const) {
      const result = merge(
        format,
        form(`${header}old = 1\n${own}port = 81\n`),
        form(`${header}port = 80\n`),
        form(`${header}old = 1\nport = 80\n`),
      );
      expect(result.text).toBe(form(`${header}${own.replace("# -----\n", "")}port = 81\n`));
    }
  });

  it("toml: a separator above a removed [table] the operator also wrote above the next one is written once", () => {
    const result = merge(
      "toml",
      "a = 1\n\n# -----\n[old]\nx = 1\n\n# -----\n[db]\nport = 81\n",
      "a = 1\n\n# -----\n[db]\nport = 80\n",
      "a = 1\n\n# -----\n[old]\nx = 1\n\n[db]\nport = 80\n",
    );
    expect(result.text).toBe("a = 1\n\n# -----\n[db]\nport = 81\n");
  });
});
