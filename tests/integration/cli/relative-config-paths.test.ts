/**
 * Relative paths in ship.toml are relative to ship.toml's directory. Before, they resolved against
 * the directory ship was started from: the timer (WorkingDirectory=) and an operator's shell had
 * two state files, two install records and two global locks, so the second run ignored the
 * once-a-day rule and installed the same release again ("updated (unknown) → 1.0.0" twice), and
 * two runs from two directories did not exclude each other.
 */
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { runShip } from "../../support/ship-cli.js";

let root: string;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), "ship-relative-paths-"));
  await mkdir(join(root, "etc"));
  await mkdir(join(root, "app"));
  await mkdir(join(root, "release"));
  await mkdir(join(root, "cwd-a"));
  await mkdir(join(root, "cwd-b"));
  await writeFile(join(root, "release/update-manifest.yaml"), 'version: "1.0.0"\n');
  await writeFile(join(root, "release/app.txt"), "v1\n");
  await writeFile(
    join(root, "etc/ship.toml"),
    `[general]\nstate_file = "var/state.json"\nbackup_dir = "var/backups"\nlock_file = "run/ship.lock"\n\n[general.logging]\nfile = "log/ship.log"\n\n[sources.myapp]\ntype = "local"\npath = "${root}/release"\napp_dir = "${root}/app"\n`,
  );
});
afterEach(() => rm(root, { recursive: true, force: true }));

describe("relative paths in ship.toml", () => {
  it("resolve against ship.toml's directory, whatever directory ship runs in", async () => {
    const config = join(root, "etc/ship.toml");
    const first = await runShip(["--config", config], { cwd: join(root, "cwd-a") });
    expect(first.code, first.stdout + first.stderr).toBe(0);
    expect(first.stdout).toContain("myapp: installed 1.0.0 (no earlier version recorded)");
    expect(existsSync(join(root, "etc/var/state.json"))).toBe(true);
    expect(existsSync(join(root, "etc/log/ship.log"))).toBe(true);
    expect(existsSync(join(root, "etc/var/backups"))).toBe(true);

    // Another directory, the same state: the once-a-day rule holds, nothing is installed again.
    const second = await runShip(["--config", config], { cwd: join(root, "cwd-b") });
    expect(second.code, second.stdout + second.stderr).toBe(0);
    expect(second.stdout).toMatch(/ship ran less than 24 h ago/);
    const forced = await runShip(["--config", config, "--force"], { cwd: join(root, "cwd-b") });
    expect(forced.code, forced.stdout + forced.stderr).toBe(0);
    expect(forced.stdout).toMatch(/myapp: up to date \(1\.0\.0\)/);

    expect(await readdir(join(root, "cwd-a"))).toEqual([]);
    expect(await readdir(join(root, "cwd-b"))).toEqual([]);
  });

  it("a relative --config too: ship.toml's directory, not the working directory", async () => {
    const run = await runShip(["--config", "../etc/ship.toml"], { cwd: join(root, "cwd-a") });
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(existsSync(join(root, "etc/var/state.json"))).toBe(true);
    expect(await readdir(join(root, "cwd-a"))).toEqual([]);
  });
});
