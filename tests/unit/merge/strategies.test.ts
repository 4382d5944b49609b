import { describe, expect, it } from "vitest";
import { type MergeInput, mergeConfigFile, mergeFormatOf } from "../../../agent/merge/index.js";
import { formats, read, write } from "./formats.js";

type Doc = Record<string, unknown>;

interface Case {
  name: string;
  strategy: MergeInput["strategy"];
  current: Doc;
  incoming: Doc;
  base?: Doc;
  expected: Doc;
  kept?: string[];
  added?: string[];
  updated?: string[];
  removed?: string[];
}

// The server's copy: the user changed port and added a key; the release changes workers and
// timeout, adds a table and a key, and drops `legacy`.
const base: Doc = { app: { port: 8080, workers: 2, legacy: true }, log: { level: "info" } };
const current: Doc = { app: { port: 9090, workers: 2, legacy: true, mine: "x" }, log: { level: "info" } };
const incoming: Doc = {
  app: { port: 8000, workers: 4, timeout: 30 },
  log: { level: "info", format: "json" },
  cache: { size: 64 },
};

const cases: Case[] = [
  {
    name: "replace: the release's file wins",
    strategy: "replace",
    current,
    incoming,
    expected: incoming,
    updated: ["app.port", "app.workers"],
    removed: ["app.legacy", "app.mine"],
    added: ["app.timeout", "log.format", "cache"],
  },
  {
    name: "update_only: only missing keys are added; a key the release dropped stays, reported kept",
    strategy: "update_only",
    current,
    incoming,
    base,
    expected: {
      app: { port: 9090, workers: 2, legacy: true, mine: "x", timeout: 30 },
      log: { level: "info", format: "json" },
      cache: { size: 64 },
    },
    // `legacy` was in the previous release and this one dropped it: the user's copy keeps it, over
    // the release's removal. `mine` only the user ever had: nothing to report.
    kept: ["app.port", "app.workers", "app.legacy"],
    added: ["app.timeout", "log.format", "cache"],
    updated: [],
    removed: [],
  },
  {
    name: "preserve_user without base: every user value kept, new keys added",
    strategy: "preserve_user",
    current,
    incoming,
    expected: {
      app: { port: 9090, workers: 2, legacy: true, mine: "x", timeout: 30 },
      log: { level: "info", format: "json" },
      cache: { size: 64 },
    },
    kept: ["app.port", "app.workers"],
    added: ["app.timeout", "log.format", "cache"],
    updated: [],
    removed: [],
  },
  {
    name: "preserve_user with base: untouched values follow the release, dropped keys go",
    strategy: "preserve_user",
    current,
    incoming,
    base,
    expected: {
      app: { port: 9090, workers: 4, mine: "x", timeout: 30 },
      log: { level: "info", format: "json" },
      cache: { size: 64 },
    },
    kept: ["app.port"],
    updated: ["app.workers"],
    removed: ["app.legacy"],
    added: ["app.timeout", "log.format", "cache"],
  },
  {
    name: "identical files: nothing to report",
    strategy: "preserve_user",
    current: incoming,
    incoming,
    base,
    expected: incoming,
    kept: [],
    added: [],
    updated: [],
    removed: [],
  },
];

describe.each(formats)("mergeConfigFile (%s)", (format) => {
  it.each(cases)("$name", (c) => {
    const result = mergeConfigFile({
      format,
      fileName: `config.${format}`,
      current: write(format, c.current),
      incoming: write(format, c.incoming),
      base: c.base === undefined ? undefined : write(format, c.base),
      strategy: c.strategy,
    });
    expect(read(format, result.text)).toEqual(c.expected);
    for (const report of ["kept", "added", "updated", "removed"] as const) {
      const want = c[report];
      if (want !== undefined) expect([...result[report]].sort()).toEqual([...want].sort());
    }
  });

  it("a merge_smart section keeps a key the release dropped, reported kept; one only the user had is not", () => {
    const result = mergeConfigFile({
      format,
      fileName: `config.${format}`,
      current: write(format, current),
      incoming: write(format, incoming),
      base: write(format, base),
      strategy: "preserve_user",
      sections: { app: "merge_smart" },
    });
    expect(read(format, result.text)).toEqual({
      app: { port: 8000, workers: 4, legacy: true, mine: "x", timeout: 30 },
      log: { level: "info", format: "json" },
      cache: { size: 64 },
    });
    expect(result.kept).toEqual(["app.legacy"]);
  });

  it("replace returns the release's exact text", () => {
    const incomingText = write(format, incoming);
    const result = mergeConfigFile({
      format,
      fileName: "f",
      current: write(format, current),
      incoming: incomingText,
      strategy: "replace",
    });
    expect(result.text).toBe(incomingText);
  });

  it("replace leaves a copy that already holds the release's values byte for byte, comments included", () => {
    // With a section (even one naming the whole file's strategy) it already did; without one the
    // release's text took the operator's comments away although no value changed.
    const values = write(format, incoming);
    const commented = format === "json" ? values.replace(/\n/g, "\n  ") : `# ops: checked 2024-05\n${values}`;
    for (const sections of [undefined, { app: "replace" as const }]) {
      const result = mergeConfigFile({
        format,
        fileName: "f",
        current: commented,
        incoming: values,
        base: write(format, base),
        strategy: "replace",
        ...(sections === undefined ? {} : { sections }),
      });
      expect(result.text).toBe(commented);
      expect(result.warnings).toEqual([]);
      expect([...result.updated, ...result.added, ...result.removed]).toEqual([]);
    }
  });

  it("an unchanged merge returns the server's text byte for byte", () => {
    const currentText = write(format, current);
    const result = mergeConfigFile({
      format,
      fileName: "f",
      current: currentText,
      incoming: write(format, { app: { port: 1 } }),
      strategy: "update_only",
    });
    expect(result.text).toBe(currentText);
    expect(result.kept).toEqual(["app.port"]);
  });

  it("arrays are values, and a type change keeps the user's value where user values are kept", () => {
    const mine: Doc = { hosts: ["a", "b"], db: { url: "x" }, mode: "fast" };
    const theirs: Doc = { hosts: ["a", "c", "d"], db: "postgres://", mode: { name: "slow" } };
    const kept = mergeConfigFile({
      format,
      fileName: "f",
      current: write(format, mine),
      incoming: write(format, theirs),
      strategy: "preserve_user",
    });
    expect(read(format, kept.text)).toEqual(mine);
    expect([...kept.kept].sort()).toEqual(["db", "hosts", "mode"]);

    const replaced = mergeConfigFile({
      format,
      fileName: "f",
      current: write(format, mine),
      incoming: write(format, theirs),
      strategy: "preserve_user",
      sections: { db: "replace", hosts: "replace", mode: "merge_smart" },
    });
    expect(read(format, replaced.text)).toEqual(theirs);
    expect([...replaced.updated].sort()).toEqual(["db", "hosts", "mode"]);
  });
});

const REPLACED = (keys: string) =>
  `merge_strategy replace took the release's values over your changes to the ${keys.includes(",") ? "keys" : "key"} ${keys} (changed, added or deleted since the previous release's copy); your copy is in this update's backup (ship --list-backups); to keep such a value, list it in preserve_keys or use preserve_user`;

describe("replace and merge_smart name the user's values they took over", () => {
  // Before: base port 80, the user's 8080, the release's 80 → `updated port` and not a word, the
  // same report as a default the release changed (level below).
  const shipped = { port: 80, level: "info", debug: true, db: { host: "localhost", pool: 5 } };
  const mine = { port: 8080, level: "info", db: { host: "db.internal", pool: 5, password: "s3cret" } };
  const next = { port: 80, level: "debug", debug: true, db: { host: "localhost", pool: 10 } };

  it.each(formats)(
    "%s: replace names the values the user changed, added or deleted, not the release's changes",
    (format) => {
      const result = mergeConfigFile({
        format,
        fileName: "f",
        base: write(format, shipped),
        current: write(format, mine),
        incoming: write(format, next),
        strategy: "replace",
      });
      expect(read(format, result.text)).toEqual(next);
      expect([...result.updated].sort()).toEqual(["db.host", "db.pool", "level", "port"]);
      expect(result.warnings[0]).toBe(REPLACED("port, db.host, db.password, debug"));
    },
  );

  it.each(formats)(
    "%s: a merge_smart section names the section and the user's value it replaced",
    (format) => {
      const result = mergeConfigFile({
        format,
        fileName: "f",
        base: write(format, shipped),
        current: write(format, mine),
        incoming: write(format, next),
        strategy: "preserve_user",
        sections: { db: { strategy: "merge_smart", preserve_keys: ["password"] } },
      });
      expect(read(format, result.text)).toEqual({
        ...next,
        port: 8080,
        debug: undefined,
        db: { ...next.db, password: "s3cret" },
      });
      expect(result.warnings).toEqual([
        `the merge_strategies section "db" (merge_smart) took the release's values over your changes to the key db.host (changed, added or deleted since the previous release's copy); your copy is in this update's backup (ship --list-backups); to keep such a value, list it in preserve_keys or use preserve_user`,
      ]);
    },
  );

  it("no previous release's copy, or one that does not parse: nothing to tell the user's values by, no WARNING", () => {
    for (const base of [undefined, "port = = 1\n"]) {
      const result = mergeConfigFile({
        format: "toml",
        fileName: "f",
        ...(base === undefined ? {} : { base }),
        current: "port = 8080\n",
        incoming: "port = 80\n",
        strategy: "replace",
      });
      expect(result.text).toBe("port = 80\n");
      expect(result.warnings).toEqual([]);
    }
  });
});

describe("replace says what of the user's file went", () => {
  // Before: the release's text replaced the file with no warning, though the user's comments went
  // (the README: every comment of yours that is gone is named in a WARNING, whatever the cause).
  it.each([
    [
      "toml",
      "# shipped\nport = 8080\n",
      "# shipped\n# ops: keep 9090 for the LB\nport = 9090 # mine\n",
      "port = 8000\n",
    ],
    [
      "yaml",
      "# shipped\nport: 8080\n",
      "# shipped\n# ops: keep 9090 for the LB\nport: 9090 # mine\n",
      "port: 8000\n",
    ],
  ] as const)(
    "%s: the user's comments are named, the release's own are not",
    (format, base, current, incoming) => {
      const result = mergeConfigFile({ format, fileName: "f", base, current, incoming, strategy: "replace" });
      expect(result.text).toBe(incoming);
      expect(result.updated).toEqual(["port"]);
      expect(result.warnings).toEqual([
        REPLACED("port"),
        "your comments are not in the merged file (the release's copy replaced yours whole, as merge_strategy replace does): # ops: keep 9090 for the LB (line 2), # mine (line 3)",
      ]);
    },
  );

  it("comments above a key the release did not drop are not said to have gone with the dropped one", () => {
    // Was: "your comments went with the keys the merge removed (old): # mine, # five", naming a key
    // that had nothing to do with them.
    const result = mergeConfigFile({
      format: "yaml",
      fileName: "f",
      base: "a: 1\nold: 2\n",
      current: "# mine\na: 5 # five\nold: 2\n",
      incoming: "a: 1\nnew: 3\n",
      strategy: "replace",
    });
    expect(result.removed).toEqual(["old"]);
    expect(result.warnings).toEqual([
      REPLACED("a"),
      "your comments are not in the merged file (the release's copy replaced yours whole, as merge_strategy replace does): # mine (line 1), # five (line 2)",
    ]);
  });

  it("a server copy that does not parse is replaced whole, and the warning says so", () => {
    const result = mergeConfigFile({
      format: "toml",
      fileName: "f",
      current: "port = = 1 # mine\n",
      incoming: "port = 8000\n",
      strategy: "replace",
    });
    expect(result.text).toBe("port = 8000\n");
    // It said neither why nor that the user's values and comments went, nor where their copy is.
    expect(result.warnings).toEqual([
      "your copy does not parse (line 1, column 8: invalid value): took the release's copy whole, so nothing of yours in it is kept (your comments: # mine (line 1)); your copy is in this update's backup (ship --list-backups)",
    ]);
  });

  it("nothing of the user's went: no warning", () => {
    const text = "# shipped\nport = 8000\n";
    const result = mergeConfigFile({
      format: "toml",
      fileName: "f",
      current: "# shipped\nport = 8080\n",
      incoming: text,
      strategy: "replace",
    });
    expect(result.warnings).toEqual([]);
  });
});

describe("mergeFormatOf", () => {
  it("maps merge actions to formats and other actions to undefined", () => {
    expect(mergeFormatOf("merge_toml")).toBe("toml");
    expect(mergeFormatOf("merge_json")).toBe("json");
    expect(mergeFormatOf("merge_yaml")).toBe("yaml");
    expect(mergeFormatOf("replace")).toBeUndefined();
    expect(mergeFormatOf("backup_replace")).toBeUndefined();
  });
});

describe("key report names", () => {
  /** A preserve_user merge of a file the user left as the last release installed it. */
  const mergeUntouched = (format: "json" | "yaml" | "toml", base: string, incoming: string) =>
    mergeConfigFile({ format, fileName: "f", base, current: base, incoming, strategy: "preserve_user" });

  it.each([
    ["json", "[1, 2]\n", "[1, 2, 3]\n"],
    ["yaml", "- a\n- b\n", "- a\n- b\n- c\n"],
    ["yaml", "hello\n", "bye\n"],
  ] as const)(
    "%s: a file whose top value is a list or scalar is '(the whole file)', not ''",
    (format, base, incoming) => {
      const result = mergeUntouched(format, base, incoming);
      expect(result.text).toBe(incoming);
      expect(result.updated).toEqual(["(the whole file)"]);
    },
  );

  it.each([
    ["toml", '"a.b" = 1\na = { b = 1 }\n', '"a.b" = 2\na = { b = 2 }\n'],
    ["json", '{"a.b": 1, "a": {"b": 1}}\n', '{"a.b": 2, "a": {"b": 2}}\n'],
    ["yaml", '"a.b": 1\na:\n  b: 1\n', '"a.b": 2\na:\n  b: 2\n'],
  ] as const)(
    "%s: a key holding a dot is quoted, so it is not read as a nested key",
    (format, base, incoming) => {
      const result = mergeUntouched(format, base, incoming);
      expect(result.updated).toEqual(['"a.b"', "a.b"]);
    },
  );
});
