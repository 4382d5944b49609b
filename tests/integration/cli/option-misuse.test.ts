import { existsSync } from "node:fs";
import { mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { runShip } from "../../support/ship-cli.js";
import { type LocalApp, localApp } from "./local-app.js";

const MANIFEST = 'version: "2.0.0"\n';

// Every case runs against a fresh app with release 2.0.0 ready, so "nothing is installed" means
// the refusal came before the update, not that there was nothing to install.
let app: LocalApp;
beforeEach(async () => {
  app = await localApp();
  await app.release("r2", MANIFEST);
});
afterEach(async () => app.cleanup());

// A mix of root-level modes used to run only the first one in ship's list (and `--no-hooks` alone
// ran a real update); every mix must be refused as bad input before anything runs.
describe("ship refuses options that do not go together (real CLI)", () => {
  it.each([
    [["--list-backups", "--rollback", "x"], /--list-backups and --rollback cannot be used together/],
    [["--rollback", "x", "--check-only"], /--check-only applies to an update run, not to --rollback/],
    [["--list-backups", "--check-only"], /--check-only applies to an update run, not to --list-backups/],
    [["--no-hooks"], /--no-hooks applies only with --rollback/],
    [["--no-hooks", "--force"], /--no-hooks applies only with --rollback/],
    // Options one mode reads, given to another, used to be ignored without a word.
    [["--list-backups", "--force"], /^ship: --force applies to an update run, not to --list-backups\n$/],
    [
      ["--rollback", "x", "--allow-downgrade"],
      /--allow-downgrade applies to an update run, --approve, not to --rollback/,
    ],
    [
      ["--recover", "--sources", "myapp"],
      /--sources applies to an update run, --list-backups, .*not to --recover/,
    ],
    [["--force", "--app-dir", "/tmp"], /--app-dir applies to --test-conditionals, .*not to an update run/],
    [["--current-version", "1.0.0"], /--current-version applies to .*not to an update run/],
    [
      ["--approve", "myapp", "2.0.0", "--ignore-rollout"],
      /--ignore-rollout applies to an update run, not to --approve/,
    ],
    // `--version` printed the version and ignored the rest: it reads only --json (and --config, any mode's).
    [["--version", "--force"], /^ship: --force applies to an update run, not to --version\n$/],
    [
      ["--version", "--rollback", "x"],
      /^ship: --version and --rollback cannot be used together: give one\n$/,
    ],
    [["--version", "--check-only"], /^ship: --check-only applies to an update run, not to --version\n$/],
    // A one-value flag given twice: commander kept the last without a word (which backup, which config?).
    [
      ["--rollback", "myapp-1", "--rollback", "myapp-2"],
      /^ship: --rollback is given more than once \("myapp-1", then "myapp-2"\): it takes one value; give it once\n$/,
    ],
    [
      ["--config", "/nonexistent/ship.toml"],
      /^ship: --config is given more than once \(".*", then "\/nonexistent\/ship\.toml"\)/,
    ],
  ])("ship %j is exit 2 with one line, and nothing is installed", async (args, message) => {
    const run = await runShip(["--config", app.config, ...args]);
    expect(run.code).toBe(2);
    expect(run.stderr.trim().split("\n")).toHaveLength(1);
    expect(run.stderr).toMatch(message);
    expect(await readdir(app.appDir)).toEqual([]);
  });

  it("--list-backups --sources lists only those sources' backups, and refuses a name no source has", async () => {
    expect((await runShip(["--config", app.config, "--force"])).code).toBe(0);
    const listed = await runShip(["--config", app.config, "--list-backups", "--sources", "myapp"]);
    expect(listed.code, listed.stderr).toBe(0);
    expect(listed.stdout).toMatch(/^myapp-\S+ +myapp /m);
    const unknown = await runShip(["--config", app.config, "--list-backups", "--sources", "nope"]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr.trim()).toBe("ship: --sources nope: no such source; configured: myapp");
  });

  // A source named twice was taken as two sources filling one app_dir: the run was refused with
  // "sources.myapp.app_dir, sources.myapp.app_dir: all name … run one with --sources myapp".
  it("--sources naming one source twice runs that source once", async () => {
    const run = await runShip(["--config", app.config, "--force", "--sources", "myapp", "myapp"]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/^myapp: installed 2\.0\.0/m);
    expect(await readdir(app.appDir)).toContain("app.txt");
    const manifest = join(app.root, "r2", "update-manifest.yaml");
    const check = await runShip([
      "--config",
      app.config,
      "--test-conditionals",
      manifest,
      "--sources",
      "myapp",
      "myapp",
    ]);
    expect(check.code, check.stderr).toBe(0);
  });

  // --sources was accepted by --check-rollout and ignored: a stage's criteria on current_version
  // read "unknown" (nothing installed) instead of the source's installed version.
  it("--check-rollout --sources NAME judges criteria by that source's installed version", async () => {
    expect((await runShip(["--config", app.config, "--force"])).code).toBe(0);
    const next = await app.release(
      "r3",
      'version: "3.0.0"\nrollout:\n  start: "2000-01-01T00:00:00Z"\n  stages:\n' +
        "    - { name: all, percentage: 100, criteria: \"current_version >= '2.0.0'\" }\n",
    );
    const manifest = join(next, "update-manifest.yaml");
    const asked = await runShip([
      "--config",
      app.config,
      "--check-rollout",
      manifest,
      "--sources",
      "myapp",
      "--json",
    ]);
    expect(asked.code, asked.stderr).toBe(0);
    expect(JSON.parse(asked.stdout)).toMatchObject({ eligible: true });
    const unknown = await runShip(["--config", app.config, "--check-rollout", manifest, "--sources", "nope"]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr.trim()).toBe("ship: --sources nope: no such source; configured: myapp");
  });

  // Without --sources or --app-dir, --check-rollout judged criteria in the working directory with
  // nothing installed, while the README says the manifest checks default to the config's only source.
  it("--check-rollout without --sources or --app-dir asks about the config's only source, like the other checks", async () => {
    expect((await runShip(["--config", app.config, "--force"])).code).toBe(0);
    const next = await app.release(
      "r3",
      'version: "3.0.0"\nrollout:\n  start: "2000-01-01T00:00:00Z"\n  stages:\n' +
        "    - { name: all, percentage: 100, criteria: \"current_version >= '2.0.0' and file_exists('app.txt')\" }\n",
    );
    const manifest = join(next, "update-manifest.yaml");
    const asked = await runShip(["--config", app.config, "--check-rollout", manifest, "--json"], {
      cwd: app.root,
    });
    expect(asked.code, asked.stderr).toBe(0);
    expect(JSON.parse(asked.stdout)).toMatchObject({ eligible: true });
    // --app-dir alone is that directory, with that directory's installed version (none here), never
    // the only source's.
    const elsewhere = await runShip(
      ["--config", app.config, "--check-rollout", manifest, "--app-dir", app.root, "--json"],
      { cwd: app.root },
    );
    expect(JSON.parse(elsewhere.stdout)).toMatchObject({ eligible: false });
    const conditionals = await runShip(
      ["--config", app.config, "--test-conditionals", manifest, "--app-dir", app.root, "--json"],
      { cwd: app.root },
    );
    expect(JSON.parse(conditionals.stdout)).toMatchObject({ currentVersion: null });
  });

  it("--app-dir naming a file, or nothing ship knows of, is bad input for the checks that read it", async () => {
    const manifest = join(app.root, "r2", "update-manifest.yaml");
    for (const mode of ["--test-conditionals", "--check-requirements", "--check-rollout"]) {
      for (const [dir, what] of [
        [app.config, "is not a directory"],
        [join(app.root, "nope"), "no such file or directory (ENOENT)"],
      ] as const) {
        if (mode === "--check-requirements" && what.startsWith("no")) continue;
        const run = await runShip(["--config", app.config, mode, manifest, "--app-dir", dir]);
        expect(run.code, run.stdout + run.stderr).toBe(2);
        expect(run.stderr.trim()).toBe(`ship: --app-dir ${dir}${what.startsWith("no") ? ":" : ""} ${what}`);
      }
    }
  });

  // Before the first install the app directory does not exist: --sources NAME was accepted but
  // --app-dir naming the same directory was exit 2, and --check-requirements (a question about
  // the host) could not be asked for an app not installed yet.
  it("--app-dir of an app not installed yet: a configured app_dir for every check; any for --check-requirements", async () => {
    const manifest = join(app.root, "r2", "update-manifest.yaml");
    await rm(app.appDir, { recursive: true });
    for (const mode of ["--test-conditionals", "--check-requirements", "--check-rollout"]) {
      const run = await runShip(["--config", app.config, mode, manifest, "--app-dir", app.appDir]);
      expect(run.code, `${mode}: ${run.stdout}${run.stderr}`).toBe(0);
    }
    const elsewhere = join(app.root, "new", "app");
    const req = await runShip([
      "--config",
      app.config,
      "--check-requirements",
      manifest,
      "--app-dir",
      elsewhere,
    ]);
    expect(req.code, req.stderr).toBe(0);
    expect(req.stdout).toBe("the manifest states no requirements\n");
    await expect(readdir(join(app.root, "new"))).rejects.toThrow();
  });

  // `ship agent` is a subcommand: it did not take the root's exit code for a usage error, so
  // commander exited 1 ("the update failed and the app is back on its previous version"), which
  // the unit's RestartPreventExitStatus=2 does not stop: a typo in ExecStart restarted for ever.
  it.each([
    [["agent", "--force"], "ship: unknown option '--force'"],
    [["agent", "--sources", "myapp"], "ship: unknown option '--sources'"],
    [["agent", "now"], "ship: too many arguments for 'agent'. Expected 0 arguments but got 1."],
  ])("ship %j is exit 2 (bad input), and nothing is installed", async (args, message) => {
    const run = await runShip([...args, "--config", app.config]);
    expect(run.code).toBe(2);
    expect(run.stderr.trim()).toBe(message);
    expect(await readdir(app.appDir)).toEqual([]);
  });

  // Commander's own refusals read "error: required option '--app <name>' not specified", the
  // suggestion on a second line: the one refusal without the `ship:` every other one starts with.
  it.each([
    [["--bogus"], "ship: unknown option '--bogus'"],
    [["--rollback"], "ship: option '--rollback <id|path>' argument missing"],
    [["--forse"], "ship: unknown option '--forse' (Did you mean --force?)"],
    [["release", "nope"], "ship release: unknown command 'nope'"],
    [
      ["release", "publish", "--hub", "http://127.0.0.1:9"],
      "ship release publish: required option '--app <name>' not specified",
    ],
    [["release", "sftp"], "ship release sftp: missing required argument 'version'"],
    [["release", "bump", "--bogus"], "ship release bump: unknown option '--bogus'"],
  ])("ship %j is one line naming the command, exit 2, nothing written", async (args, line) => {
    const run = await runShip(args, { cwd: app.root });
    expect({ code: run.code, stderr: run.stderr }).toEqual({ code: 2, stderr: `${line}\n` });
    expect(await readdir(app.appDir)).toEqual([]);
  });

  // Options before a subcommand are the root's, which does not run then: `ship --config X agent`
  // started the daemon with ./ship.toml or /etc/ship/ship.toml, and `--force` there did nothing.
  it("ship --config FILE agent reads FILE; another root option before a subcommand is exit 2 naming it", async () => {
    const elsewhere = { cwd: tmpdir() };
    const agent = await runShip(["--config", app.config, "agent"], elsewhere);
    expect(agent.code).toBe(2);
    expect(agent.stderr.trim()).toBe(
      `ship: ${app.config} hub: \`ship agent\` needs a [hub] table (url, token_file)`,
    );
    const twice = await runShip(["--config", app.config, "agent", "--config", join(app.root, "other.toml")]);
    expect(twice.code).toBe(2);
    expect(twice.stderr.trim()).toBe(
      `ship: --config given twice, as ${app.config} and ${join(app.root, "other.toml")}: give one`,
    );
    const force = await runShip(["--force", "agent", "--config", app.config]);
    expect(force.code).toBe(2);
    expect(force.stderr.trim()).toBe("ship: --force applies to ship's own runs, not to `ship agent`");
    const json = await runShip(["--json", "release", "-C", app.root, "bump", "patch"], elsewhere);
    expect(json.code).toBe(2);
    // The place it names takes it: `ship release bump patch --json` is "unknown option '--json'".
    expect(json.stderr.trim()).toBe(
      "ship release bump: --json written before `release` is ship's own option: write it after `ship release`",
    );
    const moved = await runShip(["release", "--json", "-C", app.root, "bump", "patch"], elsewhere);
    expect(moved.stderr).not.toContain("unknown option");
    expect(await readdir(app.appDir)).toEqual([]);
  });

  it("the same update run without the stray option installs (the refusal was the option, not the setup)", async () => {
    const run = await runShip(["--config", app.config, "--force"]);
    expect(run.code).toBe(0);
    expect(await readdir(app.appDir)).toContain("app.txt");
  });
});

// An empty value (usually an unset shell variable) used to reach the command: `--rollback ""` said
// "no backup with id  (see …)". Every flag and argument that takes a value refuses it first.
describe("ship refuses an empty flag value (real CLI)", () => {
  it.each([
    [["--rollback", ""], "ship: --rollback is empty: give it a value"],
    [["--rollback", "  "], "ship: --rollback is empty: give it a value"],
    [["--test-manifest", ""], "ship: --test-manifest is empty: give it a value"],
    [["--sources", "myapp", ""], "ship: --sources has an empty value: give each a value"],
    [["--approve", "myapp", ""], "ship: --approve has an empty value: give each a value"],
    [["--force", "--app-dir", ""], "ship: --app-dir is empty: give it a value"],
  ])("ship %j is exit 2 with one line naming the flag, and nothing is installed", async (args, message) => {
    const run = await runShip(["--config", app.config, ...args]);
    expect(run.code).toBe(2);
    expect(run.stderr.trim()).toBe(message);
    expect(await readdir(app.appDir)).toEqual([]);
    expect(await readdir(app.root)).not.toContain("var");
  });

  it("ship --rollback with an id no backup has is one line that reads as a sentence: the backup directory, then why", async () => {
    const run = await runShip(["--config", app.config, "--rollback", "app-20990101T000000Z"]);
    expect(run.code).toBe(2);
    expect(run.stderr.trim()).toMatch(
      /^ship: \/\S+ holds no backup with id app-20990101T000000Z \(a restore consumes its backup, keep_backups prunes old ones; see ship --list-backups\)$/,
    );
    expect(await readdir(app.appDir)).toEqual([]);
  });

  it.skipIf(existsSync("/etc/ship/ship.toml"))(
    "a check with no config anywhere and no --app-dir names the default config and says it does not exist",
    async () => {
      const dir = await mkdtemp(join(tmpdir(), "ship-no-config-"));
      const manifest = join(dir, "m.yaml");
      await writeFile(manifest, 'version: "1.0.0"\n');
      const run = await runShip(["--test-conditionals", manifest], { cwd: dir });
      await rm(dir, { recursive: true, force: true });
      expect(run.code).toBe(2);
      expect(run.stderr.trim()).toBe(
        "ship: /etc/ship/ship.toml does not exist: pass --app-dir DIR (or --config PATH)",
      );
    },
  );

  it.each([
    [["--config", ""], "ship: --config is empty: give it a value"],
    [["agent", "--config", ""], "ship: --config is empty: give it a value"],
    // A `ship release` command's refusal names the command, as its others do (it said `ship: …`).
    [["release", "sign", "", "--key", "k"], "ship release sign: <artifact> is empty: give it a value"],
    // A flag of the command above the one that runs: it named nothing ("ship:  cannot read the
    // config", "ship release bump:  is not a git work tree").
    [["--config", "", "agent"], "ship: --config is empty: give it a value"],
    [["release", "-C", "", "bump", "patch"], "ship release bump: --dir is empty: give it a value"],
  ])("ship %j too", async (args, message) => {
    const run = await runShip(args, { cwd: app.root });
    expect(run.code).toBe(2);
    expect(run.stderr.trim()).toBe(message);
  });
});

// `ship release` refused an empty or repeated option with `ship: …` where the command's other
// refusals say `ship release publish: …`, and --json said `ship: …` for each of them, commander's too.
describe("ship release's refusals of its options name the command, in --json too (real CLI)", () => {
  const publish = ["release", "publish", "--hub", "http://127.0.0.1:9", "--version", "1.0.0"];
  it.each([
    [
      [...publish, "--app", "a", "--app", "b"],
      '--app is given more than once ("a", then "b"): it takes one value; give it once',
    ],
    [[...publish, "--app", ""], "--app is empty: give it a value"],
    [["release", "http", "1.0.0", "d", "--out", ""], "--out is empty: give it a value"],
  ])("ship %j", async (args, error) => {
    const command = `ship release ${args[1]}`;
    const run = await runShip(args, { cwd: app.root });
    expect({ code: run.code, stderr: run.stderr }).toEqual({ code: 2, stderr: `${command}: ${error}\n` });
    const json = await runShip(["release", "--json", ...args.slice(1)], { cwd: app.root });
    expect({ code: json.code, stderr: json.stderr }).toEqual({ code: 2, stderr: `${command}: ${error}\n` });
    expect(JSON.parse(json.stdout)).toEqual({ exitCode: 2, message: `${command}: ${error}`, error });
  });

  it("commander's refusal of a release command in --json names the command as its stderr line does", async () => {
    const run = await runShip(["release", "--json", "publish", "--hub", "http://127.0.0.1:9"], {
      cwd: app.root,
    });
    const line = "ship release publish: required option '--app <name>' not specified";
    expect({ code: run.code, stderr: run.stderr }).toEqual({ code: 2, stderr: `${line}\n` });
    expect(JSON.parse(run.stdout)).toMatchObject({ exitCode: 2, message: line });
  });
});

// A flag whose value was left out takes the next word, an option of ship's: `ship --rollback --json`
// said "holds no backup with id --json" (in JSON, the --json it swallowed read as given), and
// `--config --force` "cannot read the config --force". Refused naming the flag, before anything runs.
describe("ship refuses a flag whose value is another flag (real CLI)", () => {
  it.each([
    [
      ["--rollback", "--json"],
      "ship: --rollback has no value: the word after it is the option --json; give it a value (--rollback <id|path>)",
    ],
    [
      ["--rollback", "--no-hooks"],
      "ship: --rollback has no value: the word after it is the option --no-hooks; give it a value (--rollback <id|path>)",
    ],
    [
      ["--test-manifest", "-q"],
      "ship: --test-manifest has no value: the word after it is the option -q; give it a value (--test-manifest <file>)",
    ],
    [
      ["--approve", "--force"],
      "ship: --approve has no value: the word after it is the option --force; give it a value (--approve <app-and-version...>)",
    ],
  ])("ship %j is exit 2 naming the flag, and nothing is installed", async (args, message) => {
    const run = await runShip(["--config", app.config, ...args]);
    expect(run.code).toBe(2);
    expect(run.stderr.trim()).toBe(message);
    expect(await readdir(app.appDir)).toEqual([]);
    expect(await readdir(app.root)).not.toContain("var");
  });

  it("ship --config --force and ship release -C --json too", async () => {
    for (const [args, message] of [
      [
        ["--config", "--force"],
        "ship: --config has no value: the word after it is the option --force; give it a value (-c, --config <path>)",
      ],
      [
        ["release", "-C", "--json", "bump", "patch"],
        "ship release bump: --dir has no value: the word after it is the option --json; give it a value (-C, --dir <dir>)",
      ],
    ] as const) {
      const run = await runShip([...args], { cwd: app.root });
      expect(run.code, run.stdout + run.stderr).toBe(2);
      expect(run.stderr.trim()).toBe(message);
    }
  });
});

// `ship release -C DIR` naming no directory (a typo, an unset CI variable with a suffix): bump and
// git said "internal error: Cannot use simple-git on a directory that does not exist" (exit 1),
// manifest "cannot open …/update-manifest.yaml", and keygen made the directory and wrote the
// signing key into it.
describe("ship release -C a directory that is not there (real CLI)", () => {
  it.each([
    [["bump", "patch"]],
    [["git", "1.0.0", "Fixes"]],
    [["manifest", "1.0.0"]],
    [["keygen", "--out", "keys"]],
    [["http", "1.0.0", "Fixes", "--app", "myapp", "--out", "dist"]],
  ])("ship release -C missing %j is exit 2 naming -C, and creates nothing", async (args) => {
    const missing = join(app.root, "chekcout");
    const run = await runShip(["release", "-C", missing, ...args], { cwd: app.root });
    expect(run.code, run.stderr).toBe(2);
    expect(run.stderr.trim()).toBe(
      `ship release ${args[0]}: -C ${missing}: no such file or directory (ENOENT)`,
    );
    expect(existsSync(missing)).toBe(false);
  });

  it("a file is not a directory either", async () => {
    const run = await runShip(["release", "-C", app.config, "manifest", "1.0.0"], { cwd: app.root });
    expect(run.code).toBe(2);
    expect(run.stderr.trim()).toBe(`ship release manifest: -C ${app.config}: not a directory`);
  });
});

// `ship --help` named --check-requirements and not --check-rollout for --app-dir, and only
// --test-conditionals for --current-version, while the refusals (and the README) name the modes
// that read them: the help must name the same.
describe("ship --help names the modes a mode option applies to, as its refusal does (real CLI)", () => {
  it.each([
    ["--app-dir", ["--test-manifest", "m.yaml", "--app-dir", "/tmp"]],
    ["--current-version", ["--check-only", "--current-version", "1.0.0"]],
  ])("%s", async (flag, misuse) => {
    // Each option's entry: its line and the indented lines that continue its description.
    const entries = (await runShip(["--help"])).stdout
      .split(/\n(?= {2}-)/)
      .map((e) => e.replace(/\s+/g, " ").trim());
    const said = entries.find((e) => e.startsWith(`${flag} `)) ?? "";
    const refused = await runShip(["--config", app.config, ...misuse]);
    expect(refused.code).toBe(2);
    const modes = /applies to (.*), not to /.exec(refused.stderr)?.[1]?.split(", ") ?? [];
    expect(modes.length).toBeGreaterThan(0);
    for (const mode of modes) expect(said, `${flag}: ${said}`).toContain(mode);
  });
});
