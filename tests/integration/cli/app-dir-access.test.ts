/**
 * An app_dir ship's user cannot use is bad input named before anything runs, and a first install
 * into an app_dir that does not exist yet runs its commands there. Real CLI; as root (CI) ship runs
 * as nobody in root's directories, otherwise the directories are made unreadable or read-only.
 */
import { existsSync } from "node:fs";
import { chmod, chown, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { runShip } from "../../support/ship-cli.js";

const asRoot = process.getuid?.() === 0;
const NOBODY = 65534;

describe("app_dir ship's user cannot use (real CLI)", () => {
  let root: string;
  let config: string;
  let closed: string;
  const hookRan = () => join(root, "var/hook-ran");

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), "ship-app-access-"));
    await chmod(root, 0o755);
    config = join(root, "ship.toml");
    for (const dir of ["var", "apps", "release"]) await mkdir(join(root, dir));
    if (asRoot) for (const dir of ["var", "apps"]) await chown(join(root, dir), NOBODY, NOBODY);
    // command() conditions, environment_checks and hooks all run in app_dir.
    await writeFile(
      join(root, "release/update-manifest.yaml"),
      [
        'version: "1.0.0"',
        "conditionals:",
        `  - condition: "command('test -d /nonexistent-ship-dir')"`,
        "    action: skip_update",
        "requirements:",
        "  environment_checks:",
        "    - name: shell",
        '      command: "true"',
        "hooks:",
        "  pre_update:",
        `    - "pwd > ${hookRan()}"`,
        "",
      ].join("\n"),
    );
    await writeFile(join(root, "release/app.py"), "v1\n");
    closed = join(root, "closed");
    await mkdir(closed);
    await writeFile(join(closed, "own.txt"), "the operator's\n");
    await chmod(closed, asRoot ? 0o700 : 0o500);
  });
  afterEach(async () => {
    await chmod(closed, 0o755).catch(() => undefined);
    await rm(root, { recursive: true, force: true });
  });

  async function run(appDir: string) {
    await writeConfig(appDir);
    return runShip(["--config", config], asRoot ? { user: { uid: NOBODY, gid: NOBODY } } : {});
  }

  async function writeConfig(appDir: string) {
    await writeFile(
      config,
      `[general]\nstate_file = "${root}/var/state.json"\nbackup_dir = "${root}/var/backups"\nmin_interval_hours = 0\n\n[sources.myapp]\ntype = "local"\npath = "${root}/release"\napp_dir = "${appDir}"\n`,
    );
  }

  it("an existing app_dir it may not write: exit 2 naming the key, no hook run, nothing written", async () => {
    const result = await run(closed);
    expect(result.code, result.stdout + result.stderr).toBe(2);
    const line = result.stderr.trim();
    expect(line.split("\n")).toHaveLength(1);
    expect(line).toContain(`sources.myapp.app_dir: ${closed}: `);
    expect(line).toContain("may not read, write and enter it");
    // Before: the pre_update hook ran (or failed with "spawn /bin/sh EACCES"), exit 1.
    expect(existsSync(hookRan())).toBe(false);
    expect(existsSync(join(root, "var/state.json"))).toBe(false);
    await chmod(closed, 0o755);
    expect(await readdir(closed)).toEqual(["own.txt"]);
  });

  it("a missing app_dir in a directory it may not write: exit 2 naming the key and where, no hook run", async () => {
    // Root's 755 directory for nobody; one without write permission for its owner otherwise.
    const shut = join(root, "shut");
    await mkdir(shut, { mode: 0o755 });
    if (!asRoot) await chmod(shut, 0o555);
    const appDir = join(shut, "app");
    const result = await run(appDir);
    await chmod(shut, 0o755);
    expect(result.code, result.stdout + result.stderr).toBe(2);
    expect(result.stderr.trim()).toMatch(
      new RegExp(
        `sources\\.myapp\\.app_dir: ${appDir} does not exist, and \\S+ may not create it in ${shut} \\(`,
      ),
    );
    // Before: "update failed at conditionals/requirements: … spawn /bin/sh ENOENT", exit 1.
    expect(existsSync(hookRan())).toBe(false);
    expect(existsSync(join(root, "var/state.json"))).toBe(false);
    expect(existsSync(appDir)).toBe(false);
  });

  it.runIf(asRoot)(
    "an app_dir behind a directory it may not enter: exit 2 naming that directory",
    async () => {
      const result = await run(join(closed, "app"));
      expect(result.code, result.stdout + result.stderr).toBe(2);
      expect(result.stderr).toContain(`may not reach it: it may not enter ${closed} (owner uid 0, mode 700)`);
      expect(existsSync(hookRan())).toBe(false);
    },
  );

  it("a first install into an app_dir not made yet runs its conditions, checks and hooks there", async () => {
    const appDir = join(root, "apps/new/app");
    const result = await run(appDir);
    // Before: "update failed at requirements: environment_checks.shell: could not start in …:
    // spawn /bin/sh ENOENT", and the pre_update hook could not start either.
    expect(result.code, result.stdout + result.stderr).toBe(0);
    expect(result.stdout).toContain("installed 1.0.0");
    expect((await readFile(hookRan(), "utf8")).trim()).toBe(appDir);
    expect(await readFile(join(appDir, "app.py"), "utf8")).toBe("v1\n");
  });

  it("the checks before a first install run its commands as the run will, in an empty app_dir, creating nothing", async () => {
    const appDir = join(root, "apps/new/app");
    await writeFile(
      join(root, "release/update-manifest.yaml"),
      [
        'version: "1.0.0"',
        "conditionals:",
        `  - condition: "command('true')"`,
        "    action: skip_update",
        "requirements:",
        "  environment_checks:",
        "    - name: shell",
        '      command: "true"',
        "",
      ].join("\n"),
    );
    const tmp = join(root, "tmp");
    await mkdir(tmp);
    await chmod(tmp, 0o777);
    const as = asRoot ? { user: { uid: NOBODY, gid: NOBODY } } : {};
    await writeConfig(appDir);
    const check = (...args: string[]) =>
      runShip(["--config", config, ...args], { ...as, env: { TMPDIR: tmp } });
    // Before: each command failed to start ("spawn /bin/sh ENOENT"): the skip read as false, so
    // --check-only said "update" and --test-conditionals "would proceed" while the run skipped.
    const only = await check("--check-only");
    expect(only.stdout, only.stderr).toMatch(/^waits +myapp: update skipped on purpose/m);
    const conditionals = await check("--test-conditionals", join(root, "release/update-manifest.yaml"));
    expect(conditionals.stdout).toContain("the update would be SKIPPED");
    const requirements = await check("--check-requirements", join(root, "release/update-manifest.yaml"));
    expect(requirements.code, requirements.stdout).toBe(0);
    expect(requirements.stdout).toContain("ok   environment_checks.shell");
    expect(await readdir(tmp)).toEqual([]);
    expect(existsSync(join(root, "apps/new"))).toBe(false);
  });
});
