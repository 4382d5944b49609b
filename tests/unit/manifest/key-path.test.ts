import { describe, expect, it } from "vitest";
import { didYouMean, editDistance } from "../../../shared/schema/did-you-mean.js";
import { formatKeyPath } from "../../../shared/schema/key-path.js";

describe("formatKeyPath", () => {
  it.each([
    [["files", "config.toml", "action"], 'files."config.toml".action'],
    [["post_update_tests", 2, "timeout"], "post_update_tests[2].timeout"],
    [["files", "src/**/*.py"], 'files."src/**/*.py"'],
    [["sources", "my-app", "url"], 'sources."my-app".url'],
    [["sources", "main_app"], "sources.main_app"],
    [["a", 'say "hi"'], 'a."say \\"hi\\""'],
    [[], ""],
  ])("%j → %s", (path, expected) => {
    expect(formatKeyPath(path)).toBe(expected);
  });
});

describe("didYouMean", () => {
  const keys = ["action", "merge_strategy", "backup", "description"];
  it.each([
    ["acton", "action"],
    ["bakup", "backup"],
    ["merge-strategy", "merge_strategy"],
    ["Backup", "backup"],
    ["descripton", "description"],
    ["colour", undefined],
    ["x", undefined],
  ])("%s → %s", (word, expected) => {
    expect(didYouMean(word, keys)).toBe(expected);
  });

  it("edit distance counts insertions, deletions and substitutions", () => {
    expect(editDistance("kitten", "sitting")).toBe(3);
    expect(editDistance("", "abc")).toBe(3);
    expect(editDistance("same", "same")).toBe(0);
  });
});
