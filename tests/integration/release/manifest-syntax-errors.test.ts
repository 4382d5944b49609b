/**
 * `ship release http` and `git` set the version in the author's manifest: one that does not parse
 * was "update-manifest.yaml YAML: Missing closing "quote at line 3, column 1:" (the first problem
 * only, cut where yaml's excerpt began), and a key written twice "YAML: Map keys must be unique …",
 * naming no key. They are reported as `ship --test-manifest` reports them: file:line:column and
 * key, every problem, exit 2, nothing built, committed or tagged.
 */
import { describe, expect, it } from "vitest";
import { hasProgram } from "../../support/require-program.js";
import { runShip } from "../../support/ship-cli.js";
import { manifestRepo } from "./manifest-release-repo.js";

const BROKEN: [string, string, (file: string) => string][] = [
  ["an unclosed quote", 'version: "0.1.0\nfiles: [\n', (file) => `${file}:3:1 YAML: Missing closing "quote`],
  [
    "a rule written twice",
    'version: "0.1.0"\nfiles:\n  "config/*.toml":\n    action: merge_toml\n  "config/*.toml":\n    action: replace\n',
    (file) =>
      `${file}:5:3 files."config/*.toml": is written twice in its mapping (first at line 3): keep one`,
  ],
];

describe.skipIf(!hasProgram("git"))("ship release: a manifest that does not parse", () => {
  const repo = manifestRepo("ship-release-yaml-");

  it.each(BROKEN)(
    "with %s is reported as --test-manifest reports it, for http and git",
    async (_what, text, said) => {
      const { file, head } = await repo.commit(text);
      const checked = await runShip(["--test-manifest", file]);
      expect(checked.stderr).toBe(`ship: ${said(file)}\n`);
      await repo.expectRefusedByHttpAndGit(`${said(file)}\n`, head);
    },
  );
});
