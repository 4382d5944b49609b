/**
 * Validation time grows with the manifest, not with its square: every unknown key is positioned by
 * an index, duplicate keys are found with a set, and "did you mean" hints stop early.
 */
import { execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { BadInputError, formatIssue } from "../../../shared/errors.js";
import { parseManifestText } from "../../../shared/manifest/load.js";
import { cpuMsOf } from "../../support/cpu-time.js";
import { SHIP_BIN } from "../../support/ship-cli.js";

const execFileAsync = promisify(execFile);

function manyKeys(count: number, prefix = ""): string {
  const lines = ['version: "1.0.0"'];
  for (let i = 0; i < count; i++) lines.push(`${prefix}unknown_key_${i}: ${i}`);
  return `${lines.join("\n")}\n`;
}

describe("manifest validation scales linearly", () => {
  it("20,000 unknown top-level keys: every one warned at its line, in linear time", () => {
    parseManifestText(manyKeys(100), "warm.yaml");
    const { value, cpuMs: ms } = cpuMsOf(() => parseManifestText(manyKeys(20_000), "m.yaml"));
    expect(value.warnings).toHaveLength(20_000);
    expect(value.warnings.slice(-1).map(formatIssue)).toEqual([
      'warning: m.yaml:20001:1 unknown_key_19999: unknown key "unknown_key_19999"; ignored',
    ]);
    // Quadratic positioning took 6-45 s here; linear it is ~0.3 s of CPU.
    expect(ms).toBeLessThan(4000);
  });

  it("20,000 unknown keys nested under one section, and duplicate keys still refused", () => {
    const nested = `version: "1.0.0"\nrollback:\n${manyKeys(20_000)
      .split("\n")
      .slice(1)
      .map((l) => (l === "" ? l : `  ${l}`))
      .join("\n")}`;
    const { value, cpuMs: ms } = cpuMsOf(() => parseManifestText(nested, "m.yaml"));
    expect(value.warnings).toHaveLength(20_000);
    expect(ms).toBeLessThan(4000);
    const duplicated = `${manyKeys(2_000)}unknown_key_5: again\n`;
    const error = (() => {
      try {
        parseManifestText(duplicated, "m.yaml");
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(BadInputError);
    expect((error as BadInputError).issues.map(formatIssue)).toEqual([
      "m.yaml:2002:1 unknown_key_5: is written twice in its mapping (first at line 7): keep one",
    ]);
  });

  // Each was worded and placed: a 60 KB manifest (under the hub's 64 KiB) of 30,000 wrong items held
  // the hub 3-6 s and made a 2.6 MB answer; a ship.toml or --test-manifest of them printed every one.
  it.each([
    ["hooks.pre_update", "hooks:\n  pre_update", "must be a string or a mapping (got number 0)"],
    ["security.allowed_file_types", "security:\n  allowed_file_types", "must be a string (got number 0)"],
  ])("30,000 wrong items in %s: the first 100 named, the rest counted", (key, at, said) => {
    const text = `version: "1.0.0"\n${at}: [${Array(30_000).fill("0").join(",")}]\n`;
    parseManifestText(manyKeys(100), "warm.yaml");
    const { value: error, cpuMs: ms } = cpuMsOf(() => {
      try {
        parseManifestText(text, "m.yaml");
      } catch (e) {
        return e;
      }
    });
    expect(error).toBeInstanceOf(BadInputError);
    const issues = (error as BadInputError).issues.filter((i) => i.severity === "error").map(formatIssue);
    expect(issues).toHaveLength(101);
    // The count is about the whole file, so it is placed at its start.
    expect(issues[0]).toBe("m.yaml:1:1 and 29900 more problems not listed");
    expect(issues[1]).toMatch(
      new RegExp(`^m\\.yaml:3:\\d+ ${key.replace(".", "\\.")}\\[0\\]: ${said.replace(/[()]/g, "\\$&")}$`),
    );
    expect(ms).toBeLessThan(1500);
  });

  it("ship --test-manifest with 20,000 keys finishes in seconds, not minutes", async () => {
    const dir = await mkdtemp(join(tmpdir(), "ship-scale-"));
    try {
      await writeFile(join(dir, "m.yaml"), manyKeys(20_000));
      // bash's `time` gives the CLI's own CPU seconds (user + system), whatever else the machine runs.
      const { stdout, stderr, code } = await execFileAsync("bash", [
        "-c",
        'TIMEFORMAT="cpu %U %S"; time node "$0" --test-manifest "$1" --quiet >/dev/null 2>&1',
        SHIP_BIN,
        join(dir, "m.yaml"),
      ]).then(
        (r) => ({ ...r, code: 0 }),
        (e: { stdout: string; stderr: string; code: number }) => e,
      );
      expect(code, stdout + stderr).toBe(0);
      const [, user, system] = /cpu ([\d.]+) ([\d.]+)/.exec(stderr) ?? [];
      expect(Number(user) + Number(system)).toBeLessThan(5);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
