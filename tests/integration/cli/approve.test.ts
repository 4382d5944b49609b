import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { runShip } from "../../support/ship-cli.js";
import { type LocalApp, localApp, logAt } from "./local-app.js";

// The seed's major-release example: a person must act before 2.0.0 goes in.
const major = `version: "2.0.0"
conditionals:
  - condition: "current_version < '2.0.0'"
    action: "require_manual_intervention"
    message: "Major version upgrade - manual steps required"
    manual_steps:
      - "Create database backup"
      - "Review breaking changes in CHANGELOG.md"
`;

describe("ship --approve APP VERSION: the way past require_manual_intervention", () => {
  let app: LocalApp;
  let logFile: string;
  beforeEach(async () => {
    app = await localApp();
    logFile = join(app.root, "ship.log");
  });
  afterEach(() => app.cleanup());

  /** The config with a log file, so the audit trail can be read back. */
  async function release(name: string, manifest: string): Promise<void> {
    await app.release(name, manifest, { "app.txt": `${name}\n` });
    await logAt(app, "INFO");
  }

  it("blocks with the command to run, records the approval in the state file and the log, then the next run installs", async () => {
    await release("v1", `version: "1.0.0"\n`);
    expect((await runShip(["--config", app.config])).code).toBe(0);
    await release("v2", major);

    const blocked = await runShip(["--config", app.config]);
    expect(blocked.code, blocked.stderr).toBe(0);
    expect(blocked.stderr).toContain("Create database backup");
    expect(blocked.stderr).toContain(`ship --config ${app.config} --approve myapp 2.0.0`);
    // No line offers a command without this run's --config (it would read /etc/ship/ship.toml).
    expect(`${blocked.stdout}${blocked.stderr}`).not.toContain("ship --approve");
    const forced = await runShip(["--config", app.config, "--force"]);
    expect(forced.code).toBe(0);
    expect(await readFile(join(app.appDir, "app.txt"), "utf8")).toBe("v1\n");

    // An approval for another version, or of an unknown source, changes nothing.
    expect((await runShip(["--config", app.config, "--approve", "myapp", "1.9.0"])).code).toBe(0);
    expect((await runShip(["--config", app.config])).code).toBe(0);
    expect(await readFile(join(app.appDir, "app.txt"), "utf8")).toBe("v1\n");
    const unknown = await runShip(["--config", app.config, "--approve", "nosuch", "2.0.0"]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("no such source; configured: myapp");
    expect((await runShip(["--config", app.config, "--approve", "myapp"])).code).toBe(2);
    const notAVersion = await runShip(["--config", app.config, "--approve", "myapp", "latest"]);
    expect(notAVersion.code).toBe(2);
    expect(notAVersion.stderr).toContain("is not a release version");

    // Versions compare as everywhere in ship: v2.0.0 approves 2.0.0.
    const approved = await runShip(["--config", app.config, "--approve", "myapp", "v2.0.0"]);
    expect(approved.code, approved.stderr).toBe(0);
    expect(approved.stdout).toContain("approved");
    const state = await app.state();
    expect(state.sources.myapp?.manual_approval).toMatchObject({
      version: "v2.0.0",
      approved_by: expect.any(String),
      approved_at: expect.any(String),
    });

    const next = await runShip(["--config", app.config]);
    expect(next.code, next.stderr).toBe(0);
    expect(await readFile(join(app.appDir, "app.txt"), "utf8")).toBe("v2\n");
    expect((await app.state()).sources.myapp).toMatchObject({ current_version: "2.0.0" });
    const audit = await readFile(logFile, "utf8");
    expect(audit).toContain("manual intervention for myapp v2.0.0 approved by");
    expect(audit).toContain("manual_approval_used");
  }, 180_000); // about ten ship processes in a row

  it("approving the installed version is refused (exit 2) and keeps the approval the pending release needs", async () => {
    await release("v1", `version: "1.0.0"\n`);
    expect((await runShip(["--config", app.config])).code).toBe(0);
    await release("v2", major);
    expect((await runShip(["--config", app.config])).code).toBe(0); // waits for a person
    expect((await runShip(["--config", app.config, "--approve", "myapp", "2.0.0"])).code).toBe(0);

    // A slip (the installed version instead of the new one) used to be "approved", exit 0, and
    // replaced the approval of 2.0.0: the next run stopped for a person again.
    const slip = await runShip(["--config", app.config, "--approve", "myapp", "v1.0.0"]);
    expect(slip.code).toBe(2);
    expect(slip.stderr.trim()).toBe(
      "ship: --approve v1.0.0: myapp runs 1.0.0 already, so nothing waits for this approval; nothing recorded (the approval of 2.0.0 is kept)",
    );
    expect((await app.state()).sources.myapp?.manual_approval).toMatchObject({ version: "2.0.0" });

    const next = await runShip(["--config", app.config]);
    expect(next.code, next.stderr).toBe(0);
    expect(await readFile(join(app.appDir, "app.txt"), "utf8")).toBe("v2\n");
  }, 60_000);

  it("approving an older version is refused unless it approves a downgrade (--allow-downgrade), which the downgrade's stop asks for", async () => {
    await release("v1", `version: "1.0.0"\n`);
    expect((await runShip(["--config", app.config])).code).toBe(0);
    await release("v2", major);
    expect((await runShip(["--config", app.config])).code).toBe(0); // waits for a person
    expect((await runShip(["--config", app.config, "--approve", "myapp", "2.0.0"])).code).toBe(0);
    expect((await runShip(["--config", app.config])).code).toBe(0);
    expect(await readFile(join(app.appDir, "app.txt"), "utf8")).toBe("v2\n");

    // 1.5.0 is older than the installed 2.0.0: no plain run is offered it. This was "approved",
    // exit 0, and replaced the approval on record.
    const older = await runShip(["--config", app.config, "--approve", "myapp", "1.5.0"]);
    expect(older.code).toBe(2);
    expect(older.stderr.trim()).toBe(
      "ship: --approve 1.5.0: myapp runs 2.0.0, which is newer: a run is offered 1.5.0 only as a downgrade (ship --allow-downgrade, [trust] allow_downgrade, or the hub's rollback); to approve that downgrade's manual steps add --allow-downgrade; nothing recorded (the approval of 2.0.0 is kept)",
    );
    expect((await app.state()).sources.myapp?.manual_approval).toMatchObject({ version: "2.0.0" });

    // A downgrade whose release asks for a person: the stop names the command with --allow-downgrade,
    // and that approval lets the downgrade through.
    await release(
      "v15",
      `version: "1.5.0"\nconditionals:\n  - condition: "current_version >= '2.0.0'"\n    action: "require_manual_intervention"\n    message: "downgrade"\n    manual_steps:\n      - "Restore the 1.x schema"\n`,
    );
    const stop = await runShip(["--config", app.config, "--allow-downgrade"]);
    expect(stop.code, stop.stderr).toBe(0);
    expect(stop.stderr).toContain(`ship --config ${app.config} --approve myapp 1.5.0 --allow-downgrade`);
    const ok = await runShip(["--config", app.config, "--approve", "myapp", "1.5.0", "--allow-downgrade"]);
    expect(ok.code, ok.stderr).toBe(0);
    const down = await runShip(["--config", app.config, "--allow-downgrade"]);
    expect(down.code, down.stderr).toBe(0);
    expect(await readFile(join(app.appDir, "app.txt"), "utf8")).toBe("v15\n");
  }, 120_000);

  it("with [trust] allow_downgrade every run is offered an older release, so its approval needs no flag", async () => {
    await release("v2", `version: "2.0.0"\n`);
    expect((await runShip(["--config", app.config])).code).toBe(0);
    await release(
      "v15",
      `version: "1.5.0"\nconditionals:\n  - condition: "current_version >= '2.0.0'"\n    action: "require_manual_intervention"\n    message: "downgrade"\n    manual_steps:\n      - "Restore the 1.x schema"\n`,
    );
    await writeFile(app.config, `${await readFile(app.config, "utf8")}\n[trust]\nallow_downgrade = true\n`);
    const stop = await runShip(["--config", app.config]);
    expect(stop.code, stop.stderr).toBe(0);
    expect(stop.stderr).toContain(`ship --config ${app.config} --approve myapp 1.5.0\n`);
    const ok = await runShip(["--config", app.config, "--approve", "myapp", "1.5.0"]);
    expect(ok.code, ok.stderr).toBe(0);
    const down = await runShip(["--config", app.config]);
    expect(down.code, down.stderr).toBe(0);
    expect(await readFile(join(app.appDir, "app.txt"), "utf8")).toBe("v15\n");
  }, 60_000);
});
