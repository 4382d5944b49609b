/**
 * What ship.timer does every day: a plain `ship --config` run (no --force) a day after the last
 * one. The timer fires at 06:00 plus a random delay of up to 30 minutes drawn anew each day, so
 * the next run often starts a few minutes short of 24 h after the last: it must still install.
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { runShip } from "../../support/ship-cli.js";

const MINUTE_MS = 60_000;

describe("the daily timer run (real process, once-a-day rule at its default)", () => {
  let root: string;
  let config: string;

  async function release(version: string): Promise<void> {
    const dir = join(root, "release");
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, "update-manifest.yaml"), `version: "${version}"\n`);
    await writeFile(join(dir, "app.py"), `print("${version}")\n`);
  }

  async function lastRunAgo(minutes: number): Promise<void> {
    const file = join(root, "var/state.json");
    const state = JSON.parse(await readFile(file, "utf8")) as { last_run: string };
    state.last_run = new Date(Date.now() - minutes * MINUTE_MS).toISOString();
    await writeFile(file, JSON.stringify(state));
  }

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), "ship-daily-"));
    config = join(root, "ship.toml");
    await mkdir(join(root, "app"));
    await writeFile(
      config,
      `[general]\nstate_file = "${root}/var/state.json"\nbackup_dir = "${root}/var/backups"\n\n[sources.myapp]\ntype = "local"\npath = "${root}/release"\napp_dir = "${root}/app"\n`,
    );
    await release("1.0.0");
    const first = await runShip(["--config", config]);
    expect(first.code, first.stderr).toBe(0);
    await release("1.1.0");
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it("installs when the last run started 23 h 35 min ago (yesterday's delay was longer)", async () => {
    await lastRunAgo(23 * 60 + 35);
    const run = await runShip(["--config", config]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain("updated 1.0.0 → 1.1.0");
    expect(await readFile(join(root, "app/app.py"), "utf8")).toBe('print("1.1.0")\n');
  });

  it("still skips a second run the same day (a manual start, a boot catch-up)", async () => {
    await lastRunAgo(22 * 60);
    const run = await runShip(["--config", config]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/ship ran less than 24 h ago; next run after \S+ \(--force runs now\)/);
    expect(await readFile(join(root, "app/app.py"), "utf8")).toBe('print("1.0.0")\n');
  });

  it("a run refused as bad input (exit 2) is not the day's run: once ship.toml is fixed, the next plain run installs", async () => {
    await lastRunAgo(25 * 60);
    const before = JSON.parse(await readFile(join(root, "var/state.json"), "utf8")).last_run;
    const good = await readFile(config, "utf8");
    await writeFile(config, good.replace(`path = "${root}/release"`, `path = "${root}/no-such-release"`));
    const bad = await runShip(["--config", config]);
    expect(bad.code, bad.stdout + bad.stderr).toBe(2);
    expect(JSON.parse(await readFile(join(root, "var/state.json"), "utf8")).last_run).toBe(before);

    await writeFile(config, good);
    const run = await runShip(["--config", config]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain("updated 1.0.0 → 1.1.0");
  });
});
