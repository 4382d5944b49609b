import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";
import { BadInputError, formatIssue } from "../../../shared/errors.js";
import { loadManifestFile, parseManifestText } from "../../../shared/manifest/load.js";
import { manifestJsonSchema } from "../../../shared/schema/json-schema.js";
import { unusedSchemaKeys } from "./document-keys.js";

const fixtures = join(import.meta.dirname, "../../fixtures/manifests");
const F = "update-manifest.yaml";

/** Every formatted issue (errors and warnings) the text produces, or [] when it loads cleanly. */
function issuesOf(text: string): string[] {
  try {
    return parseManifestText(text, F).warnings.map(formatIssue);
  } catch (e) {
    if (!(e instanceof BadInputError)) throw e;
    return e.issues.map(formatIssue);
  }
}

describe("seed README manifests", () => {
  it.each([
    "seed-full.yaml",
    "seed-bugfix.yaml",
    "seed-major.yaml",
    "seed-config-only.yaml",
    "seed-workflow.yaml",
  ])("%s loads with no warnings", async (name) => {
    const { manifest, warnings } = await loadManifestFile(join(fixtures, name));
    expect(warnings).toEqual([]);
    expect(manifest.version).toMatch(/^\d+\.\d+\.\d+$/);
  });

  it("keeps the seed's values and fills defaults", async () => {
    const { manifest } = await loadManifestFile(join(fixtures, "seed-full.yaml"));
    expect(manifest.files["config.toml"]).toEqual({
      action: "merge_toml",
      merge_strategy: "preserve_user",
      backup: true,
    });
    expect(manifest.files["src/**/*.py"]).toEqual({
      action: "replace",
      merge_strategy: "preserve_user",
      backup: false,
    });
    expect(manifest.directories.logs).toEqual({ preserve: true, cleanup_old: true, keep_days: 30 });
    expect(manifest.post_update_tests[1]).toMatchObject({ retry_count: 3, retry_delay: 5, timeout: 30 });
    expect(manifest.migrations["1.2.0"]).toHaveLength(2);
    expect(manifest.notifications.on_success[0]).toMatchObject({ type: "webhook", timeout: 10, headers: {} });
    expect(manifest.rollback.auto_rollback_on).toEqual(["health_check_fail", "service_start_fail"]);
  });
});

describe("a manifest using every key", () => {
  it("loads without warnings and the fixture really names every schema key", async () => {
    const path = join(fixtures, "every-key.yaml");
    const { manifest, warnings } = await loadManifestFile(path);
    expect(warnings).toEqual([]);
    expect(manifest.rollout?.stages[0]).toEqual({
      name: "canary",
      percentage: 5,
      criteria: "env_var('RING') == 'canary'",
      wait_hours: 24,
    });
    expect(manifest.hooks.pre_update[1]).toEqual({ command: "./scripts/drain.sh", timeout: 120 });
    expect(unusedSchemaKeys(manifestJsonSchema(), parseYaml(await readFile(path, "utf8")))).toEqual([]);
  });
});

describe("malformed manifests: every problem, positioned", () => {
  it("reports the README's example error exactly", () => {
    const text = 'version: "1.0.0"\nfiles:\n  "config.toml":\n    action: "merge_tomll"\n';
    expect(issuesOf(text)).toEqual([
      'update-manifest.yaml:4:5 files."config.toml".action: unknown action "merge_tomll" ' +
        "(expected replace, merge_toml, merge_json, merge_yaml, skip, backup_replace)",
    ]);
  });

  it("reports all errors at once, in document order, with warnings among them", () => {
    const text = [
      "version: 1.2", //                                   1
      "files:", //                                         2
      '  "[abc":', //                                      3
      "    action: skip", //                               4
      "    bakup: true", //                                5
      "post_update_tests:", //                             6
      "  - name: health", //                               7
      "    command: curl -f http://localhost/", //         8
      "    retry_count: -1", //                            9
      "notifications:", //                                 10
      "  on_failure:", //                                  11
      "    - type: webhook", //                            12
      "      message: down", //                            13
    ].join("\n");
    expect(issuesOf(text)).toEqual([
      'update-manifest.yaml:1:1 version: must be a quoted string, e.g. version: "1.2.3"',
      'update-manifest.yaml:3:3 files."[abc": unclosed "[" in glob (escape it as "\\[" to match it literally)',
      'warning: update-manifest.yaml:5:5 files."[abc".bakup: unknown key "bakup" (did you mean "backup"?); ignored',
      "update-manifest.yaml:9:5 post_update_tests[0].retry_count: must be ≥ 0 (got -1)",
      "update-manifest.yaml:12:7 notifications.on_failure[0].url: is required",
    ]);
  });

  it("names a command written where a list or mapping goes by its key, never quoting the line", () => {
    // A hook written as one string (not a list) is a common slip; its error reached ship.log, the
    // state, the hub's report and CI's log with the line, and a token in it, quoted.
    const issues = issuesOf(
      'version: "2.0.0"\nhooks:\n  rollback: "curl -H \'Authorization: Bearer s3cr3t-hook\' https://x"\n' +
        'migrations:\n  "2.0.0": "psql postgres://app:s3cr3t-db@db/app -f m.sql"\n',
    );
    expect(issues.join("\n")).not.toContain("s3cr3t");
    expect(issues).toContain(
      "update-manifest.yaml:3:3 hooks.rollback: must be a list (got a string, not quoted: it may carry a secret)",
    );
    expect(issues).toContain(
      'update-manifest.yaml:5:3 migrations."2.0.0": must be a list (got a string, not quoted: it may carry a secret)',
    );
    // Elsewhere a wrong string is still quoted: it is what the operator has to find.
    expect(issuesOf(`version: "1.0.0"\nrequirements: "lots"\n`).join("\n")).toContain('got string "lots"');
  });

  const v = 'version: "1.0.0"\n';
  it.each([
    [
      "wrong type",
      `${v}requirements:\n  min_disk_space_mb: lots\n`,
      /^update-manifest\.yaml:3:3 requirements\.min_disk_space_mb: must be a number \(got string "lots"\)$/,
    ],
    [
      // It read "must be a number (got number Infinity)": a contradiction.
      "YAML .inf where a number goes",
      `${v}requirements:\n  min_disk_space_mb: .inf\n`,
      /^update-manifest\.yaml:3:3 requirements\.min_disk_space_mb: must be a finite number \(got Infinity\)$/,
    ],
    [
      "an overflowing number",
      `${v}post_update_tests:\n  - { name: t, command: "true", timeout: 1e400 }\n`,
      /^update-manifest\.yaml:3:33 post_update_tests\[0\]\.timeout: must be a finite number \(got Infinity\)$/,
    ],
    [
      "bad merge strategy",
      `${v}files:\n  a.toml: { action: merge_toml, merge_strategy: keep }\n`,
      /^update-manifest\.yaml:3:33 files\."a\.toml"\.merge_strategy: unknown merge strategy "keep" \(expected preserve_user, update_only, replace\)$/,
    ],
    [
      "bad section strategy",
      `${v}merge_strategies:\n  app.toml:\n    db: merge_smrt\n`,
      /^update-manifest\.yaml:4:5 merge_strategies\."app\.toml"\.db: unknown strategy "merge_smrt" \(expected preserve_user, update_only, replace, merge_smart\)$/,
    ],
    [
      "section strategy of the wrong shape",
      `${v}merge_strategies:\n  app.toml:\n    db: [merge_smart]\n`,
      /^update-manifest\.yaml:4:5 merge_strategies\."app\.toml"\.db: must be a strategy \(preserve_user, update_only, replace, merge_smart\) or \{strategy, preserve_keys\}$/,
    ],
    [
      "section strategy without its strategy",
      `${v}merge_strategies:\n  app.toml:\n    sections:\n      db: { preserve_keys: [a] }\n`,
      /^update-manifest\.yaml:5:11 merge_strategies\."app\.toml"\.sections\.db\.strategy: is required \(one of preserve_user, update_only, replace, merge_smart\)$/,
    ],
    [
      "bad notification type",
      `${v}notifications:\n  on_success:\n    - type: email\n`,
      /^update-manifest\.yaml:4:7 notifications\.on_success\[0\]\.type: unknown notification type "email" \(expected log, webhook, slack\)$/,
    ],
    [
      "bad webhook url",
      `${v}notifications:\n  on_success:\n    - { type: slack, url: "hooks" }\n`,
      /^update-manifest\.yaml:4:22 notifications\.on_success\[0\]\.url: must be an http:\/\/ or https:\/\/ URL \(got string "hooks"\)$/,
    ],
    [
      "bad conditional action",
      `${v}conditionals:\n  - condition: "env_var('X') == '1'"\n    action: abort\n`,
      /^update-manifest\.yaml:4:5 conditionals\[0\]\.action: unknown action "abort"/,
    ],
    [
      "bad rollback trigger",
      `${v}rollback:\n  auto_rollback_on:\n    - disk_full\n`,
      /^update-manifest\.yaml:4:7 rollback\.auto_rollback_on\[0\]: unknown rollback trigger "disk_full"/,
    ],
    [
      "percentage over 100",
      `${v}rollout:\n  start: "2025-01-20T06:00:00Z"\n  stages:\n    - percentage: 150\n`,
      /^update-manifest\.yaml:5:7 rollout\.stages\[0\]\.percentage: must be ≤ 100 \(got 150\)$/,
    ],
    [
      "file size limit under a kilobyte",
      `${v}security:\n  max_file_size_mb: 1e-9\n`,
      /^update-manifest\.yaml:3:3 security\.max_file_size_mb: must be ≥ 0\.001 \(a kilobyte: a smaller limit refuses every file\)$/,
    ],
    [
      "hook not a string",
      `${v}hooks:\n  pre_update:\n    - 5\n`,
      /^update-manifest\.yaml:4:7 hooks\.pre_update\[0\]: must be a string or a mapping \(got number 5\)$/,
    ],
    [
      // Each was unbounded: 1e308 MB of free space failed every run as if the disk were full,
      // keep_days: 1e8 counted back past any date, keep_backups: 1e8 kept every backup.
      "min_disk_space_mb past its range",
      `${v}requirements:\n  min_disk_space_mb: 1e308\n`,
      /^update-manifest\.yaml:3:3 requirements\.min_disk_space_mb: must be ≤ 1073741824 \(1 PiB\)$/,
    ],
    [
      "keep_days past its range",
      `${v}directories:\n  logs: { cleanup_old: true, keep_days: 100000000 }\n`,
      /^update-manifest\.yaml:3:30 directories\.logs\.keep_days: must be ≤ 36500 \(100 years\)$/,
    ],
    [
      "keep_backups past its range",
      `${v}rollback:\n  keep_backups: 100000000\n`,
      /^update-manifest\.yaml:3:3 rollback\.keep_backups: must be ≤ 1000 \(each backup holds what its update replaced\)$/,
    ],
    [
      "keep_backups not whole",
      `${v}rollback:\n  keep_backups: 1.5\n`,
      /^update-manifest\.yaml:3:3 rollback\.keep_backups: must be a whole number/,
    ],
    [
      "absolute glob",
      `${v}files:\n  /etc/passwd: { action: skip }\n`,
      /^update-manifest\.yaml:3:3 files\."\/etc\/passwd": patterns are relative to the app directory/,
    ],
    [
      "glob escaping the app",
      `${v}files:\n  ../x: { action: skip }\n`,
      /^update-manifest\.yaml:3:3 files\."\.\.\/x": patterns must not contain "\.\." segments$/,
    ],
    [
      "glob matching nothing",
      `${v}files:\n  "[z-a].py": { action: skip }\n`,
      /^update-manifest\.yaml:3:3 files\."\[z-a\]\.py": invalid glob: it can never match a path$/,
    ],
    [
      "directory glob",
      `${v}files:\n  "static/": { action: skip }\n`,
      /files\."static\/": ends with "\/" and matches no file; use "static\/\*\*"/,
    ],
    [
      "migration key not a version",
      `${v}migrations:\n  latest: ["x"]\n`,
      /^update-manifest\.yaml:3:3 migrations\.latest: "latest" is not a version/,
    ],
    [
      "unquoted numeric migration",
      `version: "3.0.0"\nmigrations:\n  2.0: ["x"]\n`,
      /^update-manifest\.yaml:3:3 migrations\."2": version 2\.0 is read as the number 2; quote it: "2\.0"$/,
    ],
    [
      "migration version given twice",
      `version: "3.0.0"\nmigrations:\n  "1.2": [a]\n  "v1.2.0": [b]\n`,
      /^update-manifest\.yaml:4:3 migrations\."v1\.2\.0": "v1\.2\.0" is the same version as "1\.2"; merge them$/,
    ],
    ["missing version", "description: x\n", /^update-manifest\.yaml:1:1 version: must be a quoted string/],
    [
      "unquoted min_python_version",
      `version: "3.0.0"\nrequirements:\n  min_python_version: 3.10\n`,
      /^update-manifest\.yaml:3:3 requirements\.min_python_version: must be a quoted string, e\.g\. min_python_version: "3\.10" \(unquoted, YAML reads a version as the number 3\.1\)$/,
    ],
    // Was two lines: "must be a quoted string" (it is one) and "must be one word".
    [
      "empty version",
      'version: ""\n',
      /^update-manifest\.yaml:1:1 version: must not be empty, e\.g\. version: "1\.2\.3"$/,
    ],
    ["not a mapping", "- a\n- b\n", /^update-manifest\.yaml:1:1 must be a mapping \(got a list\)$/],
    [
      "empty key in list",
      `${v}cleanup:\n  remove_files: [""]\n`,
      /^update-manifest\.yaml:3:18 cleanup\.remove_files\[0\]: must not be empty$/,
    ],
  ])("%s", (_name, text, expected) => {
    const issues = issuesOf(text);
    expect(issues).toHaveLength(1);
    expect(issues[0]).toMatch(expected);
  });

  it("every misspelt merge_strategies section is an error, not an unknown key dropped with a warning", () => {
    // With two or more such sections the shorthand was judged against the `sections:` form: each
    // section became an unknown key, dropped with a warning, and the run went on (exit 0) with the
    // operator's protections ignored. One such section was already an error.
    const text = `${v}merge_strategies:\n  app.toml:\n    db: { policy: replace }\n    api: { policy: merge_smart }\n`;
    expect(() => parseManifestText(text, F)).toThrow(BadInputError);
    expect(issuesOf(text)).toEqual([
      'update-manifest.yaml:4:9 merge_strategies."app.toml".db.strategy: is required (one of preserve_user, update_only, replace, merge_smart)',
      'warning: update-manifest.yaml:4:11 merge_strategies."app.toml".db.policy: unknown key "policy"; ignored',
      'update-manifest.yaml:5:10 merge_strategies."app.toml".api.strategy: is required (one of preserve_user, update_only, replace, merge_smart)',
      'warning: update-manifest.yaml:5:12 merge_strategies."app.toml".api.policy: unknown key "policy"; ignored',
    ]);
  });

  it.each([
    [
      "unclosed flow sequence",
      `${'version: "1"'}\nfiles: [a, b\nhooks: {}\n`,
      /^update-manifest\.yaml:3:1 YAML: /,
    ],
    [
      "bad indentation",
      'version: "1"\nfiles:\n  a:\n    action: skip\n   backup: true\n',
      /^update-manifest\.yaml:5:1 YAML: All mapping items must start at the same column/,
    ],
    [
      "duplicate key",
      'version: "1"\nversion: "2"\n',
      /^update-manifest\.yaml:2:1 version: is written twice in its mapping \(first at line 1\): keep one$/,
    ],
    [
      // It read "YAML: Map keys must be unique", naming neither the rule nor where the first was.
      "duplicate files rule",
      'version: "1"\nfiles:\n  "config.toml": {action: merge_toml}\n  "a/*": {action: skip}\n  "config.toml": {action: replace}\n',
      /^update-manifest\.yaml:5:3 files\."config\.toml": is written twice in its mapping \(first at line 3\): keep one$/,
    ],
    [
      "duplicate key in a list item",
      'version: "1"\npost_update_tests:\n  - {name: a, command: "true"}\n  - name: b\n    command: "true"\n    name: c\n',
      /^update-manifest\.yaml:6:5 post_update_tests\[1\]\.name: is written twice in its mapping \(first at line 4\): keep one$/,
    ],
  ])("YAML syntax error: %s", (_name, text, expected) => {
    const issues = issuesOf(text);
    expect(issues.length).toBeGreaterThanOrEqual(1);
    expect(issues[0]).toMatch(expected);
  });

  it.each([
    ["an unclosed nested flow sequence", 'version: "1.0.0"\nfiles: [[[\n'],
    ["an unclosed flow mapping", 'version: "1.0.0"\nfiles: {a: {\n'],
  ])("one syntax error is said once, not once per token the parser tripped on: %s", (_name, text) => {
    let thrown: unknown;
    try {
      parseManifestText(text, F);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(BadInputError);
    const lines = (thrown as BadInputError).message.split("\n");
    expect(lines.length).toBeGreaterThanOrEqual(1);
    expect(new Set(lines).size).toBe(lines.length);
    expect((thrown as BadInputError).issues.map(formatIssue)).toEqual(lines);
  });

  it("an alias expansion bomb is refused, not expanded", () => {
    const lines = ['version: "1"', "a: &a [x, x, x, x, x, x, x, x, x, x]"];
    for (let i = 1; i <= 8; i++) {
      const prev = String.fromCharCode(96 + i);
      const next = String.fromCharCode(97 + i);
      lines.push(`${next}: &${next} [${Array(10).fill(`*${prev}`).join(", ")}]`);
    }
    // In ship's words, before toJS: yaml's own "Excessive alias count …" came after expanding.
    expect(() => parseManifestText(lines.join("\n"), F)).toThrow(
      "update-manifest.yaml has more than 2000 list items, the limit (an alias counts as what it repeats)",
    );
  });

  it("an empty file is bad input naming the file", () => {
    expect(() => parseManifestText("# nothing\n", F)).toThrow(
      /update-manifest\.yaml .*the manifest is empty/,
    );
  });
});

describe("conditions and rollout criteria", () => {
  it("are parsed, and a syntax error points at the offending character", () => {
    const text = [
      'version: "1.0.0"',
      "conditionals:",
      "  - condition: \"file_exists('/x') and\"", // double-quoted: offset counts after the quote
      "    action: warn",
      "  - condition: current_version <<< '2'", // plain scalar
      "    action: skip_update",
      "  - condition: 'env_var(X) == ''y'''", // single-quoted
      "    action: warn",
      "rollout:",
      "  stages:",
      "    - percentage: 100",
      "      criteria: \"nope('x')\"",
      '  start: "2025-01-20T06:00:00Z"',
    ].join("\n");
    expect(issuesOf(text)).toEqual([
      "update-manifest.yaml:3:38 conditionals[0].condition: invalid condition: unexpected end of condition",
      "update-manifest.yaml:5:33 conditionals[1].condition: invalid condition: expected a condition or value, found '<'",
      "update-manifest.yaml:7:25 conditionals[2].condition: invalid condition: env_var takes one quoted string, found 'X'",
      "update-manifest.yaml:12:18 rollout.stages[0].criteria: invalid condition: unknown function or name 'nope' " +
        "(known: file_exists, service_running, command, env_var, current_version)",
    ]);
  });

  it("in a block scalar, the error points into the right content line", () => {
    const text = [
      'version: "1"',
      "conditionals:",
      "  - condition: >-",
      "      file_exists('/a') or",
      "      service_running('x') or or",
      "    action: warn",
    ].join("\n");
    expect(issuesOf(text)).toEqual([
      "update-manifest.yaml:5:31 conditionals[0].condition: invalid condition: 'or' needs a condition before it",
    ]);
  });
});

describe("unknown keys", () => {
  it("are warnings with a did-you-mean hint, dropped so the rest still loads", () => {
    const text =
      'version: "1.0.0"\nrolout:\n  stages: []\nhooks:\n  pre_update:\n    - { command: "x", timout: 3 }\nzzz: 1\n';
    const { manifest, warnings } = parseManifestText(text, F);
    expect(warnings.map(formatIssue)).toEqual([
      'warning: update-manifest.yaml:2:1 rolout: unknown key "rolout" (did you mean "rollout"?); ignored',
      'warning: update-manifest.yaml:6:23 hooks.pre_update[0].timout: unknown key "timout" (did you mean "timeout"?); ignored',
      'warning: update-manifest.yaml:7:1 zzz: unknown key "zzz"; ignored',
    ]);
    expect(manifest.hooks.pre_update).toEqual([{ command: "x" }]);
    expect(manifest.rollout).toBeUndefined();
  });

  it("top-level x- keys hold anchors and are not warned about; merge keys work", () => {
    const text = [
      'version: "1.0.0"',
      "x-hook: &hook",
      "  type: webhook",
      '  url: "https://hooks.test/ship"',
      "notifications:",
      "  on_success:",
      "    - <<: *hook",
      "      message: ok",
      "  on_failure:",
      "    - *hook",
    ].join("\n");
    const { manifest, warnings } = parseManifestText(text, F);
    expect(warnings).toEqual([]);
    expect(manifest.notifications.on_success[0]).toMatchObject({ type: "webhook", message: "ok" });
    expect(manifest.notifications.on_failure[0]).toMatchObject({ url: "https://hooks.test/ship" });
  });

  it("a version that does not look like one is a warning", () => {
    expect(issuesOf('version: "latest"\n')).toEqual([
      'warning: update-manifest.yaml:1:1 version: "latest" does not look like a version (e.g. "1.2.3"); it is ordered as text',
    ]);
  });

  it("a version with a space, tab or line break in or around it is an error (the hub refuses it)", () => {
    for (const version of [
      '" 2.0.0"',
      '"2.0.0 beta"',
      '"2.0.0\\t"',
      '"2.0.0\\n"',
      '"2.0.0\\u200b"',
      '"1.0\\u202e2"',
    ])
      expect(issuesOf(`version: ${version}\n`)).toEqual([
        "update-manifest.yaml:1:1 version: must be one word: no spaces, tabs, line breaks, control characters or invisible format characters (a zero-width space, a bidirectional override …)",
      ]);
    expect(issuesOf('version: "2.0.0-beta.1+build"\n')).toEqual([]);
  });

  it("a version longer than 100 characters is an error naming the limit (the hub refuses it)", () => {
    expect(issuesOf(`version: "1.${"0".repeat(99)}"\n`)).toEqual([
      "update-manifest.yaml:1:1 version: must be at most 100 characters long",
    ]);
    expect(issuesOf(`version: "1.${"0".repeat(98)}"\n`)).toEqual([]);
  });

  it("hint from the matching notification type's keys only", () => {
    const text =
      'version: "1"\nnotifications:\n  on_success:\n    - { type: slack, url: "https://x.test/", chanel: "#a" }\n';
    const [warning] = parseManifestText(text, F).warnings;
    expect(warning?.message).toBe('unknown key "chanel" (did you mean "channel"?); ignored');
    expect(warning?.path).toBe("notifications.on_success[0].chanel");
  });

  it("an unknown key next to an error: both reported", () => {
    const text = 'version: "1"\nfiles:\n  a: { action: nope, bakup: true }\n';
    const error = (() => {
      try {
        parseManifestText(text, F);
      } catch (e) {
        return e as BadInputError;
      }
    })();
    expect(error).toBeInstanceOf(BadInputError);
    expect(error?.exitCode).toBe(2);
    expect(error?.issues.map((i) => [i.severity, i.path])).toEqual([
      ["error", "files.a.action"],
      ["warning", "files.a.bakup"],
    ]);
    // The error message (what the CLI prints for exit 2) carries only errors.
    expect(error?.message).toBe(
      "update-manifest.yaml:3:8 files.a.action: unknown action " +
        '"nope" (expected replace, merge_toml, merge_json, merge_yaml, skip, backup_replace)',
    );
  });
});

describe("loadManifestFile", () => {
  it("reads a real file and names it in errors", async () => {
    const dir = await mkdtemp(join(tmpdir(), "ship-manifest-"));
    try {
      const file = join(dir, F);
      await writeFile(file, 'version: "1.0.0"\nfiles:\n  x: { action: merge }\n');
      await expect(loadManifestFile(file)).rejects.toThrow(
        `${file}:3:8 files.x.action: unknown action "merge"`,
      );
      await expect(loadManifestFile(join(dir, "missing.yaml"))).rejects.toThrow(
        /missing\.yaml .*cannot read the manifest/,
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
  it("a manifest saved as UTF-16 or Latin-1 is named so, not 'a binary file?'", async () => {
    const dir = await mkdtemp(join(tmpdir(), "ship-manifest-"));
    try {
      // Notepad's "Unicode": UTF-16LE with its byte-order mark (a NUL beside each ASCII character).
      const utf16 = join(dir, "utf16.yaml");
      await writeFile(
        utf16,
        Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('version: "1.0.0"\n', "utf16le")]),
      );
      await expect(loadManifestFile(utf16)).rejects.toThrow(
        `${utf16} is UTF-16 text: save it as UTF-8 (a manifest is UTF-8)`,
      );
      // A Latin-1 é in the description: text with one byte that is not UTF-8, at 2:17.
      const latin1 = join(dir, "latin1.yaml");
      await writeFile(latin1, Buffer.from('version: "1.0.0"\ndescription: "Caf\u00e9 menu"\n', "latin1"));
      await expect(loadManifestFile(latin1)).rejects.toThrow(
        `${latin1}:2:18 holds a byte that is not UTF-8 here (a file saved as Latin-1?): save it as UTF-8 (a manifest is UTF-8)`,
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

// A Slack webhook's path is its secret, and a URL may hold user:password@ or ?token=: the error
// about a malformed one went whole into CI's log (`ship release publish`, the hub's 400) and the
// state file. It names the key, line and column; the value only up to its host.
describe("a malformed notification or source URL in an error", () => {
  it.each([
    [
      "https://hooks.slack.com:99999/services/T000/B000/XXXXSECRET",
      'has port 99999, over 65535 (got string "https://hooks.slack.com:99999/…")',
    ],
    [
      "hooks.slack.com/services/T000/B000/XXXXSECRET",
      'must be an http:// or https:// URL (got string "hooks.slack.com/…")',
    ],
    [
      "ftp://u:SECRET@files.example/x?token=SECRET",
      'must be an http:// or https:// URL (got string "ftp://***@files.example/…")',
    ],
    [
      "https://u:SECRET@hooks example/hook",
      'is not a valid URL: check the host name and port (got string "https://***@hooks example/…")',
    ],
  ])("%s", (url, words) => {
    const issues = issuesOf(
      `version: 1.0.0\nnotifications:\n  on_failure:\n    - type: slack\n      url: "${url}"\n`,
    );
    expect(issues.join("\n")).not.toContain("SECRET");
    expect(issues).toEqual([`${F}:5:7 notifications.on_failure[0].url: ${words}`]);
  });
});
