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
