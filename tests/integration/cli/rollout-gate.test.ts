import { existsSync } from "node:fs";
import { writeFile } from "node:fs/promises";
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
});
