/**
 * ship's first install over an app it has no version for (installed by hand, or by the seed's
 * Python ship) cannot tell which migrations the app has had, so it runs none. It said so only in a
 * WARNING log line: the run's own line was "installed 2.0.0 (no earlier version recorded)", exit
 * 0, and the app had 2.0.0's code over a database 2.0.0 never migrated. The line, the --json
 * report's warnings (sent to the hub too) now name the migrations left out. Real CLI.
 */
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { runShip } from "../../support/ship-cli.js";
import { type LocalApp, localApp } from "../cli/local-app.js";

const manifest = (version: string, log: string) => `version: "${version}"
migrations:
  "1.2.0": ["echo 1.2.0 >> ${log}"]
  "2.0.0": ["echo 2.0.0 >> ${log}"]
  "3.0.0": ["echo 3.0.0 >> ${log}"]
`;

describe("migrations on ship's first install over an app of unknown version", () => {
  let app: LocalApp;
  let log: string;
  beforeEach(async () => {
    app = await localApp();
    log = join(app.root, "migrations.log");
    await writeFile(join(app.appDir, "app.txt"), "installed by hand\n");
  });
  afterEach(async () => {
    await app.cleanup();
  });

  it("are named as not run in the run's line and its report; the next update runs its own", async () => {
    await app.release("r2", manifest("2.0.0", log));
    const first = await runShip(["--config", app.config, "--json"]);
    expect(first.code, first.stdout + first.stderr).toBe(0);
    const report = JSON.parse(first.stdout) as { apps: { message: string; warnings: string[] }[] };
    expect(report.apps[0]?.message).toBe(
      "myapp: installed 2.0.0 (no earlier version recorded); migrations 1.2.0, 2.0.0 NOT run: the version installed before is unknown, so run those the app lacks by hand",
    );
    expect(report.apps[0]?.warnings).toContainEqual(
      expect.stringMatching(/^migrations 1\.2\.0, 2\.0\.0 not run: /),
    );
    await expect(readFile(log, "utf8")).rejects.toThrow();

    await app.release("r3", manifest("3.0.0", log));
    const next = await runShip(["--config", app.config]);
    expect(next.code, next.stdout + next.stderr).toBe(0);
    expect(next.stdout).toBe("myapp: updated 2.0.0 → 3.0.0\n");
    expect(await readFile(log, "utf8")).toBe("3.0.0\n");
  });

  it("into an empty app_dir (nothing installed before) every migration up to the release's runs, in order", async () => {
    const fresh = await localApp();
    try {
      const freshLog = join(fresh.root, "migrations.log");
      await fresh.release("r2", manifest("2.0.0", freshLog));
      const run = await runShip(["--config", fresh.config]);
      expect(run.code, run.stdout + run.stderr).toBe(0);
      expect(run.stdout).toBe("myapp: installed 2.0.0 (no earlier version recorded)\n");
      expect(await readFile(freshLog, "utf8")).toBe("1.2.0\n2.0.0\n");
    } finally {
      await fresh.cleanup();
    }
  });
});
