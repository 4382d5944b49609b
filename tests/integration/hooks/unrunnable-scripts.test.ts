/**
 * A release script the shell cannot start, run by the built CLI as an operator runs it: saved with
 * Windows line endings (`#!/bin/sh\r`), naming an interpreter the host lacks, shipped without its x
 * bit, or a directory. dash says "not found" of a file that is there, or a bare "Permission denied":
 * the failure (stdout, state file, notification) says what is wrong with the script, for every kind
 * of command (hooks, migrations, post_update_tests, rollback commands).
 */
import { chmod, mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { keepPristine, type PristineCopy } from "../../support/built-once.js";
import { runShip } from "../../support/ship-cli.js";
import { type LocalApp, localApp } from "../cli/local-app.js";

const apps: LocalApp[] = [];
afterEach(async () => {
  await Promise.all(apps.splice(0).map((app) => app.cleanup()));
});

const SCRIPTS: Record<string, string> = {
  "scripts/crlf.sh": "#!/bin/sh\r\necho restarted\r\n",
  "scripts/env-crlf.sh": "#!/usr/bin/env sh\r\necho restarted\r\n",
  "scripts/old-python.py": "#!/usr/bin/python3.99\nprint('hi')\n",
  "scripts/plain.sh": "#!/bin/sh\necho restarted\n",
  "scripts/fine.sh": "#!/bin/sh\nexit 0\n",
  "scripts/failing.sh": "#!/bin/sh\necho 'port 8080 in use' >&2\nexit 127\n",
  "scripts/bom.py": "\uFEFF#!/usr/bin/python3\nimport sys\nprint('migrated')\n",
  "scripts/bom.sh": "\uFEFF#!/bin/bash\n[[ -n $HOME ]] && echo restarted\n",
  "scripts/bom-sh.sh": "\uFEFF#!/bin/sh\necho restarted\n",
  "bin/.keep": "",
};

/** An app with 1.0.0 installed, made once for the file; `update` puts it back as made each time. */
let installed: { app: LocalApp; pristine: PristineCopy } | undefined;
beforeAll(async () => {
  const app = await localApp();
  await app.release("v1", 'version: "1.0.0"\n');
  expect((await runShip(["--config", app.config])).code).toBe(0);
  installed = { app, pristine: await keepPristine(app.root) };
});
afterAll(async () => {
  await installed?.pristine.remove();
});

/** From 1.0.0 as installed, updates to 2.0.0 whose manifest has `lines`; that run's result. */
async function update(lines: string[]) {
  if (installed === undefined) throw new Error("1.0.0 was not installed");
  const { app, pristine } = installed;
  await pristine.restore();
  const dir = await app.release("v2", ['version: "2.0.0"', ...lines, ""].join("\n"), SCRIPTS);
  for (const name of Object.keys(SCRIPTS))
    if (name.endsWith(".sh") || name.endsWith(".py"))
      await chmod(join(dir, name), name === "scripts/plain.sh" ? 0o644 : 0o755);
  await mkdir(join(dir, "bin/tool"), { recursive: true });
  await writeFile(join(dir, "bin/tool/.keep"), "");
  const run = await runShip(["--config", app.config]);
  return { run, state: await app.state() };
}

describe("a release script the shell cannot start", () => {
  it("post_update hook with CRLF line endings: named as such, not 'not found'", async () => {
    const { run, state } = await update(["hooks:", '  post_update: ["scripts/crlf.sh"]']);
    expect(run.code, run.stderr).toBe(1);
    expect(run.stdout).toMatch(/scripts\/crlf\.sh has Windows \(CRLF\) line endings/);
    expect(run.stdout).toContain('"/bin/sh\\r"');
    expect(run.stdout).toContain("dos2unix scripts/crlf.sh");
    expect(String(state.sources.myapp?.last_error)).toMatch(/CRLF/);
  });

  // It failed "pre_update hook[1] exited with null: spawn /bin/sh ENOENT": no such exit, and the
  // shell named is there; the app directory an earlier hook removed is what is gone.
  it("pre_update hook whose app directory an earlier hook removed: the directory named, not /bin/sh", async () => {
    const { run, state } = await update([
      "hooks:",
      '  pre_update: [\'rm -rf "$SHIP_APP_DIR"\', "echo second"]',
    ]);
    const appDir = installed?.app.appDir;
    expect(run.code, run.stderr).toBe(1);
    const why = `pre_update hook[1] could not start: its working directory ${appDir} does not exist (ENOENT)`;
    expect(run.stdout).toContain(why);
    expect(run.stdout).not.toMatch(/exited with null|spawn \/bin\/sh/);
    expect(String(state.sources.myapp?.last_error)).toContain(why);
  });

  it("post_update_test through /usr/bin/env with CRLF: named as such", async () => {
    const { run } = await update([
      "post_update_tests:",
      '  - {name: health, command: "./scripts/env-crlf.sh --check", retry_count: 1, retry_delay: 0}',
    ]);
    expect(run.code, run.stderr).toBe(1);
    expect(run.stdout).toMatch(
      /post_update_test "health" exited with 127: .*\.\/scripts\/env-crlf\.sh has Windows \(CRLF\) line endings/,
    );
    expect(run.stdout).toMatch(/after 2 attempts/);
  });

  it("migration whose #! names an interpreter the host lacks: names the interpreter", async () => {
    const { run } = await update(["migrations:", '  "2.0.0": ["scripts/old-python.py"]']);
    expect(run.code, run.stderr).toBe(1);
    expect(run.stdout).toContain(
      "scripts/old-python.py's #! line names /usr/bin/python3.99, which this host does not have",
    );
  });

  it("hook shipped without its x bit: says so with the mode and the fixes", async () => {
    const { run } = await update(["hooks:", '  post_update: ["scripts/plain.sh restart"]']);
    expect(run.code, run.stderr).toBe(1);
    expect(run.stdout).toMatch(/exited with 126: .*scripts\/plain\.sh is not executable \(mode 0644\)/);
    expect(run.stdout).toContain("git update-index --chmod=+x scripts/plain.sh");
  });

  it("hook naming a directory: says it is one", async () => {
    const { run } = await update(["hooks:", '  post_update: ["bin/tool"]']);
    expect(run.code, run.stderr).toBe(1);
    expect(run.stdout).toMatch(/exited with 126: .*bin\/tool is a directory, not a program/);
  });

  it("rollback command with CRLF, after a failing hook: its failure names the line endings", async () => {
    const { run } = await update([
      "hooks:",
      '  post_update: ["scripts/fine.sh", "exit 1"]',
      '  rollback: ["scripts/crlf.sh"]',
    ]);
    expect(run.code, run.stderr).toBe(1);
    expect(run.stdout).toMatch(
      /rollback hook\[0\] exited with 127: .*scripts\/crlf\.sh has Windows \(CRLF\) line endings/,
    );
  });

  it("migration saved with a byte-order mark before #!/usr/bin/python3: says so, not sh's syntax error alone", async () => {
    const { run, state } = await update(["migrations:", '  "2.0.0": ["scripts/bom.py"]']);
    expect(run.code, run.stderr).toBe(1);
    expect(run.stdout).toContain(
      "scripts/bom.py starts with a byte-order mark (UTF-8 BOM) before #!, so the kernel does not see its #! line",
    );
    expect(String(state.sources.myapp?.last_error)).toMatch(/byte-order mark/);
  });

  it("hook with a BOM before #!/bin/bash: says so, whatever the exit code sh gave", async () => {
    const { run } = await update(["hooks:", '  post_update: ["./scripts/bom.sh --now"]']);
    expect(run.code, run.stderr).toBe(1);
    expect(run.stdout).toMatch(
      /post_update hook\[0\] exited with \d+: .*\.\/scripts\/bom\.sh starts with a byte-order mark/,
    );
  });

  it("hook with a BOM before #!/bin/sh succeeds under sh, with a warning saying why it ran that way", async () => {
    const { run, state } = await update(["hooks:", '  post_update: ["scripts/bom-sh.sh"]']);
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(state.sources.myapp?.current_version).toBe("2.0.0");
    expect(run.stdout + run.stderr).toMatch(
      /post_update hook\[0\] succeeded, but scripts\/bom-sh\.sh starts with a byte-order mark \(UTF-8 BOM\)/,
    );
  });

  it("leaves the shell's own words alone where they are right", async () => {
    const { run } = await update(["hooks:", '  post_update: ["scripts/fine.sh", "scripts/failing.sh"]']);
    expect(run.code, run.stderr).toBe(1);
    expect(run.stdout).toMatch(/post_update hook\[1\] exited with 127: port 8080 in use; restored/);
    const missing = await update(["hooks:", '  post_update: ["no-such-program --restart"]']);
    expect(missing.run.stdout).toMatch(/exited with 127: [^;]*no-such-program: not found; restored/);
    const gone = await update(["hooks:", '  post_update: ["scripts/gone.sh"]']);
    expect(gone.run.stdout).toMatch(/exited with 127: [^;]*scripts\/gone\.sh: not found; restored/);
  });
});

describe("a command a signal ended", () => {
  it("names the signal, also when sh reports a program it ran killed as 128 + N", async () => {
    const { run, state } = await update([
      "post_update_tests:",
      "  - {name: health, command: \"sh -c 'kill -KILL $$'\", retry_count: 0, retry_delay: 0}",
    ]);
    expect(run.code, run.stderr).toBe(1);
    const why =
      'post_update_test "health" exited with 137, the shell\'s code for a program killed by SIGKILL, unless the command exits so itself';
    expect(run.stdout).toContain(why);
    expect(String(state.sources.myapp?.last_error)).toContain(why);
  });
});

describe("the reason a failing command's output gives", () => {
  // curl's meter (and wget's, pip's) redraws its line after each \r: quoted whole, the redraws wrote
  // over the start of the failure line on a terminal, and the reason read as the meter's last frame.
  const meter =
    "printf '  %% Total  Received\\n\\r  0  0 --:--\\r 50  0 --:--\\rcurl: (7) connection refused\\r\\n' >&2; exit 7";

  it("is what a terminal shows of the last line, for a post_update_test and an environment check", async () => {
    const { run } = await update([
      "post_update_tests:",
      "  - name: health",
      "    command: |-",
      `      ${meter}`,
    ]);
    expect(run.code, run.stdout + run.stderr).toBe(1);
    expect(run.stdout).toMatch(
      /"health" exited with 7: curl: \(7\) connection refused \(after 1 attempt\); restored the previous version/,
    );
    expect(run.stdout).not.toContain("\r");

    if (installed === undefined) throw new Error("1.0.0 was not installed");
    const manifest = join(installed.app.root, "checks.yaml");
    await writeFile(
      manifest,
      `version: "2.0.0"\nrequirements:\n  environment_checks:\n    - name: api\n      command: |-\n        ${meter}\n`,
    );
    const checks = await runShip(["--check-requirements", manifest, "--app-dir", installed.app.appDir]);
    expect(checks.code).toBe(1);
    expect(checks.stdout).toMatch(
      /environment_checks\.api: exit code 7 \(.*\): curl: \(7\) connection refused\n/,
    );
    expect(checks.stdout).not.toContain("\r");
  });

  it("has no control characters: a NUL or a color code is no longer sent raw to the journal and the terminal", async () => {
    // A NUL made journald store the whole failure line as "[blob data]"; ESC sequences drove the terminal.
    const noisy = "printf '\\033[31mERROR\\033[0m db\\000down\\tnow \\377\\n\\033[0m\\n' >&2; exit 1";
    const { run, state } = await update([
      "post_update_tests:",
      "  - name: health",
      "    command: |-",
      `      ${noisy}`,
    ]);
    expect(run.code, run.stdout + run.stderr).toBe(1);
    const said = '"health" exited with 1: ERROR db\\u0000down now \uFFFD (after 1 attempt)';
    expect(run.stdout).toContain(said);
    expect(run.stdout.includes("\u0000") || run.stdout.includes("\u001b")).toBe(false);
    expect(String(state.sources.myapp?.last_error)).toContain(said);

    if (installed === undefined) throw new Error("1.0.0 was not installed");
    const manifest = join(installed.app.root, "checks.yaml");
    await writeFile(
      manifest,
      `version: "2.0.0"\nrequirements:\n  environment_checks:\n    - name: api\n      command: |-\n        ${noisy}\n`,
    );
    const checks = await runShip(["--check-requirements", manifest, "--app-dir", installed.app.appDir]);
    expect(checks.code).toBe(1);
    expect(checks.stdout).toContain("): ERROR db\\u0000down now \uFFFD\n");
    expect(checks.stdout.includes("\u0000") || checks.stdout.includes("\u001b")).toBe(false);
  });

  it("of a command that timed out is what it said last, for a hook and an environment check", async () => {
    const stuck = "echo starting; echo 'waiting for the database lock' >&2; sleep 30";
    const { run } = await update(["hooks:", "  pre_update:", `    - {command: "${stuck}", timeout: 0.5}`]);
    expect(run.code, run.stdout + run.stderr).toBe(1);
    expect(run.stdout).toContain(
      "pre_update hook[0] timed out after 0.5s: waiting for the database lock; the app's files were not changed",
    );

    if (installed === undefined) throw new Error("1.0.0 was not installed");
    const manifest = join(installed.app.root, "checks.yaml");
    await writeFile(
      manifest,
      `version: "2.0.0"\nrequirements:\n  environment_checks:\n    - {name: db, command: "${stuck}", timeout: 0.5}\n`,
    );
    const checks = await runShip(["--check-requirements", manifest, "--app-dir", installed.app.appDir]);
    expect(checks.code).toBe(1);
    expect(checks.stdout).toContain(
      "environment_checks.db: timed out after 0.5 s and was killed (echo …): waiting for the database lock",
    );
  });
});

describe("a script of the app the shell cannot start, in a condition or an environment check", () => {
  it("command() reading false and the failed check say why (CRLF), in the checks and in a run", async () => {
    const app = await localApp();
    apps.push(app);
    await mkdir(join(app.appDir, "scripts"));
    await writeFile(join(app.appDir, "scripts/maint.sh"), "#!/bin/sh\r\nexit 0\r\n", { mode: 0o755 });
    const dir = await app.release(
      "v1",
      [
        'version: "1.0.0"',
        "conditionals:",
        "  - {condition: \"command('scripts/maint.sh')\", action: skip_update, message: maintenance}",
        "requirements:",
        "  environment_checks:",
        '    - {name: db, command: "scripts/maint.sh --db"}',
        "",
      ].join("\n"),
    );
    const manifest = join(dir, "update-manifest.yaml");
    const conditions = await runShip(["--test-conditionals", manifest, "--app-dir", app.appDir]);
    expect(conditions.stdout).toMatch(
      /warning: command\('scripts\/maint\.sh'\) read false; scripts\/maint\.sh has Windows \(CRLF\) line endings/,
    );
    const requirements = await runShip(["--check-requirements", manifest, "--app-dir", app.appDir]);
    expect(requirements.code).toBe(1);
    expect(requirements.stdout).toMatch(
      /FAIL environment_checks\.db: .*scripts\/maint\.sh has Windows \(CRLF\)/,
    );
    const run = await runShip(["--config", app.config]);
    expect(run.code, run.stderr).toBe(1);
    expect(run.stdout).toMatch(
      /environment_checks\.db: .*scripts\/maint\.sh has Windows \(CRLF\) line endings/,
    );
  });

  it("command() that reads true only because sh ran a BOM #!/bin/sh script: warned of, in the checks and in a run", async () => {
    const app = await localApp();
    apps.push(app);
    await mkdir(join(app.appDir, "scripts"));
    await writeFile(join(app.appDir, "scripts/maint.sh"), "\uFEFF#!/bin/sh\nexit 0\n", { mode: 0o755 });
    const dir = await app.release(
      "v1",
      [
        'version: "1.0.0"',
        "conditionals:",
        "  - {condition: \"command('scripts/maint.sh --now')\", action: skip_update, message: maintenance}",
        "",
      ].join("\n"),
    );
    const said =
      "command('scripts/maint.sh …') read true, but scripts/maint.sh starts with a byte-order mark (UTF-8 BOM) before #!, so the kernel does not see its #! line and /bin/sh ran it as a shell script";
    const conditions = await runShip([
      "--test-conditionals",
      join(dir, "update-manifest.yaml"),
      "--app-dir",
      app.appDir,
    ]);
    expect(conditions.stdout).toMatch(/HOLDS +command\('scripts\/maint\.sh --now'\)/);
    expect(conditions.stdout).toContain(`warning: ${said}`);
    const run = await runShip(["--config", app.config, "--json"]);
    expect(run.code, run.stderr).toBe(0);
    const result = JSON.parse(run.stdout).apps[0];
    expect(result.result).toBe("skipped");
    expect(result.warnings.join("\n")).toContain(said);
    expect(run.stderr).toContain(`myapp: WARNING: ${said}`);
  });

  it("an environment check with a BOM before #! says so when it fails, and when it passes under sh", async () => {
    const app = await localApp();
    apps.push(app);
    await mkdir(join(app.appDir, "scripts"));
    await writeFile(join(app.appDir, "scripts/db.py"), "\uFEFF#!/usr/bin/python3\nprint('up')\n", {
      mode: 0o755,
    });
    await writeFile(join(app.appDir, "scripts/disk.sh"), "\uFEFF#!/bin/sh\nexit 0\n", { mode: 0o755 });
    const manifest = join(app.appDir, "m.yaml");
    await writeFile(
      manifest,
      [
        'version: "1.0.0"',
        "requirements:",
        "  environment_checks:",
        '    - {name: db, command: "scripts/db.py"}',
        '    - {name: disk, command: "scripts/disk.sh"}',
        "",
      ].join("\n"),
    );
    const requirements = await runShip(["--check-requirements", manifest, "--app-dir", app.appDir]);
    expect(requirements.code).toBe(1);
    expect(requirements.stdout).toMatch(
      /FAIL environment_checks\.db: .*scripts\/db\.py starts with a byte-order mark/,
    );
    expect(requirements.stdout).toMatch(
      /ok +environment_checks\.disk: passed \(scripts\/disk\.sh\), but scripts\/disk\.sh starts with a byte-order mark/,
    );
  });
});
