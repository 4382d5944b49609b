/**
 * A version written unquoted in a condition (`current_version < 2.10`) is one number token to the
 * condition parser; compared as a version it was its value printed back, 2.1, so on 2.5.0 the
 * seed's major-upgrade guard read false and the update went ahead, and a rollout stage's criteria
 * `current_version >= 2.10` let a 2.9.0 host in. Compared as a version, a number is what is written.
 */
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runShip } from "../../support/ship-cli.js";
import { installRelease, type LocalApp, localApp } from "./local-app.js";

let app: LocalApp;
beforeAll(async () => {
  app = await localApp();
  await installRelease(app, "v2.5", 'version: "2.5.0"\n', { "app.txt": "2.5.0\n" });
});
afterAll(async () => {
  await app.cleanup();
});

describe("an unquoted number compared with current_version", () => {
  it("is the version it is written as: 2.5.0 < 2.10 holds in a run and in --test-conditionals", async () => {
    const dir = await app.release(
      "v3",
      [
        'version: "3.0.0"',
        "conditionals:",
        "  - condition: current_version < 2.10",
        "    action: skip_update",
        "    message: upgrade to 2.10 first",
        "",
      ].join("\n"),
      { "app.txt": "3.0.0\n" },
    );
    const check = await runShip([
      "--test-conditionals",
      join(dir, "update-manifest.yaml"),
      "--app-dir",
      app.appDir,
      "--current-version",
      "2.5.0",
    ]);
    expect(check.code, check.stderr).toBe(0);
    expect(check.stdout).toContain("HOLDS  current_version < 2.10  → skip_update: upgrade to 2.10 first");

    const run = await runShip(["--config", app.config, "--force"]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain("myapp: update skipped on purpose: upgrade to 2.10 first");
    expect((await app.state()).sources.myapp?.current_version).toBe("2.5.0");
  }, 60_000);

  it("keeps a 2.9.0 host out of a stage whose criteria ask current_version >= 2.10 (--check-rollout)", async () => {
    const dir = await app.release(
      "v4",
      [
        'version: "4.0.0"',
        "rollout:",
        "  strategy: staged",
        '  start: "2020-01-01T00:00:00Z"',
        "  stages:",
        "    - percentage: 100",
        "      criteria: current_version >= 2.10",
        "",
      ].join("\n"),
    );
    const manifest = join(dir, "update-manifest.yaml");
    const [older, newer] = await Promise.all([
      runShip(["--check-rollout", manifest, "--current-version", "2.9.0", "--json"]),
      runShip(["--check-rollout", manifest, "--current-version", "2.10.0", "--json"]),
    ]);
    expect(older.code, older.stderr).toBe(0);
    expect(JSON.parse(older.stdout).eligible).toBe(false);
    expect(newer.code, newer.stderr).toBe(0);
    expect(JSON.parse(newer.stdout).eligible).toBe(true);
  }, 60_000);
});
