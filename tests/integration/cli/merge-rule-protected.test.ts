/**
 * A merge rule for files of a protected directory merges nothing (ship fills the directory only
 * where the app lacks it and never writes it again). Runs warned; `--test-manifest` said nothing.
 * It now warns wherever the manifest alone tells: a path, or a glob whose literal directories are
 * protected and cannot reach a `preserve: false` entry nested in them.
 */
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { runShip } from "../../support/ship-cli.js";

describe("--test-manifest and merge rules in protected directories", () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "ship-protected-"));
    await mkdir(join(dir, "data"));
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it("warns for a path and a glob the directory holds, not where it cannot tell", async () => {
    const manifest = join(dir, "update-manifest.yaml");
    await writeFile(
      manifest,
      [
        'version: "1.0.0"',
        "files:",
        "  data/config.yaml: {action: merge_yaml}",
        '  "data/*.toml": {action: merge_toml}',
        '  "data/**/*.json": {action: merge_json}',
        '  "*/app.yaml": {action: merge_yaml}',
        "  config.yaml: {action: merge_yaml}",
        "directories:",
        "  data: {preserve: true}",
        "  data/cache: {preserve: false}",
        "",
      ].join("\n"),
    );
    const checked = await runShip(["--test-manifest", manifest]);
    expect(checked.code, checked.stderr).toBe(0);
    expect(checked.stdout).toContain("(5 file rules, 2 warnings)");
    const tail =
      "in the protected directory data (preserve: true), which ship fills only where the app lacks it and never writes again; keep merged configs out of it";
    expect(checked.stderr.split("\n").filter((l) => l.startsWith("warning:"))).toEqual([
      `warning: ${manifest}:3:3 files."data/config.yaml": merge_yaml merges no file: data/config.yaml is ${tail}`,
      `warning: ${manifest}:4:3 files."data/*.toml": merge_toml merges no file: every file data/*.toml matches is ${tail}`,
    ]);
  });
});
