/**
 * A run killed mid-update is undone by the next `ship` even when that run updates nothing: the
 * once-a-day rule stops it (a manual `ship --force` finished this morning, a second one was killed,
 * the machine rebooted and the timer's catch-up run came within min_interval_hours), or the source
 * was disabled meanwhile to hold the app. Before: "ship ran less than 24 h ago …" or "no sources to
 * run", exit 0, and the app stayed a mixed tree (half 2.0.0, half 1.0.0) until `ship --recover`.
 */
import { spawn } from "node:child_process";
import { mkdir, readdir, readFile, writeFile } from "node:fs/promises";
import { hostname } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { runShip } from "../../support/ship-cli.js";
import { type LocalApp, localApp } from "../cli/local-app.js";
import { snapshot } from "./tree-fixtures.js";

let app: LocalApp;

beforeEach(async () => {
  app = await localApp();
});
afterEach(async () => {
  await app.cleanup();
});

const v1 = { "app.txt": "v1\n", "lib/a.txt": "a1\n", "lib/b.txt": "b1\n", "old.txt": "old\n" };
const v2 = { "app.txt": "v2\n", "lib/a.txt": "a2\n", "lib/b.txt": "b2\n", "new.txt": "new\n" };

/** ship.toml as localApp writes it, with `min_interval_hours` and extra source keys. */
async function configure(hours: number, sourceKeys = ""): Promise<void> {
  const text = await readFile(app.config, "utf8");
  await writeFile(
    app.config,
    `${text.replace("min_interval_hours = 0", `min_interval_hours = ${hours}`)}${sourceKeys}`,
  );
}

/** 1.0.0 installed by a run that counts as the day's; then 2.0.0 by a --force run killed mid-apply. */
async function killedUpdate(hours: number): Promise<Record<string, string>> {
  await app.release("v1", 'version: "1.0.0"\n', v1);
  await configure(hours);
  expect((await runShip(["--config", app.config])).code).toBe(0);
  const before = await snapshot(app.appDir);
  await app.release("v2", 'version: "2.0.0"\n', v2);
  await configure(hours);
  const killed = await runShip(["--config", app.config, "--force"], {
    env: { SHIP_FAULT: "apply:file@3" },
  });
  expect(killed.code, killed.stdout + killed.stderr).toBeNull();
  expect(await snapshot(app.appDir)).not.toEqual(before);
  return before;
}

describe("a killed update undone by a run that updates nothing (real CLI)", () => {
  it("the once-a-day rule stops the run: it still restores 1.0.0, and says both", async () => {
    const before = await killedUpdate(24);
    const run = await runShip(["--config", app.config]);
    expect(run.code, run.stdout + run.stderr).toBe(0);
    const lines = run.stdout.trim().split("\n");
    expect(lines[0]).toBe("myapp: update to 2.0.0 was interrupted; restored 1.0.0");
    expect(lines[1]).toMatch(/^ship ran less than 24 h ago; next run after .* \(--force runs now\)$/);
    expect(await snapshot(app.appDir)).toEqual(before);
    const state = await app.state();
    expect(state.sources.myapp?.current_version).toBe("1.0.0");
    // Nothing left to do: the next such run says only the once-a-day line.
    const again = await runShip(["--config", app.config]);
    expect(again.stdout.trim().split("\n")).toEqual([lines[1]]);
  });

  it("the source disabled since: the run restores 1.0.0 and updates nothing", async () => {
    const before = await killedUpdate(0);
    await configure(0, "enabled = false\n");
    const run = await runShip(["--config", app.config]);
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(run.stdout.trim()).toBe("myapp: update to 2.0.0 was interrupted; restored 1.0.0");
    expect(await snapshot(app.appDir)).toEqual(before);
  });

  it("a run whose --sources leaves the app out leaves it to --recover: the operator named what to touch", async () => {
    const before = await killedUpdate(0);
    await mkdir(join(app.root, "other-app"));
    await configure(
      0,
      `\n[sources.other]\ntype = "local"\npath = "${join(app.root, "v1")}"\napp_dir = "${join(app.root, "other-app")}"\n`,
    );
    const mixed = await snapshot(app.appDir);
    const run = await runShip(["--config", app.config, "--sources", "other"]);
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(run.stdout).not.toContain("myapp");
    expect(await snapshot(app.appDir)).toEqual(mixed);
    const recover = await runShip(["--config", app.config, "--recover"]);
    expect(recover.code, recover.stdout + recover.stderr).toBe(0);
    expect(await snapshot(app.appDir)).toEqual(before);
  });

  it("an app whose lock a live run holds is that run's: the run neither touches it nor fails on it", async () => {
    const before = await killedUpdate(0);
    await configure(0, "enabled = false\n");
    // A live ship process (as a `ship --rollback` of the app would be) holds the app's lock.
    const holder = spawn(process.execPath, ["-e", "setTimeout(() => {}, 30000)"], { stdio: "ignore" });
    try {
      const [lock] = await readdir(join(app.root, "var/locks"));
      await writeFile(
        join(app.root, "var/locks", String(lock)),
        JSON.stringify({ pid: holder.pid, host: hostname(), started: new Date().toISOString() }),
      );
      const mixed = await snapshot(app.appDir);
      const run = await runShip(["--config", app.config]);
      expect(run.code, run.stdout + run.stderr).toBe(0);
      expect(await snapshot(app.appDir)).toEqual(mixed);
      expect(mixed).not.toEqual(before);
    } finally {
      holder.kill("SIGKILL");
    }
  });

  it("--check-only changes nothing: the interrupted update waits for a run", async () => {
    await killedUpdate(24);
    const during = await snapshot(app.appDir);
    await runShip(["--config", app.config, "--check-only"]);
    expect(await snapshot(app.appDir)).toEqual(during);
  });
});

/**
 * A run that recovers first and then updates nothing said only what came after: "failed_unchanged",
 * exit 2 ("nothing changed") for a refused downgrade, "up to date" for a source with nothing new,
 * while the recovery had put 1.0.0 back over the killed 2.0.0.
 */
describe("a run that recovered first says so, whatever happens after (real CLI)", () => {
  const recoveredLine = "myapp: recovered 1.0.0 after an interrupted update to 2.0.0; then ";

  it("the source now offers a lower version: the downgrade is refused, the restore is said, exit 1", async () => {
    const before = await killedUpdate(0);
    await app.release("v0", 'version: "0.9.0"\n', { "app.txt": "v0\n" });
    const run = await runShip(["--config", app.config, "--json"]);
    expect(run.code, run.stdout + run.stderr).toBe(1);
    const report = JSON.parse(run.stdout) as { exitCode: number; apps: Record<string, unknown>[] };
    expect(report.exitCode).toBe(1);
    const [one] = report.apps;
    expect(one?.result).toBe("failed_restored");
    expect(one?.recovered).toEqual({ from: "2.0.0", to: "1.0.0" });
    expect(String(one?.message)).toMatch(new RegExp(`^${recoveredLine}.*downgrade`));
    expect(await snapshot(app.appDir)).toEqual(before);
    const plain = await runShip(["--config", app.config]);
    // Nothing left to recover: the second run's refusal is its own, exit 2.
    expect(plain.code).toBe(2);
    expect(plain.stdout + plain.stderr).not.toContain("recovered");
  });

  it("nothing new at the source: up to date, after the restore it says", async () => {
    const before = await killedUpdate(0);
    await app.release("v1", 'version: "1.0.0"\n', v1);
    const run = await runShip(["--config", app.config, "--json"]);
    expect(run.code, run.stdout + run.stderr).toBe(0);
    const [one] = (JSON.parse(run.stdout) as { apps: Record<string, unknown>[] }).apps;
    expect(one?.result).toBe("up_to_date");
    expect(one?.recovered).toEqual({ from: "2.0.0", to: "1.0.0" });
    expect(one?.message).toBe(`${recoveredLine}up to date (1.0.0)`);
    expect(await snapshot(app.appDir)).toEqual(before);
    const plain = await runShip(["--config", app.config]);
    expect(plain.stdout.trim()).toBe("myapp: up to date (1.0.0)");
  });

  it("a requirement not met: the run fails unchanged after the restore, and says it restored", async () => {
    const before = await killedUpdate(0);
    await app.release(
      "v3",
      'version: "3.0.0"\nrequirements:\n  required_commands: [no-such-command-here]\n',
      {
        "app.txt": "v3\n",
      },
    );
    const run = await runShip(["--config", app.config, "--json"]);
    expect(run.code, run.stdout + run.stderr).toBe(1);
    const [one] = (JSON.parse(run.stdout) as { apps: Record<string, unknown>[] }).apps;
    expect(one?.result).toBe("failed_restored");
    expect(one?.recovered).toEqual({ from: "2.0.0", to: "1.0.0" });
    expect(String(one?.message)).toMatch(new RegExp(`^${recoveredLine}`));
    expect(await snapshot(app.appDir)).toEqual(before);
    expect((await app.state()).sources.myapp?.last_result).toBe("failed_restored");
  });

  it("a condition skips the update: skipped, after the restore it says", async () => {
    const before = await killedUpdate(0);
    await app.release(
      "v3",
      'version: "3.0.0"\nconditionals:\n  - name: never\n    condition:\n      env_var: SHIP_TEST_NEVER_SET\n    action: skip_update\n',
      { "app.txt": "v3\n" },
    );
    const run = await runShip(["--config", app.config, "--json"]);
    const [one] = (JSON.parse(run.stdout) as { apps: Record<string, unknown>[] }).apps;
    expect(one?.recovered).toEqual({ from: "2.0.0", to: "1.0.0" });
    expect(String(one?.message)).toMatch(new RegExp(`^${recoveredLine}`));
    expect(await snapshot(app.appDir)).toEqual(before);
  });

  it("--recover and a run the once-a-day rule stops carry it too", async () => {
    await killedUpdate(24);
    const held = await runShip(["--config", app.config, "--json"]);
    expect(held.code, held.stdout + held.stderr).toBe(0);
    const [one] = (JSON.parse(held.stdout) as { apps: Record<string, unknown>[] }).apps;
    expect(one?.recovered).toEqual({ from: "2.0.0", to: "1.0.0" });
    await killedUpdate(24);
    const recover = await runShip(["--config", app.config, "--recover", "--json"]);
    expect(recover.code, recover.stdout + recover.stderr).toBe(0);
    const [mine] = (JSON.parse(recover.stdout) as { apps: Record<string, unknown>[] }).apps;
    expect(mine?.recovered).toEqual({ from: "2.0.0", to: "1.0.0" });
  });

  it("the update then succeeds: updated, and the line still says what was restored first", async () => {
    await killedUpdate(0);
    await app.release("v3", 'version: "3.0.0"\n', { "app.txt": "v3\n" });
    const run = await runShip(["--config", app.config, "--json"]);
    expect(run.code, run.stdout + run.stderr).toBe(0);
    const [one] = (JSON.parse(run.stdout) as { apps: Record<string, unknown>[] }).apps;
    expect(one?.result).toBe("updated");
    expect(one?.recovered).toEqual({ from: "2.0.0", to: "1.0.0" });
    expect(String(one?.message)).toMatch(new RegExp(`^${recoveredLine}`));
  });
});
