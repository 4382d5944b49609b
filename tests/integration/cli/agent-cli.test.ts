import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { runShip } from "../../support/ship-cli.js";

const manifest = (version: string, extra = "") => `version: "${version}"
files:
  "config.toml":
    action: merge_toml
    merge_strategy: preserve_user
directories:
  data:
    preserve: true
${extra}`;

describe("ship CLI (real process, local source)", () => {
  let root: string;
  let config: string;

  async function release(name: string, version: string, app: string, extra = ""): Promise<string> {
    const dir = join(root, name);
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, "update-manifest.yaml"), manifest(version, extra));
    await writeFile(join(dir, "app.py"), app);
    await writeFile(
      join(dir, "config.toml"),
      `[server]\nport = 8000\nworkers = ${version.startsWith("2") ? 4 : 1}\n`,
    );
    return dir;
  }

  async function writeConfig(releaseDir: string): Promise<void> {
    await writeFile(
      config,
      `[general]\nstate_file = "${root}/var/state.json"\nbackup_dir = "${root}/var/backups"\nmin_interval_hours = 0\n\n[sources.myapp]\ntype = "local"\npath = "${releaseDir}"\napp_dir = "${root}/app"\n`,
    );
  }

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), "ship-cli-"));
    config = join(root, "ship.toml");
    await mkdir(join(root, "app"));
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it("installs v1, updates to v2 keeping user config and data, lists and rolls back backups", async () => {
    await writeConfig(await release("r1", "1.0.0", "v1\n"));
    const check = await runShip(["--config", config, "--check-only"]);
    expect(check.code).toBe(100);
    expect(check.stdout).toContain("update");

    expect((await runShip(["--config", config])).code).toBe(0);
    expect(await readFile(join(root, "app/app.py"), "utf8")).toBe("v1\n");

    // The user edits the config and owns data/.
    await writeFile(join(root, "app/config.toml"), "[server]\nport = 9000\nworkers = 1\n");
    await mkdir(join(root, "app/data"));
    await writeFile(join(root, "app/data/db"), "precious");

    await writeConfig(await release("r2", "2.0.0", "v2\n"));
    const update = await runShip(["--config", config]);
    expect(update.code, update.stderr).toBe(0);
    expect(update.stdout).toContain("2.0.0");
    expect(await readFile(join(root, "app/app.py"), "utf8")).toBe("v2\n");
    const merged = await readFile(join(root, "app/config.toml"), "utf8");
    expect(merged).toContain("port = 9000");
    expect(merged).toContain("workers = 4");
    expect(await readFile(join(root, "app/data/db"), "utf8")).toBe("precious");

    const state = JSON.parse(await readFile(join(root, "var/state.json"), "utf8"));
    expect(state.sources.myapp).toMatchObject({ current_version: "2.0.0", previous_version: "1.0.0" });
    expect(typeof state.last_run).toBe("string");

    const listed = await runShip(["--config", config, "--list-backups", "--json"]);
    const backups = JSON.parse(listed.stdout) as { id: string; version: string | null }[];
    const toV1 = backups.find((b) => b.version === "1.0.0");
    expect(toV1).toBeDefined();

    const rollback = await runShip(["--config", config, "--rollback", toV1!.id]);
    expect(rollback.code, rollback.stderr).toBe(0);
    expect(await readFile(join(root, "app/app.py"), "utf8")).toBe("v1\n");
    expect(await readFile(join(root, "app/data/db"), "utf8")).toBe("precious");
    const after = JSON.parse(await readFile(join(root, "var/state.json"), "utf8"));
    expect(after.sources.myapp.current_version).toBe("1.0.0");
    // The source decides from what is installed: the release directory still holds 2.0.0.
    const recheck = await runShip(["--config", config, "--check-only"]);
    expect(recheck.code, recheck.stdout).toBe(100);
    expect(recheck.stdout).toContain("update available 1.0.0 -> 2.0.0");
  });

  it("logs each merged file's key report at INFO", async () => {
    await writeConfig(await release("r1", "1.0.0", "v1\n"));
    expect((await runShip(["--config", config])).code).toBe(0);
    await writeFile(join(root, "app/config.toml"), "[server]\nport = 9000\nworkers = 1\n");
    await writeConfig(await release("r2", "2.0.0", "v2\n"));
    const update = await runShip(["--config", config]);
    expect(update.code, update.stderr).toBe(0);
    const lines = update.stderr
      .split("\n")
      .filter((l) => l.startsWith("{"))
      .map((l) => JSON.parse(l) as { level: number; msg: string; kept?: string[]; updated?: string[] });
    const merged = lines.find((l) => l.msg.startsWith("merged config.toml"));
    expect(merged).toMatchObject({
      level: 30,
      msg: "merged config.toml: 1 kept, 0 added, 1 updated, 0 removed",
      kept: ["server.port"],
      updated: ["server.workers"],
    });
  });

  it("a user config that does not parse: exit 2 naming file:line:column, before any hook or change", async () => {
    await writeConfig(await release("r1", "1.0.0", "v1\n"));
    expect((await runShip(["--config", config])).code).toBe(0);
    await writeFile(join(root, "app/config.toml"), "[server]\nport = = 9000\n");
    const marker = join(root, "pre-update-ran");
    await writeConfig(
      await release("r2", "2.0.0", "v2\n", `hooks:\n  pre_update:\n    - "touch ${marker}"\n`),
    );
    const failed = await runShip(["--config", config]);
    expect(failed.code, failed.stderr).toBe(2);
    expect(failed.stdout + failed.stderr).toContain(`${root}/app/config.toml:2:8`);
    expect(failed.stdout + failed.stderr).not.toContain("restored");
    expect(await readFile(join(root, "app/app.py"), "utf8")).toBe("v1\n");
    expect(await readFile(join(root, "app/config.toml"), "utf8")).toBe("[server]\nport = = 9000\n");
    await expect(readFile(marker)).rejects.toThrow();
    const listed = await runShip(["--config", config, "--list-backups", "--json"]);
    expect(JSON.parse(listed.stdout)).toHaveLength(1);
  });

  it("exits 1 with the app restored when a post-update test fails", async () => {
    await writeConfig(await release("r1", "1.0.0", "v1\n"));
    expect((await runShip(["--config", config])).code).toBe(0);
    const before = await readFile(join(root, "app/app.py"), "utf8");
    await writeConfig(
      await release("r2", "2.0.0", "v2\n", 'post_update_tests:\n  - name: health\n    command: "exit 1"\n'),
    );
    const failed = await runShip(["--config", config]);
    expect(failed.code).toBe(1);
    expect(await readFile(join(root, "app/app.py"), "utf8")).toBe(before);
  });

  it("a run SIGKILLed mid-apply is recovered by the next plain `ship` run: whole v2, data untouched", async () => {
    await writeConfig(await release("r1", "1.0.0", "v1\n"));
    expect((await runShip(["--config", config])).code).toBe(0);
    await mkdir(join(root, "app/data"));
    await writeFile(join(root, "app/data/db"), "precious");
    await writeConfig(await release("r2", "2.0.0", "v2\n"));
    const killed = await runShip(["--config", config], { env: { SHIP_FAULT: "apply:file@1" } });
    expect(killed.code).toBeNull();
    const next = await runShip(["--config", config]);
    expect(next.code, next.stderr).toBe(0);
    expect(await readFile(join(root, "app/app.py"), "utf8")).toBe("v2\n");
    expect(await readFile(join(root, "app/config.toml"), "utf8")).toContain("workers = 4");
    expect(await readFile(join(root, "app/data/db"), "utf8")).toBe("precious");
  });

  it("refuses a malformed manifest with exit 2 and a positioned message, changing nothing", async () => {
    const dir = await release("r1", "1.0.0", "v1\n");
    await writeFile(
      join(dir, "update-manifest.yaml"),
      'version: "1.0.0"\nfiles:\n  a.txt:\n    action: merge_tomll\n',
    );
    await writeConfig(dir);
    const result = await runShip(["--config", config]);
    expect(result.code).toBe(2);
    expect(result.stderr + result.stdout).toContain('update-manifest.yaml:4:5 files."a.txt".action');
    await expect(readFile(join(root, "app/app.py"), "utf8")).rejects.toThrow();
  });

  it("--test-manifest: exit 0 for a valid manifest, 2 with line:column for a bad one", async () => {
    const dir = await release("r1", "1.0.0", "v1\n");
    const ok = await runShip(["--test-manifest", join(dir, "update-manifest.yaml")]);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain("valid manifest for version 1.0.0");
    const bad = join(root, "bad.yaml");
    await writeFile(bad, "version: 1\nfiles:\n  x:\n    action: merge_tomll\n");
    const result = await runShip(["--test-manifest", bad]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`${bad}:4:5 files.x.action: unknown action "merge_tomll"`);
    expect(result.stderr).toContain(`${bad}:1:1 version: must be a quoted string`);
  });

  it("--test-conditionals and --check-requirements report on this host", async () => {
    const dir = await release(
      "r1",
      "1.0.0",
      "v1\n",
      `conditionals:
  - condition: "file_exists('maintenance') or current_version < '1.0.0'"
    action: require_manual_intervention
    message: "needs a person"
    manual_steps: ["back up the database"]
requirements:
  required_commands: ["sh", "surely-not-a-command-xyz"]
`,
    );
    const file = join(dir, "update-manifest.yaml");
    const cond = await runShip([
      "--test-conditionals",
      file,
      "--app-dir",
      join(root, "app"),
      "--current-version",
      "0.9.0",
      "--json",
    ]);
    expect(cond.code, cond.stderr).toBe(0);
    const verdict = JSON.parse(cond.stdout);
    expect(verdict.decision).toBe("manual");
    expect(verdict.manualSteps).toEqual(["back up the database"]);

    const newer = await runShip([
      "--test-conditionals",
      file,
      "--app-dir",
      join(root, "app"),
      "--current-version",
      "1.0.0",
      "--json",
    ]);
    expect(JSON.parse(newer.stdout).decision).toBe("proceed");

    // Not a version: refused as --approve refuses it, where `latest` < 1.0.0 held and the check
    // said the update would wait for manual steps.
    for (const mode of ["--test-conditionals", "--check-rollout"]) {
      for (const bad of ["latest", "1.9,0"]) {
        const refused = await runShip([mode, file, "--app-dir", join(root, "app"), "--current-version", bad]);
        expect(refused.code, refused.stdout).toBe(2);
        expect(refused.stdout).toBe("");
        expect(refused.stderr.trim()).toBe(
          `ship: --current-version "${bad}": is not a release version (e.g. 2.0.0)`,
        );
      }
    }

    const req = await runShip(["--check-requirements", file, "--app-dir", join(root, "app")]);
    expect(req.code).toBe(1);
    expect(req.stdout).toMatch(/FAIL required_commands\.surely-not-a-command-xyz/);
    expect(req.stdout).toMatch(/ok {3}required_commands\.sh/);
  });

  it("usage errors exit 2; --version and --help exit 0", async () => {
    expect((await runShip(["--no-such-flag"])).code).toBe(2);
    expect((await runShip(["--version"])).code).toBe(0);
    const help = await runShip(["--help"]);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain("--check-rollout");
  });

  it("--check-rollout says whether this host is in the open stage", async () => {
    const dir = await release(
      "r1",
      "1.0.0",
      "v1\n",
      `rollout:\n  strategy: staged\n  start: "2000-01-01T00:00:00Z"\n  stages:\n    - { name: all, percentage: 100 }\n`,
    );
    const result = await runShip(["--check-rollout", join(dir, "update-manifest.yaml"), "--json"]);
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ eligible: true });
    const none = await release(
      "r2",
      "2.0.0",
      "v2\n",
      `rollout:\n  start: "2999-01-01T00:00:00Z"\n  stages:\n    - { percentage: 100 }\n`,
    );
    const later = await runShip(["--check-rollout", join(none, "update-manifest.yaml"), "--json"]);
    expect(JSON.parse(later.stdout)).toMatchObject({ eligible: false });
  });

  it("a second run with the same release is a no-op: exit 0 and no new backup", async () => {
    await writeConfig(await release("r1", "1.0.0", "v1\n"));
    expect((await runShip(["--config", config])).code).toBe(0);
    const again = await runShip(["--config", config]);
    expect(again.code).toBe(0);
    const listed = JSON.parse((await runShip(["--config", config, "--list-backups", "--json"])).stdout);
    expect(listed).toHaveLength(1);
  });
});
