import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { hostId } from "../../../agent/host-id.js";
import { bucketOf } from "../../../shared/rollout/bucket.js";
import { runShip } from "../../support/ship-cli.js";
import { type LocalApp, localApp } from "./local-app.js";

describe("ship run: a standalone staged rollout is enforced", () => {
  let app: LocalApp;
  beforeEach(async () => {
    app = await localApp();
  });
  afterEach(() => app.cleanup());

  it("a host outside the open stage waits (exit 0, says which stage opens when); --force does not bypass, --ignore-rollout does", async () => {
    // A canary share that ends exactly below this host's bucket, then everyone a long time later.
    const canary = bucketOf("2.0.0", hostId()) / 100;
    await app.release(
      "r2",
      `version: "2.0.0"\nrollout:\n  strategy: staged\n  start: "2000-01-01T00:00:00Z"\n  stages:\n    - { name: canary, percentage: ${canary}, wait_hours: 1000000 }\n    - { name: everyone, percentage: 100 }\n`,
    );
    const run = await runShip(["--config", app.config]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/everyone \(100 %\) opens at 2114-/);
    expect(existsSync(join(app.appDir, "app.txt"))).toBe(false);
    expect((await app.state()).sources.myapp).toMatchObject({
      last_result: "skipped",
      current_version: null,
    });

    const forced = await runShip(["--config", app.config, "--force"]);
    expect(forced.code, forced.stderr).toBe(0);
    expect(existsSync(join(app.appDir, "app.txt"))).toBe(false);

    const ignored = await runShip(["--config", app.config, "--ignore-rollout"]);
    expect(ignored.code, ignored.stderr).toBe(0);
    expect(existsSync(join(app.appDir, "app.txt"))).toBe(true);
    expect((await app.state()).sources.myapp).toMatchObject({ current_version: "2.0.0" });
  }, 120_000);

  it("a stage's criteria must hold for the host to take part", async () => {
    await app.release(
      "r2",
      `version: "2.0.0"\nrollout:\n  start: "2000-01-01T00:00:00Z"\n  stages:\n    - { name: ready-hosts, percentage: 100, criteria: "file_exists('ready')" }\n`,
    );
    const waiting = await runShip(["--config", app.config]);
    expect(waiting.code, waiting.stderr).toBe(0);
    expect(waiting.stdout).toContain("does not meet the criteria (ready-hosts: file_exists('ready'))");
    expect(existsSync(join(app.appDir, "app.txt"))).toBe(false);

    await writeFile(join(app.appDir, "ready"), "");
    const joined = await runShip(["--config", app.config]);
    expect(joined.code, joined.stderr).toBe(0);
    expect(existsSync(join(app.appDir, "app.txt"))).toBe(true);
  });

  it("--check-only says the host waits (exit 0, the stage and when it opens), for a directory and an archive", async () => {
    const canary = bucketOf("2.0.0", hostId()) / 100;
    const manifest = `version: "2.0.0"\nrollout:\n  start: "2000-01-01T00:00:00Z"\n  stages:\n    - { name: canary, percentage: ${canary}, wait_hours: 1000000 }\n    - { name: everyone, percentage: 100 }\n`;
    const dir = await app.release("r2", manifest);
    const check = await runShip(["--config", app.config, "--check-only"]);
    // 100 would promise that a run installs 2.0.0 now; the run would wait, so the check says so.
    expect(check.code, check.stderr).toBe(0);
    expect(check.stdout).toMatch(
      /^waits\s+myapp: 2\.0\.0 waits for its staged rollout on host .*everyone \(100 %\) opens at 2114-/m,
    );
    const json = await runShip(["--config", app.config, "--check-only", "--json"]);
    expect(JSON.parse(json.stdout).apps[0]).toMatchObject({ result: "skipped", toVersion: "2.0.0" });
    expect(existsSync(join(app.appDir, "app.txt"))).toBe(false);
    expect(existsSync(join(app.root, "var/work/myapp.staging"))).toBe(false); // nothing kept
    expect(existsSync(app.stateFile)).toBe(false); // a check records nothing

    const ignoring = await runShip(["--config", app.config, "--check-only", "--ignore-rollout"]);
    expect(ignoring.code, ignoring.stderr).toBe(100);

    // The same release as a .tar.gz: read from the archive the run would extract.
    const archive = join(app.root, "r2.tar.gz");
    execFileSync("tar", ["-czf", archive, "-C", dir, "."]);
    await writeFile(
      app.config,
      (await readFile(app.config, "utf8")).replace(`path = "${dir}"`, `path = "${archive}"`),
    );
    const fromArchive = await runShip(["--config", app.config, "--check-only"]);
    expect(fromArchive.code, fromArchive.stderr).toBe(0);
    expect(fromArchive.stdout).toMatch(/^waits\s+myapp: 2\.0\.0 waits for its staged rollout/m);

    // Once its stage is open (here: a rollout whose first stage takes everyone) the check says 100.
    await app.release("r3", manifest.replace(`percentage: ${canary}`, "percentage: 100"));
    expect((await runShip(["--config", app.config, "--check-only"])).code).toBe(100);
  }, 120_000);
});
