/**
 * `merge_strategy` acts only with a merge action. The seed's word on a replace rule
 * (`{action: replace, merge_strategy: preserve_user}`) read as "my values are kept" while the file
 * was replaced whole, with a valid manifest and no warning.
 */
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { runShip } from "../../support/ship-cli.js";
import { type LocalApp, localApp } from "./local-app.js";

describe("merge_strategy on a rule that does not merge", () => {
  let app: LocalApp;
  beforeEach(async () => {
    app = await localApp();
  });
  afterEach(() => app.cleanup());

  it("is a warning naming what happens to the file, and the merge that fits", async () => {
    const dir = await app.release(
      "v1",
      [
        'version: "1.0.0"',
        "files:",
        "  config.yaml: {action: replace, merge_strategy: preserve_user}",
        "  .env: {action: skip, merge_strategy: update_only}",
        "  app.toml: {action: merge_toml, merge_strategy: update_only}",
        "",
      ].join("\n"),
    );
    const checked = await runShip(["--test-manifest", join(dir, "update-manifest.yaml")]);
    expect(checked.code).toBe(0);
    expect(checked.stdout).toContain("(3 file rules, 2 warnings)");
    const warnings = checked.stderr.split("\n").filter((l) => l.startsWith("warning:"));
    expect(warnings).toEqual([
      `warning: ${dir}/update-manifest.yaml:3:34 files."config.yaml".merge_strategy: preserve_user has no effect with action replace, only with merge_toml, merge_json or merge_yaml: the file is replaced whole, none of the server's values merged in (action: merge_yaml merges it)`,
      `warning: ${dir}/update-manifest.yaml:4:24 files.".env".merge_strategy: update_only has no effect with action skip, only with merge_toml, merge_json or merge_yaml: the file is never touched`,
    ]);
  });
});
