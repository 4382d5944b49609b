/**
 * Rule and conditional options that a release takes and then ignores were accepted without a word:
 * `backup: true` on a `skip` rule (no .bak is ever written: the file is never touched),
 * `backup: false` on `backup_replace` (the .bak is written all the same) and `manual_steps` on a
 * `warn` or `skip_update` conditional (only require_manual_intervention shows them: the run's
 * WARNING said the message alone), a conditional's `timeout` when its condition runs no
 * `command('…')` (nothing else is timed), a post_update test's `retry_delay` without `retry_count`
 * (nothing is retried). Each is a warning naming the key, in --test-manifest and the
 * run's log; the release acts as before.
 */
import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { runShip } from "../../support/ship-cli.js";
import { type LocalApp, localApp } from "./local-app.js";

let app: LocalApp;
beforeEach(async () => {
  app = await localApp();
});
afterEach(() => app.cleanup());

describe("options that do nothing where they are written are named", () => {
  it.each([
    [
      "backup: true on a skip rule",
      'files:\n  "local.conf": { action: skip, backup: true }',
      /:3:33 files\."local\.conf"\.backup: backup: true has no effect with action skip: the file is never touched/,
    ],
    [
      "backup: false on a backup_replace rule",
      'files:\n  "app.txt": { action: backup_replace, backup: false }',
      /files\."app\.txt"\.backup: backup: false has no effect with action backup_replace, which always keeps the previous version as \.bak/,
    ],
    [
      "manual_steps on a warn conditional",
      'conditionals:\n  - { condition: "file_exists(\'/\')", action: warn, message: careful, manual_steps: ["stop the queue"] }',
      /conditionals\[0\]\.manual_steps: manual_steps are shown only with action require_manual_intervention; with warn they are never shown/,
    ],
    [
      "manual_steps on a skip_update conditional",
      'conditionals:\n  - { condition: "file_exists(\'/nope\')", action: skip_update, manual_steps: ["x"] }',
      /conditionals\[0\]\.manual_steps: manual_steps are shown only with action require_manual_intervention; with skip_update/,
    ],
    [
      "timeout on a conditional that runs no command()",
      "conditionals:\n  - { condition: \"file_exists('/nope') or env_var('X')\", action: skip_update, timeout: 5 }",
      /conditionals\[0\]\.timeout: timeout has no effect without a command\('…'\) in the condition: it bounds only those checks/,
    ],
    [
      "retry_delay without retry_count",
      'post_update_tests:\n  - { name: smoke, command: "true", retry_delay: 10 }',
      /post_update_tests\[0\]\.retry_delay: retry_delay has no effect without retry_count: the test runs once/,
    ],
  ])("%s: a warning in --test-manifest and the run; the release installs", async (_, yaml, message) => {
    const release = await app.release("r1", `version: "1.0.0"\n${yaml}\n`);
    const checked = await runShip(["--test-manifest", join(release, "update-manifest.yaml")]);
    expect(checked.code, checked.stdout + checked.stderr).toBe(0);
    expect(checked.stdout + checked.stderr).toMatch(message);
    const run = await runShip(["--config", app.config]);
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(run.stdout + run.stderr).toMatch(/has no effect with|are shown only with action/);
    expect(await readdir(app.appDir)).toContain("app.txt");
  });

  it("the same options where they act say nothing", async () => {
    const release = await app.release(
      "r1",
      'version: "1.0.0"\nfiles:\n  "app.txt": { action: replace, backup: true }\npost_update_tests:\n  - { name: smoke, command: "true", retry_count: 1, retry_delay: 1 }\nconditionals:\n  - { condition: "file_exists(\'/\')", action: require_manual_intervention, manual_steps: ["x"] }\n  - { condition: "not (file_exists(\'/x\') and command(\'false\'))", action: skip_update, timeout: 5 }\n',
    );
    const checked = await runShip(["--test-manifest", join(release, "update-manifest.yaml")]);
    expect(checked.code, checked.stdout + checked.stderr).toBe(0);
    expect(checked.stdout + checked.stderr).toMatch(/0 warnings/);
  });
});
