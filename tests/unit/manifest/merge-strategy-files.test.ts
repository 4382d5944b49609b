/**
 * A `merge_strategies` entry is found by a merged file's path or by the `files` pattern that matched
 * it. One that names no merged file (a typo, a file whose rule is replace, a glob that is no files
 * key) protected nothing and `--test-manifest` called the manifest valid with 0 warnings.
 */
import { describe, expect, it } from "vitest";
import { formatIssue } from "../../../shared/errors.js";
import { parseManifestText } from "../../../shared/manifest/load.js";

const F = "update-manifest.yaml";
const files = `version: "1.0.0"
files:
  "config.yaml": { action: merge_yaml, merge_strategy: replace }
  "conf.d/*.toml": { action: merge_toml }
  "app.json": { action: replace }
  "**/*.json": { action: merge_json }
merge_strategies:
`;
const warningsOf = (entries: string) => parseManifestText(`${files}${entries}`, F).warnings.map(formatIssue);

describe("merge_strategies entries that name no merged file", () => {
  it("a misspelt file: a warning naming the entry and the file it was likely meant for", () => {
    expect(warningsOf("  config.yml:\n    database: preserve_user\n")).toEqual([
      'warning: update-manifest.yaml:8:3 merge_strategies."config.yml": names no merged file: no files rule names it, so the file is replaced whole; these sections do nothing (did you mean "config.yaml"?)',
    ]);
  });

  it("a file whose rule is not a merge (its exact rule wins over a merge glob)", () => {
    expect(warningsOf("  app.json:\n    db: preserve_user\n")).toEqual([
      'warning: update-manifest.yaml:8:3 merge_strategies."app.json": names no merged file: it takes files."app.json" (replace), not a merge; these sections do nothing',
    ]);
  });

  it("a glob that is no files key", () => {
    expect(warningsOf("  conf.d/**/*.toml:\n    db: preserve_user\n")).toEqual([
      'warning: update-manifest.yaml:8:3 merge_strategies."conf.d/**/*.toml": names no merged file: it is a glob that is no files key (a file\'s sections are found by its path or by the files pattern it matched); these sections do nothing (did you mean "conf.d/*.toml"?)',
    ]);
  });

  it("entries the merge finds give no warning: an exact key, a files pattern, a path a merge glob matches", () => {
    expect(
      warningsOf(
        "  config.yaml:\n    db: preserve_user\n  conf.d/*.toml:\n    db: preserve_user\n  conf.d/a.toml:\n    db: replace\n  web/site.json:\n    db: replace\n",
      ),
    ).toEqual([]);
  });
});

describe("a merge rule whose format is not the file's", () => {
  // Before: valid with 0 warnings, then every run refused the release's copy as not parsing (or,
  // merge_yaml on TOML, read the file as one string and never changed it).
  const issues = (rules: string) =>
    parseManifestText(`version: "1.0.0"\nfiles:\n${rules}`, F).warnings.map(formatIssue);

  it("is a warning naming the rule and the merge that fits", () => {
    expect(
      issues('  "config.yaml": { action: merge_json }\n  "conf/*.toml": { action: merge_yaml }\n'),
    ).toEqual([
      'warning: update-manifest.yaml:3:20 files."config.yaml".action: merge_json reads the file as JSON, but a .yaml file is not JSON: use merge_yaml',
      'warning: update-manifest.yaml:4:20 files."conf/*.toml".action: merge_yaml reads the file as YAML, but a .toml file is not YAML: use merge_toml',
    ]);
  });

  it("merges that fit give none (JSON is YAML, so merge_yaml may read a .json file)", () => {
    expect(
      issues(
        '  "a.yml": { action: merge_yaml }\n  "b.json": { action: merge_yaml }\n  "c.JSON": { action: merge_json }\n  "d.conf": { action: merge_toml }\n  "e.toml": { action: replace }\n',
      ),
    ).toEqual([]);
  });
});
