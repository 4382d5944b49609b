import { Minimatch } from "minimatch";
import { describe, expect, it, vi } from "vitest";
import { isPrivileged } from "../../../agent/apply/privileged-files.js";
import { ruleFor } from "../../../agent/apply/rules.js";
import { compileGlob } from "../../../shared/manifest/glob-matcher.js";
import { parseManifestText } from "../../../shared/manifest/load.js";
import { findFileRule, protectedDirectoryOf } from "../../../shared/manifest/rules.js";
import { type FileRule, Manifest } from "../../../shared/manifest/schema.js";

const manifest = parseManifestText(
  [
    'version: "1.0.0"',
    "files:",
    '  "config/*.toml": { action: merge_toml }',
    '  "config/app.toml": { action: skip }', // exact, though listed after a matching glob
    '  "**/*.py": { action: backup_replace }',
    '  "src/**/*.py": { action: skip }', // never reached: the glob above matches first
    '  ".env": { action: skip }',
    '  "*": { action: merge_json, merge_strategy: update_only }',
    "directories:",
    "  data: { preserve: true }",
    "  data/cache: { preserve: false }",
    "  cache: { preserve: false }",
    "  ./uploads/: { preserve: true }",
  ].join("\n"),
  "m.yaml",
).manifest;

describe("findFileRule", () => {
  it.each([
    ["config/app.toml", "config/app.toml", "skip"], // exact beats an earlier glob
    ["config/db.toml", "config/*.toml", "merge_toml"],
    ["src/deep/x.py", "**/*.py", "backup_replace"], // first glob in file order wins
    ["top.py", "**/*.py", "backup_replace"], // ** matches zero directories
    [".env", ".env", "skip"],
    [".hidden", "*", "merge_json"], // dotfiles match globs
    ["./.env", ".env", "skip"], // a leading ./ is ignored
    ["README.md", "*", "merge_json"],
  ])("%s → %s", (path, pattern, action) => {
    const found = findFileRule(manifest, path);
    expect(found.pattern).toBe(pattern);
    expect(found.rule.action).toBe(action);
  });

  it("files no rule names are replaced (matchBase off: * does not cross directories)", () => {
    expect(findFileRule(manifest, "docs/guide.md")).toEqual({
      pattern: null,
      rule: { action: "replace", merge_strategy: "preserve_user", backup: false },
    });
  });

  it("applies defaults of the matched rule", () => {
    expect(findFileRule(manifest, "config/db.toml").rule).toEqual({
      action: "merge_toml",
      merge_strategy: "preserve_user",
      backup: false,
    });
  });

  it("a manifest without files replaces everything", () => {
    const bare = parseManifestText('version: "1"\n', "m.yaml").manifest;
    expect(findFileRule(bare, ".env").rule.action).toBe("replace");
  });
});

describe("protectedDirectoryOf", () => {
  it.each([
    ["data", "data"],
    ["data/users/1.json", "data"],
    ["database.py", null], // whole segments only
    ["data/cache/x", null], // the more specific entry is not preserved
    ["cache/x", null],
    ["uploads/a.png", "./uploads/"], // returned as written in the manifest
    ["src/data/x", null],
  ])("%s → %s", (path, expected) => {
    expect(protectedDirectoryOf(manifest, path)).toBe(expected);
  });
});

describe("findFileRule: a skip rule on a directory covers what is in it", () => {
  const seedLike = parseManifestText(
    [
      'version: "1.0.0"',
      "files:",
      '  "lib/*.py": { action: backup_replace }',
      '  "secrets/*": { action: skip }', // the seed's own example: "never touch"
      '  "vendor": { action: skip }', // a key naming a directory
      '  "**/*.py": { action: replace }',
      '  "config/*": { action: merge_json }',
    ].join("\n"),
    "m.yaml",
  ).manifest;

  it.each([
    ["secrets/api.key", "secrets/*", "skip"],
    ["secrets/db/password", "secrets/*", "skip"], // the seed's fnmatch crossed directories
    ["secrets/db/deep/x.py", "secrets/*", "skip"], // before the later **/*.py in file order
    ["vendor/pkg/mod.js", "vendor", "skip"],
    ["lib/a.py", "lib/*.py", "backup_replace"],
    ["config/app.json", "config/*", "merge_json"],
  ])("%s → %s (%s)", (path, pattern, action) => {
    const found = findFileRule(seedLike, path);
    expect(found.pattern).toBe(pattern);
    expect(found.rule.action).toBe(action);
  });

  it("other actions still match files only: config/* does not reach config/sub/x.json", () => {
    expect(findFileRule(seedLike, "config/sub/x.json").pattern).toBeNull();
  });

  it("an earlier rule matching the file itself wins over a later skip on its directory", () => {
    const ordered = parseManifestText(
      [
        'version: "1"',
        "files:",
        '  "secrets/db/*.sql": { action: replace }',
        '  "secrets/*": { action: skip }',
      ].join("\n"),
      "m.yaml",
    ).manifest;
    expect(findFileRule(ordered, "secrets/db/schema.sql").rule.action).toBe("replace");
    expect(findFileRule(ordered, "secrets/db/password").rule.action).toBe("skip");
  });
});

/**
 * The first-segment filter in front of minimatch (glob-matcher.ts) must never change a choice: each
 * compiled glob answers as plain minimatch does, and findFileRule picks what a plain reading of its
 * contract (exact key, then the first glob matching the file or, for a skip rule, a directory
 * above it) picks, over overlapping globs, dotfiles, case, `./`, braces, negations and comments.
 */
describe("findFileRule: the glob filter keeps exactly minimatch's choice", () => {
  const patterns = [
    "config/*.toml",
    "config/**/*.toml",
    "Config/*.toml",
    "config/",
    "config",
    "logs/**",
    "{logs,tmp}/**",
    "{config,etc}/*.y?(a)ml",
    "{a,**}/x",
    "{x,y/*}/z",
    "x/{1..3}/y",
    "**/x",
    "**/*.py",
    "src/**/*.py",
    "./c/*.t",
    "c/*.t",
    "a/b",
    "!a/*",
    "!config/**",
    "a/{b,c}*/d",
    "A/*",
    "#x",
    "a/**/b",
    "[ab]/x",
    "a\\*b/c",
    "a/./b/*",
    "a/../b/*",
    ".env",
    ".*/**",
    "*",
    "*/",
    "secrets/*",
    "secrets",
    "d00?/f1*.dat",
    "d000/**",
    "+(a|b)/x",
    "@(config)/*",
    "/abs/*",
    "",
    // No literal first segment: filtered by their last segment.
    "*.toml",
    "**/*.{py,pyc}",
    "**/*.t?ml",
    "**/Makefile",
    "**/.env",
    "**/*.+(py|pyc)",
    "**/*.[ch]",
    "**/x\\.py",
    "**/*.py/**",
    "**/*.py/",
    "*/b",
    "{**/*.py,config/*}",
    "?(a|b)/*.dat",
  ];
  const paths = [
    "config/app.toml",
    "config/.hidden.toml",
    "config/sub/x.toml",
    "config",
    "Config/app.toml",
    "CONFIG/app.toml",
    "config//app.toml",
    "./config/app.toml",
    "config/",
    "etc/app.yaml",
    "etc/app.yml",
    ".env",
    "./.env",
    "a/.env",
    "logs",
    "logs/x.log",
    "logs/.keep",
    "logs/deep/er/x",
    "logsx/y",
    "tmp/a",
    "a/b",
    "a/c",
    "a/bb/d",
    "a/cc/d",
    "a/x",
    "b/x",
    "x",
    "y/q/z",
    "x/z",
    "x/2/y",
    "x/4/y",
    "c/x.t",
    "./c/x.t",
    "a*b/c",
    "a/./b/q",
    "b/q",
    "secrets/db/password",
    "secrets/db",
    "secrets",
    "d000/f1.dat",
    "d001/f10.dat",
    "d010/f1.dat",
    "src/deep/x.py",
    "top.py",
    ".git/x",
    ".ssh/k",
    "/abs/x",
    "abs/x",
    "#x",
    "",
    "x.py/",
    "src/x.py/",
    "src/x.py//",
    "src/x.pyc",
    "a/b/",
    "a//",
    "/",
    "//",
    ".py",
    "src/.py",
    "Makefile",
    "a/Makefile/",
    "a/Makefile.bak",
    "x.toml",
    "a/x.tml",
    "src/a.h",
    "src/a.c",
    "src/x.py/deep",
    "a/x.dat",
  ];
  const options = { dot: true, matchBase: false };

  const plain = new Map(patterns.map((pattern) => [pattern, new Minimatch(pattern, options)]));

  it("each compiled glob answers as plain minimatch over every path (matchBase too, as cleanup uses it)", () => {
    const differ: string[] = [];
    for (const matchBase of [false, true]) {
      for (const pattern of [...patterns, "f1.dat", "x.toml", "password", "*.py", "x.p?"]) {
        const compiled = compileGlob(pattern, { dot: true, matchBase });
        const reference = new Minimatch(pattern, { dot: true, matchBase });
        for (const path of [...paths, "deep/down/f1.dat", "config/x.toml"])
          if (compiled.match(path) !== reference.match(path)) differ.push(`${matchBase} ${pattern} ${path}`);
      }
    }
    expect(differ).toEqual([]);
  });

  /** findFileRule's contract with plain minimatch and nothing cached. */
  function plainChoice(files: Record<string, FileRule>, relPath: string): string | null {
    const path =
      relPath.startsWith("./") || relPath.endsWith("/")
        ? relPath.replace(/^(\.\/)+/, "").replace(/\/+$/, "")
        : relPath;
    if (Object.hasOwn(files, path)) return path;
    const parts = path.split("/");
    const dirs = parts.slice(1).map((_, i) => parts.slice(0, i + 1).join("/"));
    for (const [pattern, rule] of Object.entries(files)) {
      const glob = plain.get(pattern) as Minimatch;
      if (glob.match(path)) return pattern;
      if (rule.action === "skip" && dirs.some((dir) => dir === pattern || glob.match(dir))) return pattern;
    }
    return null;
  }

  it("the rule chosen for each path is plain minimatch's, for every ordered pair of globs", () => {
    const actions = ["skip", "replace", "merge_toml"] as const;
    const base = Manifest.parse({ version: "1.0.0" });
    const differ: string[] = [];
    let compared = 0;
    for (const [i, first] of patterns.entries()) {
      for (const [j, second] of patterns.entries()) {
        if (i === j) continue;
        const files: Record<string, FileRule> = {
          [first]: { action: actions[i % 3] ?? "skip", merge_strategy: "preserve_user", backup: false },
          [second]: { action: actions[j % 3] ?? "skip", merge_strategy: "preserve_user", backup: false },
        };
        const manifest = { ...base, files };
        for (const path of paths) {
          const chosen = findFileRule(manifest, path).pattern;
          if (chosen !== plainChoice(files, path)) differ.push(`${first} | ${second}: ${path} -> ${chosen}`);
          compared++;
        }
      }
    }
    expect(differ).toEqual([]);
    expect(compared).toBe(patterns.length * (patterns.length - 1) * paths.length);
  });
});

describe("findFileRule: a glob costs what it can match", () => {
  it("privileged_files patterns are compiled once and asked only about paths under them", () => {
    const privileged = ["bin/helper", "{sbin,libexec}/*"];
    const paths = Array.from({ length: 2_000 }, (_, i) => `d${String(i % 100).padStart(3, "0")}/f${i}.dat`);
    paths.push("bin/helper", "sbin/mount-app", "bin/other");
    const match = vi.spyOn(Minimatch.prototype, "match");
    try {
      const chosen = paths.filter((path) => isPrivileged(privileged, path));
      expect(chosen).toEqual(["bin/helper", "sbin/mount-app"]);
      // minimatch() per path compiled and walked both patterns for each: 4,004 walks.
      expect(match.mock.calls.length).toBeLessThan(10);
    } finally {
      match.mockRestore();
    }
  });

  it("a glob with no literal first segment asks minimatch only about paths whose last segment it can match", () => {
    const manifest = parseManifestText(
      [
        'version: "1.0.0"',
        "files:",
        '  "**/*.pyc": { action: skip }',
        '  "*.toml": { action: merge_toml }',
        '  "**/{Makefile,*.mk}": { action: replace }',
        '  "**/*.py": { action: backup_replace }',
      ].join("\n"),
      "m.yaml",
    ).manifest;
    const paths = Array.from({ length: 2_000 }, (_, i) => `d${String(i % 100).padStart(3, "0")}/f${i}.dat`);
    paths.push("app.toml", "src/x/mod.py", "src/x/mod.pyc", "d001/Makefile", "d002/rules.mk");
    const match = vi.spyOn(Minimatch.prototype, "match");
    try {
      const chosen = paths.map((path) => findFileRule(manifest, path).pattern);
      expect(chosen.slice(-5)).toEqual([
        "*.toml",
        "**/*.py",
        "**/*.pyc",
        "**/{Makefile,*.mk}",
        "**/{Makefile,*.mk}",
      ]);
      expect(chosen.slice(0, -5).every((pattern) => pattern === null)).toBe(true);
      // Without the filter: each glob over the 2,005 files and the skip glob over their directories.
      expect(match.mock.calls.length).toBeLessThan(20);
    } finally {
      match.mockRestore();
    }
  });

  it("minimatch is asked only about paths under a glob's literal first segment", () => {
    // The bench's app shape (100 directories) with a typical manifest's rules.
    const manifest = parseManifestText(
      [
        'version: "1.0.0"',
        "files:",
        '  "config/*.toml": { action: merge_toml }',
        '  "logs/**": { action: skip }',
        '  "{bin,lib}/*.so": { action: backup_replace }',
        '  "config/app.env": { action: replace }',
      ].join("\n"),
      "m.yaml",
    ).manifest;
    const paths = Array.from({ length: 2_000 }, (_, i) => `d${String(i % 100).padStart(3, "0")}/f${i}.dat`);
    paths.push("config/app.toml", "config/db.toml", "logs/a/b.log", "lib/x.so", "config/app.env");
    const match = vi.spyOn(Minimatch.prototype, "match");
    try {
      const chosen = paths.map((path) => findFileRule(manifest, path).pattern);
      expect(chosen.slice(-5)).toEqual([
        "config/*.toml",
        "config/*.toml",
        "logs/**",
        "{bin,lib}/*.so",
        "config/app.env",
      ]);
      expect(chosen.slice(0, -5).every((pattern) => pattern === null)).toBe(true);
      // Without the filter: 8,110 walks (each glob over the 2,005 files and the directories above them).
      expect(match.mock.calls.length).toBeLessThan(20);
    } finally {
      match.mockRestore();
    }
  });

  it("the files one rule takes share one frozen answer: a lookup per app file builds no object", () => {
    // The typical manifest of the bench's local-rules row: its skip rule makes the plan ask every
    // file's rule, 20,000 lookups that built two objects each (~10 ms of the row's update, round 54).
    const manifest = parseManifestText(
      [
        'version: "1.0.0"',
        "files:",
        '  "config/*.toml": { action: merge_toml }',
        '  "logs/**": { action: skip }',
        '  "bin/*": { action: replace }',
      ].join("\n"),
      "m.yaml",
    ).manifest;
    const paths = Array.from({ length: 2_000 }, (_, i) => `d${String(i % 100).padStart(3, "0")}/f${i}.dat`);
    const answers = new Set(paths.map((path) => ruleFor(manifest, path)));
    expect([...answers].map((ref) => ref.pattern)).toEqual(["(default)"]);
    expect(new Set(paths.map((path) => findFileRule(manifest, path))).size).toBe(1);
    const logs = ["logs/a.log", "logs/x/b.log", "logs/c.log"].map((path) => ruleFor(manifest, path));
    expect(new Set(logs).size).toBe(1);
    expect(logs[0]?.pattern).toBe("logs/**");
    for (const answer of [...answers, ...logs, findFileRule(manifest, "config/app.toml")])
      expect(Object.isFrozen(answer)).toBe(true);
  });
});
