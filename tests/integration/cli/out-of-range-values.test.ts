/**
 * Numbers that validated and then acted as their opposite. A command `timeout` of 0 or past Node's
 * timer limit (2^31 - 1 ms, 24.8 days) killed the command at once ("timed out after
 * 1000000000000s", the update failed); a webhook `timeout` that large threw inside undici and the
 * notification was never sent; `min_interval_hours` or a stage's `wait_hours` past a JavaScript
 * Date's range was "internal error: Invalid time value". Each is bad input now: --test-manifest and
 * a run refuse it with exit 2 naming the file and key, and nothing runs or is installed.
 */
import { execFileSync } from "node:child_process";
import { readdir, readFile, writeFile } from "node:fs/promises";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { runShip } from "../../support/ship-cli.js";
import { type LocalApp, localApp } from "./local-app.js";

let app: LocalApp;
beforeEach(async () => {
  app = await localApp();
});
afterEach(() => app.cleanup());

describe("manifest numbers out of range", () => {
  // Each case's command would write `ran` into the app directory if it ran.
  const touch = "touch ran";
  it.each([
    [
      "a hook timeout of 0",
      `hooks:\n  pre_update:\n    - { command: "${touch}", timeout: 0 }`,
      "hooks.pre_update[0].timeout",
      "must be > 0",
    ],
    [
      "a hook timeout below a millisecond",
      `hooks:\n  pre_update:\n    - { command: "${touch}", timeout: 1e-9 }`,
      "hooks.pre_update[0].timeout",
      "must be ≥ 0.001 (a millisecond: a timer counts no finer)",
    ],
    [
      "a hook timeout past 24.8 days",
      `hooks:\n  pre_update:\n    - { command: "${touch}", timeout: 1e12 }`,
      "hooks.pre_update[0].timeout",
      "must be ≤ 2147483",
    ],
    [
      "a test timeout of 0",
      `post_update_tests:\n  - { name: t, command: "${touch}", timeout: 0 }`,
      "post_update_tests[0].timeout",
      "must be > 0",
    ],
    [
      "a retry_delay past 24.8 days",
      `post_update_tests:\n  - { name: t, command: "false", retry_count: 1, retry_delay: 1e10 }`,
      "post_update_tests[0].retry_delay",
      "must be ≤ 2147483",
    ],
    [
      // Every attempt of a failing check ran to its timeout: the run held the app's lock for ever.
      "a retry_count of a billion",
      `post_update_tests:\n  - { name: t, command: "${touch}", retry_count: 1000000000 }`,
      "post_update_tests[0].retry_count",
      "must be ≤ 100",
    ],
    [
      "an environment check timeout of 0",
      `requirements:\n  environment_checks:\n    - { name: e, command: "${touch}", timeout: 0 }`,
      "requirements.environment_checks[0].timeout",
      "must be > 0",
    ],
    [
      "a conditional's command timeout of 0",
      `conditionals:\n  - { condition: "command('${touch}')", action: warn, timeout: 0 }`,
      "conditionals[0].timeout",
      "must be > 0",
    ],
    [
      "a conditional's command timeout past 24.8 days",
      `conditionals:\n  - { condition: "command('${touch}')", action: warn, timeout: 1e12 }`,
      "conditionals[0].timeout",
      "must be ≤ 2147483",
    ],
    [
      "a migration timeout past 24.8 days",
      `migrations:\n  "1.0.0":\n    - { command: "${touch}", timeout: 3e6 }`,
      'migrations."1.0.0"[0].timeout',
      "must be ≤ 2147483",
    ],
    [
      "a webhook timeout past 24.8 days",
      'notifications:\n  on_success:\n    - { type: webhook, url: "http://127.0.0.1:9/", timeout: 1e12 }',
      "notifications.on_success[0].timeout",
      "must be ≤ 300",
    ],
    [
      // Tried twice under the app's lock: an endpoint that never answered held the run for 46 days.
      "a webhook timeout past five minutes",
      'notifications:\n  on_failure:\n    - { type: webhook, url: "http://127.0.0.1:9/", timeout: 2000000 }',
      "notifications.on_failure[0].timeout",
      "must be ≤ 300",
    ],
    [
      "a stage's wait_hours past 11,400 years",
      'release_date: "2020-01-01"\nrollout:\n  stages:\n    - { percentage: 0, wait_hours: 1e300 }\n    - { percentage: 100 }',
      "rollout.stages[0].wait_hours",
      "must be ≤ 100000000",
    ],
  ])("%s: exit 2 naming the key, nothing runs or is installed", async (_, yaml, key, message) => {
    const release = await app.release("r1", `version: "1.0.0"\n${yaml}\n`);
    const manifest = join(release, "update-manifest.yaml");
    const checked = await runShip(["--test-manifest", manifest]);
    expect(checked.code, checked.stdout + checked.stderr).toBe(2);
    expect(checked.stderr).toContain(`update-manifest.yaml:`);
    expect(checked.stderr).toContain(` ${key}: ${message}`);

    const run = await runShip(["--config", app.config]);
    expect(run.code, run.stdout + run.stderr).toBe(2);
    expect(run.stdout + run.stderr).toContain(`${key}: ${message}`);
    expect(await readdir(app.appDir)).toEqual([]);
  });

  it("stages whose waits add up past a Date's range open at its last moment, never an internal error", async () => {
    const stages = Array.from({ length: 30 }, () => "    - { percentage: 0, wait_hours: 100000000 }").join(
      "\n",
    );
    const release = await app.release(
      "r1",
      `version: "1.0.0"\nrelease_date: "2020-01-01"\nrollout:\n  stages:\n${stages}\n    - { percentage: 100 }\n`,
    );
    const check = await runShip(["--check-rollout", join(release, "update-manifest.yaml")]);
    expect(check.code, check.stdout + check.stderr).toBe(0);
    expect(check.stdout).toMatch(/opens at \+275760-09-13T00:00:00\.000Z/);
  });

  it("timeouts and delays inside the range still act (a 0.5 s hook timeout kills a sleep)", async () => {
    await app.release(
      "r1",
      'version: "1.0.0"\nhooks:\n  pre_update:\n    - { command: "sleep 30", timeout: 0.5 }\n',
    );
    const started = Date.now();
    const run = await runShip(["--config", app.config]);
    expect(run.code, run.stdout + run.stderr).toBe(1);
    expect(run.stdout + run.stderr).toMatch(/pre_update hook\[0\] timed out after 0\.5s/);
    expect(Date.now() - started).toBeLessThan(20_000);
  });
});

describe("ship.toml numbers out of range", () => {
  it.each([
    [
      "[general] min_interval_hours",
      (t: string) => t.replace("min_interval_hours = 0", "min_interval_hours = 1e12"),
      "general.min_interval_hours",
      "must be ≤ 100000000",
    ],
    [
      "[hub] reconnect_max_seconds",
      (t: string) =>
        `${t}\n[hub]\nurl = "http://127.0.0.1:9"\ntoken_file = "/etc/hostname"\nreconnect_max_seconds = 2000000\n`,
      "hub.reconnect_max_seconds",
      "must be ≤ 3600 \\(an hour",
    ],
    [
      // A hub that was down was tried again every millisecond, each failure logged.
      "[hub] reconnect_max_seconds below a second",
      (t: string) =>
        `${t}\n[hub]\nurl = "http://127.0.0.1:9"\ntoken_file = "/etc/hostname"\nreconnect_max_seconds = 0.001\n`,
      "hub.reconnect_max_seconds",
      "must be ≥ 1 \\(below it",
    ],
  ])("%s: exit 2 naming ship.toml and the key, nothing written", async (_, edit, key, message) => {
    await app.release("r1", 'version: "1.0.0"\n');
    await writeFile(app.config, edit(await readFile(app.config, "utf8")));
    const run = await runShip(["--config", app.config]);
    expect(run.code, run.stdout + run.stderr).toBe(2);
    expect(run.stderr.trim().split("\n")).toHaveLength(1);
    expect(run.stderr).toMatch(new RegExp(`ship\\.toml:\\d+:\\d+ ${key.replace(/\./g, "\\.")}: ${message}`));
    expect(await readdir(app.appDir)).toEqual([]);
    expect(await readdir(app.root)).not.toContain("var");
  });

  // 1.0005 s is 1000.5 ms, which undici refuses: every download failed, "headersTimeout must be a
  // positive integer or zero".
  it("an http source's timeout_seconds that is not whole milliseconds still downloads", async () => {
    const release = await app.release("r1", 'version: "1.0.0"\n', { "a.txt": "1" });
    const archive = join(app.root, "r1.tar.gz");
    execFileSync("tar", ["-czf", archive, "-C", release, "."]);
    const body = await readFile(archive);
    const server = createServer((_req, res) => res.end(body));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    try {
      const { port } = server.address() as AddressInfo;
      await writeFile(
        app.config,
        `[general]\nstate_file = "${app.stateFile}"\nbackup_dir = "${app.root}/var/backups"\n\n[sources.web]\ntype = "http"\nurl = "http://127.0.0.1:${port}/r1.tar.gz"\napp_dir = "${app.appDir}"\ntimeout_seconds = 1.0005\n`,
      );
      const run = await runShip(["--config", app.config]);
      expect(run.code, run.stdout + run.stderr).toBe(0);
      expect(await readFile(join(app.appDir, "a.txt"), "utf8")).toBe("1");
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it("an http source's retries past 100 is refused before anything is fetched", async () => {
    await writeFile(
      app.config,
      `[general]\nstate_file = "${app.stateFile}"\n\n[sources.web]\ntype = "http"\nurl = "http://127.0.0.1:9/a.tar.gz"\napp_dir = "${app.appDir}"\nretries = 1000000000\n`,
    );
    const run = await runShip(["--config", app.config]);
    expect(run.code, run.stdout + run.stderr).toBe(2);
    expect(run.stderr.trim().split("\n")).toHaveLength(1);
    expect(run.stderr).toMatch(/ship\.toml:\d+:\d+ sources\.web\.retries: must be ≤ 100/);
    expect(await readdir(app.root)).not.toContain("var");
  });

  it("an http source's timeout_seconds past 24.8 days is refused before anything is fetched", async () => {
    await writeFile(
      app.config,
      `[general]\nstate_file = "${app.stateFile}"\n\n[sources.web]\ntype = "http"\nurl = "http://127.0.0.1:9/a.tar.gz"\napp_dir = "${app.appDir}"\ntimeout_seconds = 1e12\n`,
    );
    const run = await runShip(["--config", app.config]);
    expect(run.code, run.stdout + run.stderr).toBe(2);
    expect(run.stderr).toMatch(/ship\.toml:\d+:\d+ sources\.web\.timeout_seconds: must be ≤ 2147483/);
    expect(await readdir(app.root)).not.toContain("var");
  });
});
