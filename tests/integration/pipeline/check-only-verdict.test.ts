/**
 * `ship --check-only` exits 100 only when a run would install the release now. A run first fetches
 * and verifies it, and stops on purpose when it is the installed release after all, when a
 * conditional skips it or waits for a person; it refuses an unasked-for downgrade. The check said
 * "update" (exit 100) for each of these, and "failed: pipeline bug: manifest is not set yet" for an
 * http url moved to a mirror of the installed archive.
 */
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { builtOnceRestoredEachTest } from "../../support/built-once.js";
import { startHttpServer, type TestServer } from "../../support/servers/http-server.js";
import { runShip } from "../../support/ship-cli.js";
import { buildTar } from "../../unit/sources/tar-builder.js";
import { type LocalApp, localApp } from "../cli/local-app.js";

describe("ship --check-only says what a run would do with the release", () => {
  let app: LocalApp;
  // Every test starts from 1.0.0 installed, put back as built before each.
  builtOnceRestoredEachTest(async () => {
    app = await localApp();
    await app.release("r1", 'version: "1.0.0"\n');
    const first = await runShip(["--config", app.config]);
    expect(first.code, first.stderr).toBe(0);
    return app.root;
  });

  it("a skip_update conditional that holds: exit 0, the conditional's message, nothing installed", async () => {
    await writeFile(join(app.appDir, ".maintenance_mode"), "");
    await app.release(
      "r2",
      `version: "1.1.0"\nconditionals:\n  - condition: "file_exists('.maintenance_mode')"\n    action: "skip_update"\n    message: "System in maintenance mode"\n`,
    );
    const check = await runShip(["--config", app.config, "--check-only"]);
    expect(check.code, check.stdout + check.stderr).toBe(0);
    expect(check.stdout).toMatch(/^waits\s+myapp: update skipped on purpose: System in maintenance mode$/m);
    const run = await runShip(["--config", app.config]);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain("update skipped on purpose: System in maintenance mode");
  });

  it("require_manual_intervention not approved yet: exit 0 with the steps and the approve command", async () => {
    await app.release(
      "r2",
      `version: "2.0.0"\nconditionals:\n  - condition: "current_version < '2.0.0'"\n    action: "require_manual_intervention"\n    message: "Major version upgrade"\n    manual_steps: ["Create database backup"]\n`,
    );
    const check = await runShip(["--config", app.config, "--check-only"]);
    expect(check.code, check.stdout + check.stderr).toBe(0);
    expect(check.stdout).toMatch(/^manual\s+myapp: manual intervention required before updating to 2\.0\.0/m);
    expect(check.stderr).toContain("  - Create database backup");
    expect(check.stderr).toContain(`ship --config ${app.config} --approve myapp 2.0.0`);
    // The check records nothing: the state still says 1.0.0 is installed, by the first run.
    expect((await app.state()).sources.myapp).toMatchObject({
      current_version: "1.0.0",
      last_result: "updated",
    });

    const approve = await runShip(["--config", app.config, "--approve", "myapp", "2.0.0"]);
    expect(approve.code, approve.stderr).toBe(0);
    const approved = await runShip(["--config", app.config, "--check-only"]);
    expect(approved.code, approved.stdout + approved.stderr).toBe(100);
    expect(approved.stdout).toMatch(/^update\s+myapp: update available 1\.0\.0 -> 2\.0\.0/m);
  });

  it("an older release: exit 2 with the run's refusal, not 'update available'", async () => {
    await app.release("r0", 'version: "0.9.0"\n');
    const check = await runShip(["--config", app.config, "--check-only"]);
    expect(check.code, check.stdout + check.stderr).toBe(2);
    expect(check.stdout).toContain("myapp: downgrade: release 0.9.0 is older than the installed 1.0.0");
    const allowed = await runShip(["--config", app.config, "--check-only", "--allow-downgrade"]);
    expect(allowed.code, allowed.stdout + allowed.stderr).toBe(100);
  });
});

describe("ship --check-only on an http url moved to a mirror of the installed archive", () => {
  let root: string;
  let server: TestServer;
  const archive = gzipSync(
    buildTar([
      { path: "update-manifest.yaml", body: 'version: "1.0.0"\n' },
      { path: "app.txt", body: "v1\n" },
    ]),
  );

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), "ship-check-mirror-"));
    await mkdir(join(root, "app"));
    server = await startHttpServer((req, res) => {
      if (req.url !== "/releases/app.tar.gz" && req.url !== "/mirror/app.tar.gz")
        return void res.writeHead(404).end();
      res.writeHead(200, { "content-length": archive.length }).end(archive);
    });
  });
  afterEach(async () => {
    await server.close();
    await rm(root, { recursive: true, force: true });
  });

  it("is current (exit 0), as the run then says, not 'failed: pipeline bug'", async () => {
    const config = join(root, "ship.toml");
    const writeConfig = (path: string) =>
      writeFile(
        config,
        `[general]\nstate_file = "${root}/var/state.json"\nbackup_dir = "${root}/var/backups"\nmin_interval_hours = 0\n\n` +
          `[sources.web]\ntype = "http"\nurl = "${server.url}${path}"\napp_dir = "${root}/app"\n`,
      );
    await writeConfig("/releases/app.tar.gz");
    expect((await runShip(["--config", config])).code).toBe(0);
    await writeConfig("/mirror/app.tar.gz");
    const check = await runShip(["--config", config, "--check-only"]);
    expect(check.code, check.stdout + check.stderr).toBe(0);
    expect(check.stdout).toMatch(/^current\s+web: up to date/m);
    expect(check.stdout + check.stderr).not.toContain("pipeline bug");
  });
});
