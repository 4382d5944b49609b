import { describe, expect, it } from "vitest";
import { parseManifestText } from "../../../shared/manifest/load.js";
import { findFileRule, protectedDirectoryOf } from "../../../shared/manifest/rules.js";

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
