/**
 * The seed's `environment_checks: python3 scripts/check_db.py` (or pre_update hook `python3
 * scripts/pre_update_check.py`), with the script new in this release. Requirements are checked before the apply, in the app directory, where the script is
 * not yet: the check failed with "can't open file" on every run, and nothing said why. Real CLI.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { runShip } from "../../support/ship-cli.js";
import { type LocalApp, localApp } from "../cli/local-app.js";

const manifest = (version: string) =>
  [
    `version: "${version}"`,
    "requirements:",
    "  environment_checks:",
    '    - name: "database_connectivity"',
    '      command: "sh scripts/check_db.sh"',
    "",
  ].join("\n");

describe("environment_checks and pre_update hooks naming a script the release brings", () => {
  let app: LocalApp;
  beforeEach(async () => {
    app = await localApp();
  });
  afterEach(() => app.cleanup());

  it("says the script is not installed yet and why, and installs nothing", async () => {
    await app.release("v1", 'version: "1.0.0"\n', { "app.txt": "v1\n" });
    expect((await runShip(["--config", app.config])).code).toBe(0);
    await app.release("v2", manifest("2.0.0"), { "app.txt": "v2\n", "scripts/check_db.sh": "exit 0\n" });
    const r = await runShip(["--config", app.config]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(
      "scripts/check_db.sh comes with this release and is not installed yet: requirements are checked before the apply, in the app directory, so they may only use what the app or the host has",
    );
    expect(await readFile(join(app.appDir, "app.txt"), "utf8")).toBe("v1\n");
  });

  it("a pre_update hook running a script the release brings says the same", async () => {
    await app.release("v1", 'version: "1.0.0"\n', { "app.txt": "v1\n" });
    expect((await runShip(["--config", app.config])).code).toBe(0);
    await app.release(
      "v2",
      'version: "2.0.0"\nhooks:\n  pre_update:\n    - "true"\n    - "sh scripts/pre_update_check.sh"\n',
      { "app.txt": "v2\n", "scripts/pre_update_check.sh": "exit 0\n" },
    );
    const r = await runShip(["--config", app.config]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain("update failed at pre_update hooks: pre_update hook[1] exited with ");
    expect(r.stdout).toContain(
      "scripts/pre_update_check.sh comes with this release and is not installed yet: pre_update hooks run before the apply, in the app directory",
    );
    expect(await readFile(join(app.appDir, "app.txt"), "utf8")).toBe("v1\n");
  });

  it("a script the app already has is run, and a failure of it gets no such note", async () => {
    await app.release("v1", 'version: "1.0.0"\n', { "app.txt": "v1\n", "scripts/check_db.sh": "exit 3\n" });
    expect((await runShip(["--config", app.config])).code).toBe(0);
    await app.release("v2", manifest("2.0.0"), { "app.txt": "v2\n", "scripts/check_db.sh": "exit 3\n" });
    const r = await runShip(["--config", app.config]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain("environment_checks.database_connectivity: exit code 3 (sh …)");
    expect(r.stdout).not.toContain("not installed yet");
  });

  it("a command() condition naming a script the release brings: it read false silently; now a warning says why", async () => {
    await app.release("v1", 'version: "1.0.0"\n', { "app.txt": "v1\n" });
    expect((await runShip(["--config", app.config])).code).toBe(0);
    const dir = await app.release(
      "v2",
      'version: "2.0.0"\nconditionals:\n  - condition: "command(\'sh scripts/in_maintenance.sh\')"\n    action: "skip_update"\n    message: "System in maintenance mode"\n',
      { "app.txt": "v2\n", "scripts/in_maintenance.sh": "exit 0\n" },
    );
    const note =
      "command('sh …') read false; scripts/in_maintenance.sh comes with this release and is not installed yet: conditions are evaluated before the apply, in the app directory";
    const preview = await runShip([
      "--config",
      app.config,
      "--test-conditionals",
      join(dir, "update-manifest.yaml"),
    ]);
    expect(preview.stdout).toContain(`warning: ${note}`);
    const r = await runShip(["--config", app.config, "--json"]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const report = JSON.parse(r.stdout) as { apps: { warnings: string[] }[] };
    expect(report.apps[0]?.warnings).toContainEqual(expect.stringContaining(note));
  });
});
