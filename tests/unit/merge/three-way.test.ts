import { describe, expect, it } from "vitest";
import { mergeConfigFile } from "../../../agent/merge/index.js";
import { formats, read, write } from "./formats.js";

type Doc = Record<string, unknown>;

function merge3(format: (typeof formats)[number], base: Doc, current: Doc, incoming: Doc) {
  const result = mergeConfigFile({
    format,
    fileName: "f",
    base: write(format, base),
    current: write(format, current),
    incoming: write(format, incoming),
    strategy: "preserve_user",
  });
  return { ...result, value: read(format, result.text) };
}

describe.each(formats)("preserve_user three-way (%s)", (format) => {
  it("a key the user deleted stays deleted unless the release changes it", () => {
    const base = { a: 1, b: 2, c: { d: 3 } };
    const result = merge3(format, base, { a: 1 }, { a: 1, b: 2, c: { d: 4 } });
    expect(result.value).toEqual({ a: 1, c: { d: 4 } });
    // The deletion that stays is `deleted`: `kept` read as a value the file still holds.
    expect([result.kept, result.deleted]).toEqual([[], ["b"]]);
    expect(result.added).toEqual(["c"]);
  });

  it("a table the user deleted takes back only the keys the release changed in it, not the whole table", () => {
    // Was: the whole table came back, every key the release left alone with it (`b.keep`, `b.c.y`),
    // though the user had deleted them and a deleted key stays deleted unless the release changes it.
    const base = { a: 1, b: { x: 1, keep: "v", c: { y: 2, z: 3 } } };
    const release = { a: 1, b: { x: 5, keep: "v", fresh: true, c: { y: 2, z: 4 } } };
    const result = merge3(format, base, { a: 1 }, release);
    expect(result.value).toEqual({ a: 1, b: { x: 5, fresh: true, c: { z: 4 } } });
    expect([result.kept, result.deleted]).toEqual([[], ["b.keep", "b.c.y"]]);
    expect(result.added).toEqual(["b.x", "b.fresh", "b.c.z"]);
  });

  it("a key the release dropped stays when the user changed it, inside tables too", () => {
    const base = { old: { x: 1, y: 2 }, gone: "v" };
    const current = { old: { x: 10, y: 2, mine: true }, gone: "v" };
    // The release keeps one key of its own: a copy holding none is kept whole (keyless-release.ts).
    const result = merge3(format, base, current, { k: 1 });
    expect(result.value).toEqual({ old: { x: 10, mine: true }, k: 1 });
    expect(result.kept).toEqual(["old.x", "old.mine"]);
    expect([...result.removed].sort()).toEqual(["gone", "old.y"]);
  });

  it("a key the user added to a table the release dropped is named in a WARNING (it was kept silently)", () => {
    const base = { name: "a", old: { x: 1 }, cache: { size: 1 } };
    const current = { name: "a", old: { x: 1, mine: 5, sub: { k: 1 } }, cache: { size: 1, ttl: 9 } };
    const result = merge3(format, base, current, { name: "a", new: { x: 1 } });
    expect(result.value).toEqual({
      name: "a",
      old: { mine: 5, sub: { k: 1 } },
      cache: { ttl: 9 },
      new: { x: 1 },
    });
    expect(result.kept).toEqual(["old.mine", "old.sub", "cache.ttl"]);
    expect(result.warnings).toEqual([
      "this release no longer has the table old, in which you had added the keys old.mine, old.sub: kept there, but the app may no longer read it; check the release's notes and move it if the table was renamed",
      "this release no longer has the table cache, in which you had added the key cache.ttl: kept there, but the app may no longer read it; check the release's notes and move it if the table was renamed",
    ]);
  });

  it.each(["update_only", "merge_smart"] as const)(
    "%s: in a table the release dropped, the key the user added or changed is named, not the table",
    (strategy) => {
      // Was: `this release no longer has the key old, whose value you had changed`, which key unsaid.
      const base = { name: "a", old: { x: 1, y: 1, t: { q: 1 } } };
      const current = { name: "a", old: { x: 2, y: 1, mine: 5, t: { q: 1, w: 3 } } };
      const result = mergeConfigFile({
        format,
        fileName: "f",
        base: write(format, base),
        current: write(format, current),
        incoming: write(format, { name: "b" }),
        strategy: strategy === "merge_smart" ? "preserve_user" : strategy,
        ...(strategy === "merge_smart" ? { sections: { old: "merge_smart" } } : {}),
      });
      expect(read(format, result.text)).toEqual({ ...current, name: strategy === "update_only" ? "a" : "b" });
      expect(result.kept).toEqual(strategy === "update_only" ? ["name", "old"] : ["old"]);
      expect(result.warnings).toEqual([
        "this release no longer has the key old.x, whose value you had changed: your value is kept there, but the app may no longer read it (a renamed setting takes the release's default under its new name); check the release's notes and move your value if it was renamed",
        "this release no longer has the table old, in which you had added the key old.mine: kept there, but the app may no longer read it; check the release's notes and move it if the table was renamed",
        "this release no longer has the table old.t, in which you had added the key old.t.w: kept there, but the app may no longer read it; check the release's notes and move it if the table was renamed",
      ]);
    },
  );

  it("a key the release dropped (renamed) while the user's changed value stays there is named in a WARNING", () => {
    // `timeout` renamed `timeout_s`: the user's 90 stayed under the old name and the app read the
    // new one's default, reported only as `kept` and `added`.
    const base = { timeout: 30, port: 80, db: { pool: 5, host: "a" } };
    const current = { timeout: 90, port: 80, db: { pool: 9, host: "a" } };
    const result = merge3(format, base, current, { timeout_s: 30, port: 80, db: { host: "a" } });
    expect(result.value).toEqual({ timeout: 90, port: 80, db: { pool: 9, host: "a" }, timeout_s: 30 });
    expect(result.warnings).toEqual([
      "this release no longer has the keys timeout, db.pool, whose value you had changed: your value is kept there, but the app may no longer read it (a renamed setting takes the release's default under its new name); check the release's notes and move your value if it was renamed",
    ]);
    // A dropped key the user never changed goes, as before, unsaid; update_only keeps it unsaid too.
    expect(merge3(format, base, base, { port: 80, db: { host: "a" } }).warnings).toEqual([]);
    const updateOnly = mergeConfigFile({
      format,
      fileName: "f",
      base: write(format, base),
      current: write(format, { ...base, timeout: 90 }),
      incoming: write(format, { port: 80, db: { host: "a", pool: 5 } }),
      strategy: "update_only",
    });
    expect(updateOnly.warnings).toEqual([expect.stringContaining("no longer has the key timeout, ")]);
  });

  it("a default the user never touched changes type with the release; a touched one does not, with a WARNING", () => {
    const base = { retry: 3, proxy: "none", hosts: "a", db: { host: "x" } };
    const current = { retry: 3, proxy: "http://p", hosts: "b", db: { host: "y" } };
    const incoming = { retry: { count: 3, delay: 1 }, proxy: { url: "" }, hosts: ["a"], db: "postgres://x" };
    const result = merge3(format, base, current, incoming);
    expect(result.value).toEqual({
      retry: { count: 3, delay: 1 },
      proxy: "http://p",
      hosts: "b",
      db: { host: "y" },
    });
    expect(result.updated).toEqual(["retry"]);
    expect(result.kept).toEqual(["proxy", "hosts", "db"]);
    // Said only as `kept`: the release's app may refuse the old form or ignore the setting.
    expect(result.warnings).toEqual([
      "this release writes these keys in another form than your copy, whose form is kept: proxy (the release: a table, yours: a single value), hosts (the release: a list, yours: a single value), db (the release: a single value, yours: a table); the app may no longer read them; check the release's notes and write your settings in the release's form",
    ]);
    expect(merge3(format, base, { ...base, proxy: "http://p" }, incoming).warnings).toEqual([
      "this release writes proxy as a table, your copy as a single value, which is kept: the app may no longer read it; check the release's notes and write your setting in the release's form",
    ]);
    if (format !== "toml") {
      // A whole file in another form: a list where the release writes a mapping.
      expect(merge3(format, { a: 1 }, [1, 2] as unknown as Doc, { a: 1, b: 2 }).warnings).toEqual([
        "this release's copy is a table as a whole, yours a list, which is kept: the app may no longer read it; check the release's notes and write your settings in the release's form",
      ]);
    }
  });

  it("a user value equal to the new release value is neither kept nor updated", () => {
    const result = merge3(format, { level: "info" }, { level: "debug" }, { level: "debug" });
    expect(result.value).toEqual({ level: "debug" });
    expect([result.kept, result.updated]).toEqual([[], []]);
  });

  it("an array the user never touched follows the release as a whole", () => {
    const result = merge3(format, { hosts: ["a", "b"] }, { hosts: ["a", "b"] }, { hosts: ["b", "c"] });
    expect(result.value).toEqual({ hosts: ["b", "c"] });
    expect(result.updated).toEqual(["hosts"]);
  });
});

describe.each(["toml", "yaml", "json"] as const)("a blank server copy (%s)", (format) => {
  // Three-way, a 0-byte copy (a disk that filled, a crashed editor) read as "the user deleted every
  // key": the merge wrote back only the keys the release changed, exit 0, and the app started with
  // a config missing everything else. It is merged as a missing file is installed. JSON was
  // refused (exit 2, "the file is empty") where merge_yaml on the same .json file took the
  // release's copy: the three formats now agree.
  const base = { host: "localhost", pool: 5, tls: { on: false } };
  const incoming = { host: "localhost", pool: 10, tls: { on: false }, retries: 3 };
  const mergeOnto = (current: string) =>
    mergeConfigFile({
      format,
      fileName: "f",
      base: write(format, base),
      current,
      incoming: write(format, incoming),
      strategy: "preserve_user",
    });

  it.each(["", "\n\n", "  \n"])("%j takes every key of the release, with a warning", (current) => {
    const result = mergeOnto(current);
    expect(read(format, result.text)).toEqual(incoming);
    expect([...result.added].sort()).toEqual(["host", "pool", "retries", "tls"]);
    expect(result.kept).toEqual([]);
    expect(result.warnings).toEqual([
      "your copy is empty: merged as a new copy (the release's keys added), not as every key deleted by you",
    ]);
  });

  it.each(["preserve_user", "update_only", "replace"] as const)(
    "without the previous release's copy, under %s too, every key of the release is added",
    (strategy) => {
      const incomingText = write(format, incoming);
      const result = mergeConfigFile({
        format,
        fileName: "f",
        current: "\n",
        incoming: incomingText,
        strategy,
      });
      expect(read(format, result.text)).toEqual(incoming);
      expect([...result.added].sort()).toEqual(["host", "pool", "retries", "tls"]);
      // JSON: the release's text is the new copy (a merge has no layout of the user's to follow).
      if (format === "json") expect(result.text).toBe(incomingText);
    },
  );

  it.skipIf(format === "json")("a copy of comments only is the user's choice: their deletions stay", () => {
    const current = format === "toml" ? "# host = 'x'\n" : "# host: x\n";
    const result = mergeOnto(current);
    expect(read(format, result.text)).toEqual({ pool: 10, retries: 3 });
    expect([...(result.deleted ?? [])].sort()).toEqual(["host", "tls"]);
    expect(result.kept).toEqual([]);
  });
});

describe.each(formats)("preserve_user: a list both sides changed (%s)", (format) => {
  it("keeps the user's list and names the release's change it did not take in a WARNING", () => {
    // Was kept without a word: the release's new item (or changed item) was dropped silently.
    const base = { name: "a", endpoints: [{ host: "a", port: 1 }], tags: ["x"] };
    const current = { name: "a", endpoints: [{ host: "a", port: 2 }], tags: ["x"] };
    const incoming = {
      name: "a",
      endpoints: [
        { host: "a", port: 1 },
        { host: "b", port: 1 },
      ],
      tags: ["x"],
    };
    const result = merge3(format, base, current, incoming);
    expect(result.value).toEqual(current);
    expect(result.kept).toEqual(["endpoints"]);
    expect(result.warnings).toEqual([
      "this release changed the list endpoints, which you had changed too: your list is kept whole (lists are merged as single values), so the release's change to it is not in your copy; compare it with the release's copy and carry the change over by hand",
    ]);
    // Only the user changed it, or only the release: nothing to say.
    expect(merge3(format, base, current, base).warnings).toEqual([]);
    expect(merge3(format, base, base, incoming).warnings).toEqual([]);
  });
});

describe.each(formats)("a release copy holding no keys (%s)", (format) => {
  // It turned the operator's YAML into `{}` and TOML into an empty file (every untouched key
  // removed, the changed ones kept), and JSON refused it: now all three leave the copy as it is.
  const texts: Record<(typeof formats)[number], { mine: string; empties: string[] }> = {
    toml: { mine: "# mine\na = 5\nb = 2\n", empties: ["", "\n\n", "# all defaults\n# a = 1\n"] },
    yaml: { mine: "# mine\na: 5\nb: 2\n", empties: ["", "\n", "# all defaults\n# a: 1\n", "---\n# a: 1\n"] },
    json: { mine: '{\n  "a": 5,\n  "b": 2\n}\n', empties: ["", " \n"] },
  };
  const { mine, empties } = texts[format];
  it.each(["preserve_user", "update_only", "replace"] as const)(
    "under %s leaves the operator's copy byte for byte, with a WARNING",
    (strategy) => {
      for (const incoming of empties) {
        for (const base of [write(format, { a: 1, b: 2 }), undefined]) {
          const result = mergeConfigFile({
            format,
            fileName: "f",
            current: `\uFEFF${mine.replaceAll("\n", "\r\n")}`,
            incoming,
            strategy,
            ...(base === undefined ? {} : { base }),
          });
          expect(result.text).toBe(`\uFEFF${mine.replaceAll("\n", "\r\n")}`);
          expect(result.kept).toEqual(["a", "b"]);
          expect([...result.added, ...result.updated, ...result.removed]).toEqual([]);
          expect(result.warnings).toEqual([
            expect.stringMatching(
              /^the release's copy holds no keys \((0 bytes|only white space|only comments)\): your copy was left as it is/,
            ),
          ]);
        }
      }
    },
  );

  it("merges the next release with keys as without a previous copy", () => {
    const result = mergeConfigFile({
      format,
      fileName: "f",
      current: write(format, { a: 5, b: 2 }),
      incoming: write(format, { a: 1, b: 2, c: 3 }),
      base: empties[0] as string,
      strategy: "preserve_user",
    });
    expect(read(format, result.text)).toEqual({ a: 5, b: 2, c: 3 });
    expect(result.added).toEqual(["c"]);
  });
});

describe.each(formats)("three-way: floats written with more than a double holds (%s)", (format) => {
  // Was: `0.1` and `0.10000000000000001`, `1e400` and `1e500`, read as one JS number each, so a
  // release changing one to the other was no change (its new default never reached a copy the
  // operator had not touched), and an operator's own such value was taken for the previous
  // release's and lost to the release's next default.
  const lines = (values: Record<string, string>) => {
    const pairs = Object.entries(values);
    if (format === "json") return `{\n${pairs.map(([k, v]) => `  "${k}": ${v}`).join(",\n")}\n}\n`;
    return pairs.map(([k, v]) => (format === "toml" ? `${k} = ${v}\n` : `${k}: ${v}\n`)).join("");
  };
  const merge = (
    base: Record<string, string>,
    current: Record<string, string>,
    incoming: Record<string, string>,
  ) =>
    mergeConfigFile({
      format,
      fileName: "f",
      base: lines(base),
      current: lines(current),
      incoming: lines(incoming),
      strategy: "preserve_user",
    });

  it("a default the release respells to another decimal of the same double reaches an untouched copy", () => {
    const base = { ratio: "0.1", limit: "1e400", tiny: "1e-400", port: "80" };
    const release = { ratio: "0.10000000000000001", limit: "1e500", tiny: "0.0", port: "80" };
    const result = merge(base, { ...base, port: "8080" }, release);
    expect(result.text).toBe(lines({ ...release, port: "8080" }));
    expect([result.updated, result.kept]).toEqual([["ratio", "limit", "tiny"], ["port"]]);
  });

  it("the operator's value beyond a double is theirs, kept over the release's new default", () => {
    const result = merge({ ratio: "0.1" }, { ratio: "0.10000000000000001" }, { ratio: "0.25" });
    expect(result.text).toBe(lines({ ratio: "0.10000000000000001" }));
    expect(result.kept).toEqual(["ratio"]);
  });

  it("a value only respelled (0.100 for 0.1) is no change of the operator's: the new default follows", () => {
    const result = merge({ ratio: "0.1" }, { ratio: "0.100" }, { ratio: "0.25" });
    expect(result.text).toBe(lines({ ratio: "0.25" }));
    expect([result.updated, result.kept]).toEqual([["ratio"], []]);
  });
});

describe.each(formats)("three-way: floats beyond a double inside lists and tables (%s)", (format) => {
  // Was: only a float on a key's own line was compared as written; one in a list, an inline table
  // or an array of tables (TOML), a YAML list, or reached through a YAML alias or `<<`, compared as
  // its double, so a release's `[0.1]` → `[0.10000000000000001]` or `1e400` → `1e500` there never
  // reached a copy the operator had not touched, and the operator's own such value was lost.
  const texts: Record<typeof format, (ratio: string, limit: string, port: string) => string> = {
    toml: (ratio, limit, port) =>
      `port = ${port}\nlist = [${ratio}, ${limit}]\ninline = { ratio = ${ratio} }\nnested = [{ ratio = ${ratio} }]\n\n[[servers]]\nratio = ${ratio}\n`,
    json: (ratio, limit, port) =>
      `{\n  "port": ${port},\n  "list": [${ratio}, ${limit}],\n  "inline": {"ratio": ${ratio}},\n  "servers": [\n    {"ratio": ${ratio}}\n  ]\n}\n`,
    yaml: (ratio, limit, port) =>
      `port: ${port}\nlist: [${ratio}, ${limit}]\nblock:\n  - ${ratio}\nservers:\n  - ratio: ${ratio} # per server\n`,
  };
  const text = texts[format];
  const merge = (base: string, current: string, incoming: string) =>
    mergeConfigFile({ format, fileName: "f", base, current, incoming, strategy: "preserve_user" });

  it("a release's new default written past a double reaches an untouched copy", () => {
    const base = text("0.1", "1e400", "80");
    const result = merge(base, text("0.1", "1e400", "8080"), text("0.10000000000000001", "1e500", "80"));
    expect(result.text).toBe(text("0.10000000000000001", "1e500", "8080"));
    expect(result.kept).toEqual(["port"]);
    const updated = {
      toml: ["list", "inline.ratio", "nested", "servers"],
      json: ["list", "inline.ratio", "servers"],
    };
    expect(result.updated).toEqual(format === "yaml" ? ["list", "block", "servers"] : updated[format]);
  });

  it("the operator's own value past a double is kept over the release's next default", () => {
    const mine = text("0.10000000000000001", "1e500", "80");
    const result = merge(text("0.1", "1e400", "80"), mine, text("0.25", "1e300", "80"));
    expect(result.text).toBe(mine);
    expect(result.updated).toEqual([]);
  });
});

describe("three-way: YAML floats past a double reached through an alias or a merge key", () => {
  // Was: a document with aliases skipped an edit whose value read as the same double as it stood
  // (`alreadyShown`), so the anchor kept `0.1` though the key report said `updated`.
  const text = (ratio: string) =>
    `defaults: &defaults\n  ratio: ${ratio}\nweb:\n  <<: *defaults\n  port: 80\nshared: &r ${ratio}\nagain: *r\n`;
  it("the release's change at the anchor reaches the copy and every key that follows it", () => {
    const result = mergeConfigFile({
      format: "yaml",
      fileName: "f",
      base: text("0.1"),
      current: text("0.1"),
      incoming: text("0.10000000000000001"),
      strategy: "preserve_user",
    });
    expect(result.text).toBe(text("0.10000000000000001"));
    expect(result.updated).toEqual(["defaults.ratio", "web.ratio", "shared", "again"]);
  });
});

describe.each(formats)("three-way: zero written with a sign or an exponent (%s)", (format) => {
  // Was: `-0.0` and `0.0` (and JSON's `-0` and `0`) were two values, so a release or a tool writing
  // the other spelling was taken for a change: a new default reported, or the operator's `-0.0` taken
  // for their own value and kept over the release's next default.
  const zeros = {
    toml: ["0.0", "-0.0", "+0.0", "0e0"],
    json: ["0.0", "-0.0", "0e0", "0.0"],
    yaml: ["0.0", "-0.0", "+0.0", "0e0"],
  }[format];
  const ints = { toml: ["0", "-0", "+0"], json: ["0", "-0", "0"], yaml: ["0", "-0", "+0"] }[format];
  const text = (zero: string, int: string, port: string) =>
    format === "json"
      ? `{\n  "ratio": ${zero},\n  "offset": ${int},\n  "list": [${zero}],\n  "port": ${port}\n}\n`
      : format === "toml"
        ? `ratio = ${zero}\noffset = ${int}\nlist = [${zero}]\nport = ${port}\n`
        : `ratio: ${zero}\noffset: ${int}\nlist: [${zero}]\nport: ${port}\n`;
  const merge = (base: string, current: string, incoming: string) =>
    mergeConfigFile({ format, fileName: "f", base, current, incoming, strategy: "preserve_user" });

  it.each(zeros.slice(1).map((zero, i) => [zero, ints[Math.min(i + 1, ints.length - 1)] as string]))(
    "a release respelling zero as %s (and the integer as %s) changes no value",
    (zero, int) => {
      const base = text(zeros[0] as string, ints[0] as string, "80");
      const result = merge(base, base, text(zero, int, "81"));
      expect(result.text).toBe(text(zeros[0] as string, ints[0] as string, "81"));
      expect(result.updated).toEqual(["port"]);
    },
  );

  it("the operator's -0.0 is no change of theirs: the release's new default follows", () => {
    const result = merge(text("0.0", "0", "80"), text("-0.0", "-0", "80"), text("0.5", "3", "80"));
    expect(result.text).toBe(text("0.5", "3", "80"));
    expect(result.kept).toEqual([]);
  });
});

describe.each(formats)("the previous release's copy the install index names is gone (%s)", (format) => {
  // Two-way, a value at the previous release's default reads as the operator's: said, not silent.
  const merge = (strategy: "preserve_user" | "update_only" | "replace", extra: object = {}) =>
    mergeConfigFile({
      format,
      fileName: "f",
      current: write(format, { a: 10, b: 2 }),
      incoming: write(format, { a: 1, b: 20, c: 3 }),
      strategy,
      baseGone: "/state/base/0123",
      ...extra,
    });

  it("preserve_user: a WARNING naming ship's copy and the values kept that may be its defaults", () => {
    const result = merge("preserve_user");
    expect(read(format, result.text)).toEqual({ a: 10, b: 2, c: 3 });
    expect(result.warnings).toEqual([
      expect.stringMatching(
        /^ship's copy of the previous release's file is gone \(\/state\/base\/0123\), .*kept as yours \(a, b\)/,
      ),
    ]);
  });

  it("a section that merges three-way says it too; replace, whose outcome it does not change, does not", () => {
    expect(merge("update_only", { sections: { a: "preserve_user" } }).warnings).toHaveLength(1);
    expect(merge("replace").warnings.filter((w) => w.includes("is gone"))).toEqual([]);
  });

  it("a key the operator deleted reads as new and comes back: the WARNING names the keys added (update_only, preserve_user)", () => {
    // Was: under update_only no word at all, under preserve_user only the values kept; `host`,
    // deleted by the operator, came back reported `added` like a new key.
    const gone = (strategy: "preserve_user" | "update_only") =>
      mergeConfigFile({
        format,
        fileName: "f",
        current: write(format, { port: 8080, workers: 2 }),
        incoming: write(format, { port: 81, host: "a", workers: 2, fresh: 1 }),
        strategy,
        baseGone: "/state/base/0123",
      });
    for (const strategy of ["update_only", "preserve_user"] as const) {
      const result = gone(strategy);
      expect(read(format, result.text)).toEqual({ port: 8080, workers: 2, host: "a", fresh: 1 });
      expect(result.added).toEqual(["host", "fresh"]);
      expect(result.warnings).toEqual([
        expect.stringContaining(
          "the keys your copy lacked were added (host, fresh), so any of them you had deleted is back: delete it again",
        ),
      ]);
    }
    expect(gone("update_only").warnings[0]).toMatch(
      /^ship's copy of the previous release's file is gone \(\/state\/base\/0123\), so the merge could not tell the keys you had deleted from keys new in this release: /,
    );
    // Nothing added: update_only keeps every value of the operator's with or without the copy.
    const none = mergeConfigFile({
      format,
      fileName: "f",
      current: write(format, { a: 10, b: 2 }),
      incoming: write(format, { a: 1, b: 2 }),
      strategy: "update_only",
      baseGone: "/state/base/0123",
    });
    expect(none.warnings).toEqual([]);
  });
});

describe.each(formats)("update_only three-way (%s)", (format) => {
  const merge = (base: Doc, current: Doc, incoming: Doc) => {
    const result = mergeConfigFile({
      format,
      fileName: "f",
      base: write(format, base),
      current: write(format, current),
      incoming: write(format, incoming),
      strategy: "update_only",
    });
    return { ...result, value: read(format, result.text) };
  };

  it("a key the operator deleted stays deleted, reported deleted, also when the release changed it; a new key is added", () => {
    // Was: every key the operator's copy lacked came back, reported `added` like a new key.
    const result = merge(
      { port: 80, host: "a", workers: 2 },
      { port: 8080, workers: 2 },
      {
        port: 81,
        host: "b",
        workers: 4,
        fresh: 1,
      },
    );
    expect(result.value).toEqual({ port: 8080, workers: 2, fresh: 1 });
    expect([result.kept, result.added, result.deleted]).toEqual([["port", "workers"], ["fresh"], ["host"]]);
    expect(result.warnings).toEqual([]);
  });

  it("a table the operator deleted takes back only the keys new in it, under its header", () => {
    const base = { a: 1, db: { host: "x", pool: { size: 5 } } };
    const release = { a: 1, db: { host: "y", tls: true, pool: { size: 5, idle: 3 } }, gone: { k: 1 } };
    const result = merge({ ...base, gone: { k: 1 } }, { a: 1 }, release);
    expect(result.value).toEqual({ a: 1, db: { tls: true, pool: { idle: 3 } } });
    expect(result.added).toEqual(["db.tls", "db.pool.idle"]);
    expect(result.deleted).toEqual(["db.host", "db.pool.size", "gone"]);
  });
});
