/**
 * Manifest and ship.toml values that validated and then did nothing, or were refused only by the
 * run: `--test-manifest` said "valid" for a rollout that every run refused ("rollout.start: not an
 * ISO date-time"); `cleanup_old: true` without `keep_days` pruned nothing; `cleanup` paths outside
 * the app were skipped with a warning at run time; `min_python_version: "abc"` was always met; a
 * `privileged_files` entry written as an absolute path matched nothing, so the file it meant lost
 * its owner and mode like any other. Each is exit 2 naming the file, line:column and key now, in
 * --test-manifest and in a run, with the app untouched.
 */
import { execFile } from "node:child_process";
import { readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { runShip } from "../../support/ship-cli.js";
import { type LocalApp, localApp } from "./local-app.js";

let app: LocalApp;
beforeEach(async () => {
  app = await localApp();
});
afterEach(() => app.cleanup());

describe("manifest values a run could not act on are refused up front", () => {
  it.each([
    [
      "rollout.start that is no date",
      'rollout:\n  start: "soon"\n  stages:\n    - { percentage: 50 }',
      /:3:3 rollout\.start: not an ISO date-time: "soon"/,
    ],
    [
      "release_date that is no date, used by a staged rollout",
      'release_date: "yesterday"\nrollout:\n  stages:\n    - { percentage: 50 }',
      /:2:1 release_date: not an ISO date-time: "yesterday"; the staged rollout starts at release_date/,
    ],
    [
      // Passed --test-manifest ("valid"), then every run refused it.
      "a staged rollout with neither rollout.start nor release_date",
      "rollout:\n  stages:\n    - { percentage: 50 }",
      /:2:1 rollout: a staged rollout needs rollout\.start \(e\.g\. "2025-01-20T06:00:00Z"\) or release_date: when its first stage opens/,
    ],
    [
      "cleanup_old without keep_days",
      "directories:\n  logs:\n    cleanup_old: true",
      /:4:5 directories\.logs\.cleanup_old: cleanup_old needs keep_days/,
    ],
    [
      "a cleanup directory outside the app",
      'cleanup:\n  remove_directories: ["../shared"]',
      /:3:24 cleanup\.remove_directories\[0\]: directories must not contain "\.\." segments/,
    ],
    [
      "a cleanup directory given as an absolute path",
      'cleanup:\n  remove_directories: ["/opt/myapp/legacy_modules"]',
      /:3:24 cleanup\.remove_directories\[0\]: directories are relative to the app directory/,
    ],
    [
      "a cleanup file pattern given as an absolute path",
      'cleanup:\n  remove_files: ["/opt/myapp/*.pyc"]',
      /:3:18 cleanup\.remove_files\[0\]: patterns are relative to the app directory/,
    ],
    [
      "min_python_version that is no version",
      'requirements:\n  min_python_version: "abc"',
      /:3:3 requirements\.min_python_version: "abc" is not a Python version, e\.g\. "3\.8"/,
    ],
    [
      "a privileged file given as an absolute path",
      'security:\n  privileged_files: ["/opt/myapp/scripts/system_config.py"]',
      /:3:22 security\.privileged_files\[0\]: patterns are relative to the app directory/,
    ],
  ])(
    "%s: --test-manifest and a run are exit 2 naming the key, the app untouched",
    async (_, yaml, message) => {
      const release = await app.release("r1", `version: "1.0.0"\n${yaml}\n`);
      const checked = await runShip(["--test-manifest", join(release, "update-manifest.yaml")]);
      expect(checked.code, checked.stdout + checked.stderr).toBe(2);
      expect(checked.stderr).toMatch(message);

      const run = await runShip(["--config", app.config]);
      expect(run.code, run.stdout + run.stderr).toBe(2);
      expect(await readdir(app.appDir)).toEqual([]);
    },
  );

  it.each([
    [
      "keep_days without cleanup_old",
      "directories:\n  logs:\n    keep_days: 3",
      /directories\.logs\.keep_days: keep_days has no effect without cleanup_old: true/,
    ],
    [
      "stages with strategy: immediate",
      "rollout:\n  strategy: immediate\n  stages:\n    - { percentage: 5 }",
      /rollout\.stages: not used with strategy: immediate/,
    ],
    [
      "a release_date no rollout uses that is no date",
      'release_date: "Jan twentieth"',
      /release_date: "Jan twentieth" is not a date/,
    ],
  ])("%s: a warning, and the release installs", async (_, yaml, message) => {
    const release = await app.release("r1", `version: "1.0.0"\n${yaml}\n`);
    const checked = await runShip(["--test-manifest", join(release, "update-manifest.yaml")]);
    expect(checked.code, checked.stdout + checked.stderr).toBe(0);
    expect(checked.stdout + checked.stderr).toMatch(message);
    const run = await runShip(["--config", app.config]);
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(await readdir(app.appDir)).toContain("app.txt");
  });

  it("the seed's own values pass: cleanup_old with keep_days, python 3.8, relative cleanup paths", async () => {
    const release = await app.release(
      "r1",
      'version: "1.0.0"\nrelease_date: "2025-01-20"\ndirectories:\n  logs: { preserve: true, cleanup_old: true, keep_days: 30 }\nrequirements:\n  min_python_version: "3.8"\ncleanup:\n  remove_files: ["*.pyc", "__pycache__"]\n  remove_directories: ["legacy_modules"]\nsecurity:\n  privileged_files: ["scripts/system_config.py"]\n',
    );
    const checked = await runShip(["--test-manifest", join(release, "update-manifest.yaml")]);
    expect(checked.code, checked.stdout + checked.stderr).toBe(0);
    expect(checked.stdout).toMatch(/valid manifest for version 1\.0\.0 \(0 file rules, 0 warnings\)/);
  });
});

describe("a file that is no manifest at all", () => {
  it("is one short line: the value quoted is cut, with its length said", async () => {
    // A text file parses as one long plain scalar; the message used to quote all of it.
    const file = join(app.root, "notes.txt");
    const text = Array.from({ length: 40 }, (_, i) => `line ${i} of somebody's notes`).join("\n");
    await writeFile(file, text);
    const run = await runShip(["--test-manifest", file]);
    expect(run.code).toBe(2);
    const line = run.stderr.trim();
    expect(line.split("\n")).toHaveLength(1);
    expect(line).toMatch(
      /:1:1 must be a mapping \(got string "line 0 of somebody's notes line 1 .*"… \(\d+ characters\)\)$/,
    );
    expect(line.length).toBeLessThan(250);
  });
});

// `allowed_file_types = ["py"]` was read as a file named py: every release was refused ("file type
// not in allowed_file_types") with no word about why. An entry without a dot also counts as that
// extension now, and one that looks like an extension gets a warning saying how it is read.
describe("allowed_file_types entries written without their dot", () => {
  it("ship.toml: warned about, taken as the extension, and the release installs", async () => {
    await app.release("r1", 'version: "1.0.0"\n', { "app.py": "print(1)\n", "conf/app.TOML": "a = 1\n" });
    const text = await readFile(app.config, "utf8");
    await writeFile(
      app.config,
      `${text}\n[sources.myapp.security]\nallowed_file_types = ["py", ".toml", "Dockerfile"]\n`,
    );
    const run = await runShip(["--config", app.config]);
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(run.stderr).toMatch(
      /warning: \S+ship\.toml:\d+:\d+ sources\.myapp\.security\.allowed_file_types\[0\]: "py" is read as the extension "\.py" \(and a file named py\); write "\.py" to say so/,
    );
    // A file name is no extension-looking word: no warning for it.
    expect(run.stderr).not.toMatch(/Dockerfile/);
    expect((await readdir(app.appDir)).sort()).toEqual(["app.py", "conf"]);
  });

  it("the manifest's security: the same warning from --test-manifest, and other types are still refused", async () => {
    const release = await app.release("r1", 'version: "1.0.0"\nsecurity:\n  allowed_file_types: ["py"]\n', {
      "app.py": "print(1)\n",
      "run.sh": "#!/bin/sh\n",
    });
    const checked = await runShip(["--test-manifest", join(release, "update-manifest.yaml")]);
    expect(checked.code, checked.stdout + checked.stderr).toBe(0);
    expect(checked.stdout + checked.stderr).toMatch(
      /:3:24 security\.allowed_file_types\[0\]: "py" is read as the extension "\.py"/,
    );
    const run = await runShip(["--config", app.config]);
    expect(run.code, run.stdout + run.stderr).toBe(2);
    expect(run.stdout + run.stderr).toMatch(
      /run\.sh: file type not in allowed_file_types \(py\): the manifest's security\.allowed_file_types/,
    );
    expect(await readdir(app.appDir)).toEqual([]);
  });
});

describe("ship.toml privileged_files", () => {
  it("an absolute path is exit 2 naming ship.toml and the key, nothing written", async () => {
    await app.release("r1", 'version: "1.0.0"\n', { "run.sh": "#!/bin/sh\n" });
    const text = await readFile(app.config, "utf8");
    await writeFile(
      app.config,
      `${text}\n[sources.myapp.security]\nprivileged_files = ["${app.appDir}/run.sh"]\n`,
    );
    const run = await runShip(["--config", app.config]);
    expect(run.code, run.stdout + run.stderr).toBe(2);
    expect(run.stderr.trim().split("\n")).toHaveLength(1);
    expect(run.stderr).toMatch(
      /ship\.toml:\d+:\d+ sources\.myapp\.security\.privileged_files\[0\]: patterns are relative to the app directory; remove the leading \//,
    );
    expect(await readdir(app.appDir)).toEqual([]);
    expect(await readdir(app.root)).not.toContain("var");
  });
});

describe("max_file_size_mb", () => {
  it("a file over it is exit 2 naming the file, the key that set the limit and sizes in MB; nothing installed", async () => {
    const big = "x".repeat(1.5 * 1024 * 1024);
    const release = await app.release("r1", 'version: "1.0.0"\n', { "data/big.bin": big, "app.txt": "a\n" });
    const text = await readFile(app.config, "utf8");
    await writeFile(app.config, `${text}\n[sources.myapp.security]\nmax_file_size_mb = 1\n`);
    // The one line for a person (the JSON log lines beside it are for machines).
    const personLines = (out: string) => out.split("\n").filter((l) => l !== "" && !l.startsWith("{"));

    // A release directory, checked at verify.
    const dir = await runShip(["--config", app.config]);
    expect(dir.code, dir.stdout + dir.stderr).toBe(2);
    expect(personLines(dir.stdout + dir.stderr)).toEqual([
      "myapp: data/big.bin: 1.50 MB is over [sources.myapp.security] max_file_size_mb = 1",
    ]);
    expect(await readdir(app.appDir)).toEqual([]);

    // The manifest's smaller limit is the one named.
    await writeFile(
      join(release, "update-manifest.yaml"),
      'version: "1.0.0"\nsecurity:\n  max_file_size_mb: 0.5\n',
    );
    const manifest = await runShip(["--config", app.config]);
    expect(manifest.code, manifest.stdout + manifest.stderr).toBe(2);
    expect(personLines(manifest.stdout + manifest.stderr)).toEqual([
      "myapp: data/big.bin: 1.50 MB is over the manifest's security.max_file_size_mb = 0.5",
    ]);

    // An archive, refused as it is extracted.
    await writeFile(join(release, "update-manifest.yaml"), 'version: "1.0.0"\n');
    const archive = join(app.root, "r1.tar.gz");
    await promisify(execFile)("tar", ["-czf", archive, "-C", release, "."]);
    await writeFile(
      app.config,
      (await readFile(app.config, "utf8")).replace(`path = "${release}"`, `path = "${archive}"`),
    );
    const packed = await runShip(["--config", app.config]);
    expect(packed.code, packed.stdout + packed.stderr).toBe(2);
    expect(personLines(packed.stdout + packed.stderr)).toEqual([
      'myapp: r1.tar.gz: entry "./data/big.bin": 1.50 MB is over [sources.myapp.security] max_file_size_mb = 1',
    ]);
    expect(await readdir(app.appDir)).toEqual([]);
  });
});
