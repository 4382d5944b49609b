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
