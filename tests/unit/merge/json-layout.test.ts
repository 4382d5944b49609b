import { describe, expect, it } from "vitest";
import { checkMergeInput, mergeConfigFile } from "../../../agent/merge/index.js";
import { BadInputError, formatIssue } from "../../../shared/errors.js";

const merge = (current: string, incoming: string, base?: string) =>
  mergeConfigFile({
    format: "json",
    fileName: "app.json",
    current,
    incoming,
    strategy: "preserve_user",
    ...(base === undefined ? {} : { base }),
  });

describe("JSON merges keep the user's layout", () => {
  it("a `  #` inside a string the release changes is no comment: the line keeps the user's layout", () => {
    // Taken for a comment to keep in its column, it re-spaced the string, so the line fell back to
    // the library's layout with a WARNING.
    const base = '{\n  "a": "x   # y",\n  "n": {"k": 1},\n  "b": 1\n}\n';
    const current = '{\n    "a":  "x   # y",\n    "n": {"k": 1},\n    "b": 1\n}\n';
    const result = merge(current, base.replace('"x   # y"', '"xy   # y"'), base);
    expect(result.text).toBe(current.replace('"x   # y"', '"xy   # y"'));
    expect(result.warnings).toEqual([]);
  });

  it("a value the release turns into an object or array written on one line comes on one line", () => {
    // `"db": "url"` becoming the release's `"db": {"host": "y", "port": 5432}` was spread over lines,
    // as neither file writes it.
    const base = '{\n  "db": "postgres://h/db",\n  "x": 1\n}\n';
    const incoming = '{\n  "db": {"host": "y", "port": 5432},\n  "x": 1\n}\n';
    const result = merge(base.replace('"x": 1', '"x": 2'), incoming, base);
    expect(result.text).toBe(incoming.replace('"x": 1', '"x": 2'));
    expect(result.warnings).toEqual([]);
  });

  it("an array item the release moves keeps the user's spelling of it", () => {
    // The release put an item above the user's: spellings went by place, so "caf\u00e9" and 1.50
    // came back as "café" and 1.5, with no word.
    const base = '{\n  "tags": ["café", "b"],\n  "s": [{"n": "café", "w": 1.5}]\n}\n';
    const current = '{\n  "tags": ["caf\\u00e9", "b"],\n  "s": [{"n": "caf\\u00e9", "w": 1.50}]\n}\n';
    const incoming =
      '{\n  "tags": ["new", "café", "b"],\n  "s": [{"n": "x", "w": 0}, {"n": "café", "w": 1.5}]\n}\n';
    const result = merge(current, incoming, base);
    expect(result.text).toBe(
      '{\n  "tags": ["new", "caf\\u00e9", "b"],\n  "s": [{"n": "x", "w": 0}, {"n": "caf\\u00e9", "w": 1.50}]\n}\n',
    );
    expect(result.warnings).toEqual([]);
  });

  it("array items the user writes one per line on one line stay so, moved, changed or new", () => {
    // Laid out by place, the user's last item, moved past their last place by an item the release
    // put first, came spread over lines, and so did a changed item at a place no one-line item of
    // the user's held; no WARNING said the form changed.
    const base = '{"s": [{"id": 1, "p": 1}, {"id": 2, "p": 1}], "m": [[1, 2], [3]]}';
    const current =
      '{\n  "s": [\n    {"id": 1, "p": 1},\n    {"id": 2, "p": 1}\n  ],\n  "m": [\n    [1, 2],\n    [3]\n  ]\n}\n';
    const cases = [
      // A new item first: the user's two move down, unchanged.
      '{"s": [{"id": 0, "p": 0}, {"id": 1, "p": 1}, {"id": 2, "p": 1}], "m": [[0], [1, 2], [3]]}',
      // A new item first and the next one changed.
      '{"s": [{"id": 0, "p": 0}, {"id": 1, "p": 2}, {"id": 2, "p": 1}], "m": [[0], [1, 2, 9], [3]]}',
    ];
    for (const incoming of cases) {
      const result = merge(current, incoming, base);
      const value = JSON.parse(incoming) as { s: unknown[]; m: unknown[] };
      const lines = (items: unknown[]) =>
        items.map((item) => JSON.stringify(item).replaceAll(",", ", ").replaceAll(":", ": "));
      expect(result.text).toBe(
        `{\n  "s": [\n    ${lines(value.s).join(",\n    ")}\n  ],\n  "m": [\n    ${lines(value.m).join(",\n    ")}\n  ]\n}\n`,
      );
      expect(result.warnings).toEqual([]);
    }
    // A new item among items spread over lines takes their one-line parts (`"t": [1]`).
    const parts = merge(
      '{\n  "s": [\n    {\n      "id": 1,\n      "t": [1]\n    }\n  ]\n}\n',
      '{"s": [{"id": 0, "t": [0]}, {"id": 1, "t": [1]}]}',
      '{"s": [{"id": 1, "t": [1]}]}',
    );
    expect(parts.text).toBe(
      '{\n  "s": [\n    {\n      "id": 0,\n      "t": [0]\n    },\n    {\n      "id": 1,\n      "t": [1]\n    }\n  ]\n}\n',
    );
    // An item of an array whose items the user spreads over lines comes spread too.
    const spread = '{\n  "s": [\n    {\n      "id": 1\n    }\n  ]\n}\n';
    const grown = merge(spread, '{"s": [{"id": 0}, {"id": 1}]}', '{"s": [{"id": 1}]}');
    expect(grown.text).toBe(
      '{\n  "s": [\n    {\n      "id": 0\n    },\n    {\n      "id": 1\n    }\n  ]\n}\n',
    );
  });

  it("a one-item array whose string holds a colon or comma gets the file's spacing when the release adds an item", () => {
    // An .eslintrc's `"extends": ["eslint:recommended"]`: the colon inside the string read as the
    // array being written without spaces, so it came back as `["eslint:recommended","prettier"]`.
    const base = '{\n  "extends": ["eslint:recommended"],\n  "env": {"a,b": 1},\n  "x": 1\n}\n';
    const current = base.replace('"x": 1', '"x": 2');
    const result = merge(
      current,
      '{\n  "extends": ["eslint:recommended", "prettier"],\n  "env": {"a,b": 1, "c": 2},\n  "x": 1\n}\n',
      base,
    );
    expect(result.text).toBe(
      '{\n  "extends": ["eslint:recommended", "prettier"],\n  "env": {"a,b": 1, "c": 2},\n  "x": 2\n}\n',
    );
    expect(result.warnings).toEqual([]);
  });

  it("keeps inline objects and arrays, 4-space indentation, number spellings and escapes", () => {
    const current = [
      "{",
      '    "a": 1,',
      '    "db": {"c": 7},',
      '    "x": [1, 2],',
      '    "f": 1.0,',
      '    "e": 1e3,',
      '    "name": "caf\\u00e9",',
      '    "r": 2',
      "}",
      "",
    ].join("\n");
    const base = '{"a": 1, "db": {"c": 7}, "x": [1, 2], "f": 1, "e": 1000, "name": "café", "r": 2}';
    const result = merge(
      current,
      base.replace('"a": 1', '"a": 2').replace('"r": 2', '"r": 2, "n": true'),
      base,
    );
    expect(result.text).toBe(
      current.replace('"a": 1', '"a": 2').replace('"r": 2\n', '"r": 2,\n    "n": true\n'),
    );
    expect(result.warnings).toEqual([]);
  });

  it("keys and strings written with \\u escapes keep them on a line the merge changes", () => {
    // Was: `"caf\u00e9": 1` came back as `"café": 2`, with a warning that the line lost its layout.
    const current = '{\n  "caf\\u00e9": 1,\n  "db": {"name": "\\u00fcber", "port": 5},\n  "x": 1\n}\n';
    const base = '{"café": 1, "db": {"name": "über", "port": 5}, "x": 1}';
    const result = merge(current, '{"café": 2, "db": {"name": "über", "port": 6}, "x": 1}', base);
    expect(result.text).toBe(current.replace(": 1,", ": 2,").replace('"port": 5', '"port": 6'));
    expect(result.warnings).toEqual([]);
  });

  it("an inline object the merge changes stays on its line", () => {
    const current = '{\n    "a": 1,\n    "db": { "c": 7, "d": 1 }\n}\n';
    const result = merge(
      current,
      '{"a": 1, "db": {"c": 8, "d": 1, "e": 2}}',
      '{"a": 1, "db": {"c": 7, "d": 1}}',
    );
    expect(result.text).toBe('{\n    "a": 1,\n    "db": { "c": 8, "d": 1, "e": 2 }\n}\n');
  });

  it("a new object or array the release writes on one line comes on one line, in the user's indentation", () => {
    const current = '{\n    "a": 1,\n    "db": {\n        "c": 7\n    }\n}\n';
    const incoming = [
      "{",
      '  "a": 1,',
      '  "db": {"c": 7, "pool": {"min": 1}},',
      '  "cache": {"ttl": 5, "hosts": ["x", "y"]},',
      '  "log": {',
      '    "level": "info",',
      '    "to": {"file": "a.log"}',
      "  }",
      "}",
      "",
    ].join("\n");
    const result = merge(current, incoming, current);
    expect(result.added).toEqual(["db.pool", "cache", "log"]);
    expect(result.text).toBe(
      [
        "{",
        '    "a": 1,',
        '    "db": {',
        '        "c": 7,',
        '        "pool": {"min": 1}',
        "    },",
        '    "cache": {"ttl": 5, "hosts": ["x", "y"]},',
        '    "log": {',
        '        "level": "info",',
        '        "to": {"file": "a.log"}',
        "    }",
        "}",
        "",
      ].join("\n"),
    );
    expect(result.warnings).toEqual([]);
    // A release written whole on one line says nothing of its parts' layout: the user's file's.
    expect(merge('{\n  "a": 1\n}\n', '{"a": 1, "cache": {"ttl": 5}}').text).toBe(
      '{\n  "a": 1,\n  "cache": {\n    "ttl": 5\n  }\n}\n',
    );
  });

  it("integers beyond 2^53 keep every digit, and a release changing one is a change", () => {
    const base = '{"id": 12345678901234567890, "b": 1}';
    const result = merge(
      '{"id": 12345678901234567890, "b": 1}',
      '{"id": 12345678901234567891, "b": 1, "n": 98765432109876543210}',
      base,
    );
    expect(result.updated).toEqual(["id"]);
    expect(result.text).toBe('{"id": 12345678901234567891, "b": 1, "n": 98765432109876543210}');
  });

  it("the comma after a member that now has a next one follows its value, not the white space the user left after it", () => {
    // `"a": 2   ,` and `1  ,`: valid JSON, but not where anyone writes a comma.
    const object = merge('{\n  "a": 2   \n}\n', '{\n  "a": 1,\n  "b": 1\n}\n', '{\n  "a": 1\n}\n');
    expect(object.text).toBe('{\n  "a": 2,   \n  "b": 1\n}\n');
    const array = merge('{\n  "l": [\n    1  \n  ]\n}\n', '{"l": [1, 2]}', '{"l": [1]}');
    expect(array.text).toBe('{\n  "l": [\n    1,  \n    2\n  ]\n}\n');
    expect([...object.warnings, ...array.warnings]).toEqual([]);
  });

  it("keeps a missing final newline", () => {
    expect(merge('{\n  "b": 1\n}', '{"b": 2}', '{"b": 1}').text).toBe('{\n  "b": 2\n}');
  });

  it("a member split over lines that the merge changes: the warning names the lines", () => {
    const current = '{\n  "db": {"c": 7,\n         "d": 1},\n  "z": 0\n}\n';
    const result = merge(current, '{"db": {"c": 8, "d": 1}, "z": 0}', '{"db": {"c": 7, "d": 1}, "z": 0}');
    expect(JSON.parse(result.text)).toEqual({ db: { c: 8, d: 1 }, z: 0 });
    expect(result.warnings).toEqual([
      'lines 2 (`"db": {"c": 7,`), 3 (`"d": 1},`) lost their layout (spacing, line breaks, inline objects and arrays), because the merge changed them: rewritten in the merge\'s own layout',
    ]);
  });

  it("a one-line file keeps the user's spelling of values the merge does not change", () => {
    const base = '{"f": 0.12345678901234567890123, "n": "caf\\u00e9", "b": 1}';
    const result = merge(base, base.replace('"b": 1', '"b": 2'), base);
    expect(result.text).toBe(base.replace('"b": 1', '"b": 2'));
    expect(result.warnings).toEqual([]);
  });

  it("an empty object takes the file's spacing; a file of `{` and `}` alone gets an indent", () => {
    // `{}` shows no layout of the user's, and a release on one line none of its parts: filled, it
    // is spread as a new object is, in the file's indentation.
    expect(merge('{\n  "o": {}\n}\n', '{"o": {"a": 1}}').text).toBe('{\n  "o": {\n    "a": 1\n  }\n}\n');
    expect(merge('{"n":1,"o":{}}', '{"n":1,"o":{"a":1}}').text).toBe('{"n":1,"o":{"a":1}}');
    const multi = merge("{\n}\n", '{"a": 1}');
    expect(multi.text).toBe('{\n  "a": 1\n}\n');
    expect(multi.warnings).toEqual([]);
  });

  describe("number spellings: a merge writes a number as its text spells it, never rounded", () => {
    const precise = "0.1000000000000000055511151231257827";

    it("a value the release sets or adds keeps the release's digits, exponent and sign", () => {
      const updated = merge(
        '{\n  "ratio": 0.5,\n  "a": 1\n}\n',
        `{\n  "ratio": ${precise},\n  "a": 1\n}\n`,
        '{"ratio": 0.5, "a": 1}',
      );
      expect(updated.text).toBe(`{\n  "ratio": ${precise},\n  "a": 1\n}\n`);
      const added = merge(
        '{\n  "a": 1\n}\n',
        `{"a": 1, "ratio": ${precise}, "x": 1.5e300, "y": 1E+2, "z": -0.0, "w": 100000000000000000000.5}`,
      );
      expect(added.text).toBe(
        `{\n  "a": 1,\n  "ratio": ${precise},\n  "x": 1.5e300,\n  "y": 1E+2,\n  "z": -0.0,\n  "w": 100000000000000000000.5\n}\n`,
      );
      expect(added.warnings).toEqual([]);
    });

    it("the user's spelling stays when the release's value is the same decimal, also on a line the merge rewrites", () => {
      const current = `{\n  "db": {"ratio": ${precise}, "a": 1, "f": 1.50},\n  "r": ${precise}\n}\n`;
      const incoming = `{"db": {"ratio": ${precise}, "a": 2, "f": 15e-1}, "r": ${precise}}`;
      const result = mergeConfigFile({
        format: "json",
        fileName: "app.json",
        current,
        incoming,
        strategy: "replace",
        sections: { db: { strategy: "replace", preserve_keys: [] } },
      });
      expect(result.text).toBe(
        `{\n  "db": {"ratio": ${precise}, "a": 2, "f": 1.50},\n  "r": ${precise}\n}\n`,
      );
    });

    it("the release's spelling of a value it leaves as yours (5e-1 for your 0.5) does not respell your line", () => {
      const result = merge('{\n  "a": 0.5,\n  "b": 1\n}\n', '{"a": 5e-1, "b": 2}\n', '{"a": 0.5, "b": 1}\n');
      expect(result.text).toBe('{\n  "a": 0.5,\n  "b": 2\n}\n');
    });

    it("a release's other decimal of the same double (0.1 for the user's longer digits) is its value, under replace", () => {
      // Was: the user's digits stayed as "the same number", though a decimal reader reads them apart.
      const current = `{\n  "db": {"ratio": ${precise}, "a": 1},\n  "r": ${precise}\n}\n`;
      const result = mergeConfigFile({
        format: "json",
        fileName: "app.json",
        current,
        incoming: '{"db": {"ratio": 0.1, "a": 2}, "r": 0.1}',
        strategy: "replace",
        sections: { db: { strategy: "replace", preserve_keys: [] } },
      });
      expect(result.text).toBe('{\n  "db": {"ratio": 0.1, "a": 2},\n  "r": 0.1\n}\n');
    });
  });
});

describe("JSON: a key written twice in one object is refused, as in YAML and TOML", () => {
  // Accepted before: the merge edited the last one and left the first, stale, where a reader that
  // takes the first (or serde, which refuses the file) looks. Every copy is refused alike.
  const refusal = (run: () => unknown): string[] => {
    try {
      run();
    } catch (error) {
      if (error instanceof BadInputError) return error.issues.map(formatIssue);
      throw error;
    }
    throw new Error("expected a BadInputError");
  };
  const twice = (key: string, where: number | string) =>
    `the key "${key}" is written twice in one object (also ${typeof where === "number" ? `on line ${where}` : where}); remove one`;

  it("in the server's, the release's or the previous release's copy: named with both lines", () => {
    const repeated = '{\n  "a": 1,\n  "db": {"host": "x", "host": "y"},\n  "a": 2\n}\n';
    expect(refusal(() => merge(repeated, '{"a": 1}'))).toEqual([
      `app.json:3:23 cannot merge: the server's copy does not parse: ${twice("host", "at column 10 of that line")}`,
    ]);
    expect(refusal(() => merge('{"a": 1}', '{\n  "a": 1,\n  "a": 2\n}\n'))).toEqual([
      `app.json:3:3 cannot merge: the release's copy does not parse: ${twice("a", 2)}`,
    ]);
    expect(refusal(() => merge('{"a": 1}', '{"a": 1}', '{"p": {"q": 1, "q": 2}}'))).toEqual([
      // Both on one line: "also on line 1" named the one place twice; the column tells them apart.
      `app.json:1:16 cannot merge: the previous release's copy does not parse: ${twice("q", "at column 8 of that line")}`,
    ]);
  });

  it("the same key in two objects, or spelt with an escape in one, is two keys or refused as written", () => {
    const result = merge(
      '{"a": {"k": 1}, "b": {"k": 2}}',
      '{"a": {"k": 1}, "b": {"k": 3}}',
      '{"a": {"k": 1}, "b": {"k": 2}}',
    );
    expect(result.text).toBe('{"a": {"k": 1}, "b": {"k": 3}}');
    expect(refusal(() => merge('{"k": 1, "\\u006b": 2}', '{"k": 1}'))).toEqual([
      `app.json:1:10 cannot merge: the server's copy does not parse: ${twice("k", "at column 2 of that line")}`,
    ]);
  });
});

describe("JSON integers and floats are two types, as in TOML and YAML", () => {
  // Go's encoding/json and Rust's serde refuse `2.0` for an integer field: a release that made a
  // field an integer (and its default `2`) left the user's untouched `2.0`, and the app refused it.
  it("a release turning a value the user never touched from float to integer, or back, updates it", () => {
    const base = '{\n  "workers": 2.0,\n  "ratio": 1,\n  "scale": 1e3\n}\n';
    const result = merge(base, '{\n  "workers": 2,\n  "ratio": 1.0,\n  "scale": 1000\n}\n', base);
    expect(result.text).toBe('{\n  "workers": 2,\n  "ratio": 1.0,\n  "scale": 1000\n}\n');
    expect(result.updated).toEqual(["workers", "ratio", "scale"]);
  });

  it("the user's own float stays theirs; a float the merge writes reads back as a float", () => {
    const base = '{"workers": 2, "ratio": 1.5}\n';
    const result = merge(
      '{"workers": 3.0, "ratio": 1.5}\n',
      '{"workers": 4, "ratio": 0.5, "new": 7.0}\n',
      base,
    );
    expect(result.text).toBe('{"workers": 3.0, "ratio": 0.5, "new": 7.0}\n');
    expect(result.kept).toEqual(["workers"]);
  });

  it("a key the merge adds in a file indented with tabs and spaces mixed takes its sibling's indentation", () => {
    // The new key was moved by a count of characters from the library's indentation (the file's
    // first indented line: a tab) to its sibling's (4 spaces): it came as 3 spaces and a tab.
    const base = '{"a": 1, "b": {"c": 1}}';
    const cases = [
      ['{\n\t"a": 1,\n    "b": {\n        "c": 1\n    }\n}\n', "    ", "        "],
      ['{\n    "a": 1,\n\t"b": {\n\t\t"c": 1\n\t}\n}\n', "\t", "\t\t"],
      ['{\n  "a": 1,\n\t"b": {\n\t  "c": 1\n\t}\n}\n', "\t", "\t  "],
    ] as const;
    for (const [current, top, inner] of cases) {
      const result = merge(current, '{"a": 1, "b": {"c": 1, "e": 5}, "d": 2}', base);
      expect(result.text).toBe(
        current
          .replace('"c": 1\n', `"c": 1,\n${inner}"e": 5\n`)
          .replace(/\}\n\}\n$/, `},\n${top}"d": 2\n}\n`),
      );
      expect(result.warnings).toEqual([]);
    }
  });
});

describe("merge_yaml on a JSON config (JSON is YAML, so the manifest allows it)", () => {
  const yamlMerge = (current: string, incoming: string, base?: string) =>
    mergeConfigFile({
      format: "yaml",
      fileName: "config.json",
      current,
      incoming,
      strategy: "preserve_user",
      ...(base === undefined ? {} : { base }),
    });
  const base = '{\n  "name": "x",\n  "port": 80,\n  "tags": ["a", "b"]\n}\n';
  const incoming = '{\n  "name": "x",\n  "port": 81,\n  "tags": ["a", "b"],\n  "new": {"k": true}\n}\n';

  it("stays JSON in the operator's layout, merged as merge_json merges it, with no warning", () => {
    const current = base.replace('"x"', '"mine"');
    const result = yamlMerge(current, incoming, base);
    const asJson = merge(current, incoming, base);
    expect(result.text).toBe(
      '{\n  "name": "mine",\n  "port": 81,\n  "tags": ["a", "b"],\n  "new": {"k": true}\n}\n',
    );
    expect(result).toEqual(asJson);
    expect(result.warnings).toEqual([]);
  });

  it("a blank copy (a disk that filled) becomes the release's JSON, not YAML lines in a .json file", () => {
    for (const strategy of ["preserve_user", "update_only"] as const) {
      const result = mergeConfigFile({
        format: "yaml",
        fileName: "config.json",
        current: "",
        incoming,
        base,
        strategy,
      });
      expect(result.text).toBe(incoming);
      expect(JSON.parse(result.text)).toEqual({ name: "x", port: 81, tags: ["a", "b"], new: { k: true } });
      expect(result.added).toEqual(["name", "port", "tags", "new"]);
      expect(result.warnings).toEqual([
        "your copy is empty: merged as a new copy (the release's keys added), not as every key deleted by you",
      ]);
    }
  });

  it("a copy in JSON's braces that is not JSON (a tsconfig-like comment, a trailing comma) is refused as merge_json refuses it", () => {
    // Read as YAML, `// ours` became part of the next key: the merge added a second
    // "compilerOptions" and wrote one line no JSON reader could read, exit 0. A trailing comma came
    // back as one line of flow style.
    const says = (current: string) => {
      try {
        yamlMerge(current, incoming, base);
      } catch (error) {
        if (error instanceof BadInputError) return error.issues.map(formatIssue);
        throw error;
      }
      return "merged";
    };
    expect(says('{\n  // ours\n  "name": "mine",\n  "port": 80\n}\n')).toEqual([
      "config.json:2:3 cannot merge: the server's copy does not parse: a comment, which JSON does not allow (remove it)",
    ]);
    expect(says('{\n  "name": "mine",\n  "port": 80,\n}\n')).toEqual([
      "config.json:4:1 cannot merge: the server's copy does not parse: a comma before the closing bracket, which JSON does not allow (remove it)",
    ]);
    // The check before the hooks says the same, given the release's copy.
    expect(() =>
      checkMergeInput("yaml", '{\n  // ours\n  "port": 80\n}\n', "config.json", "server", incoming),
    ).toThrow("config.json:2:3 cannot merge: the server's copy does not parse: a comment");
    expect(() => checkMergeInput("yaml", "name: mine\n", "config.json", "server", incoming)).not.toThrow();
  });

  it("a copy written as YAML (not JSON) still merges as YAML", () => {
    const result = yamlMerge(
      '{"name": "mine", "port": 80}\n',
      "name: x\nport: 81\n",
      '{"name": "x", "port": 80}\n',
    );
    expect(result.text).toBe('{"name": "mine", "port": 81}\n');
    expect(result.updated).toEqual(["port"]);
  });

  it("a copy in JSON's braces with YAML `#` notes merges as YAML, keeping them", () => {
    // Read as JSON, as a tsconfig-like `//` is, it was refused: exit 2, "Expected ',' or '}' after
    // property value", although a `#` note is YAML and the rule says merge_yaml.
    const current = '{\n  "name": "mine",  # ops\n  "port": 80,\n  "tags": ["a", "b"]\n}\n# kept by ops\n';
    const result = yamlMerge(current, incoming, base);
    expect(result.text).toBe(
      '{\n  "name": "mine",  # ops\n  "port": 81,\n  "tags": ["a", "b"],\n  "new": {"k": true}\n}\n# kept by ops\n',
    );
    expect(result.kept).toEqual(["name"]);
    expect(result.updated).toEqual(["port"]);
    expect(result.warnings).toEqual([]);
    expect(() => checkMergeInput("yaml", current, "config.json", "server", incoming)).not.toThrow();
    // One line with a note after it, and an empty list the note follows, alike.
    expect(
      yamlMerge(
        '{"name": "x", "port": 80}  # note\n',
        '{"name": "x", "port": 81}\n',
        '{"name": "x", "port": 80}\n',
      ).text,
    ).toBe('{"name": "x", "port": 81}  # note\n');
    expect(yamlMerge("[]\n# none yet\n", "[2]\n", "[]\n").text).toBe("[2]\n# none yet\n");
  });

  it("a `#` note under merge_json is named as a comment JSON does not allow", () => {
    expect(() =>
      mergeConfigFile({
        format: "json",
        fileName: "config.json",
        current: '{"port": 80}\n# ops\n',
        incoming,
        strategy: "preserve_user",
      }),
    ).toThrow(
      "config.json:2:1 cannot merge: the server's copy does not parse: a comment, which JSON does not allow (remove it)",
    );
  });
});
