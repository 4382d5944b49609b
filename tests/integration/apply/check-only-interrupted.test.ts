/**
 * `ship --check-only` after an update was killed before its health checks (a real SIGKILL): a check
 * recovers nothing, yet it said "current  myapp: up to date (3.0.0)" about a 3.0.0 the next run
 * undoes, and "update available 3.0.0 -> 4.0.0" though that run restores 2.0.0 first. Now the line
 * says an interrupted update waits for recovery and what recovery will do; nothing changes. Its exit
 * code and versions are the run's: that run restores 2.0.0 and installs 3.0.0 again (exit 100).
 */
import { readFile } from "node:fs/promises";
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

describe("ship --check-only over an interrupted update (real CLI)", () => {
  it("says the killed update waits for recovery and what the next run restores", async () => {
    for (const v of ["1", "2"]) {
      await app.release(`r${v}`, `version: "${v}.0.0"\n`, { "app.txt": `${v}\n` });
      expect((await runShip(["--config", app.config])).code).toBe(0);
    }
    await app.release("r3", `version: "3.0.0"\n`, { "app.txt": "3\n" });
    const killed = await runShip(["--config", app.config], { env: { SHIP_FAULT: "pipeline:before:tests" } });
    expect(killed.code).toBeNull();
    const note =
      "an update to 3.0.0 was interrupted and waits for recovery: the next run (or ship --recover) restores 2.0.0 first";

    const before = await snapshot(app.appDir);
    const same = await runShip(["--config", app.config, "--check-only"]);
    expect(same.code).toBe(100);
    expect(same.stdout).toBe(
      `update   myapp: update available 2.0.0 -> 3.0.0 from ${app.root}/r3 — but ${note}\n`,
    );
    await app.release("r4", `version: "4.0.0"\n`, { "app.txt": "4\n" });
    const newer = await runShip(["--config", app.config, "--check-only"]);
    expect(newer.code).toBe(100);
    expect(newer.stdout).toContain(`update available 2.0.0 -> 4.0.0 from ${app.root}/r4 — but ${note}\n`);
    expect(await snapshot(app.appDir)).toEqual(before);

    // What it announced is what the next run does; then nothing waits any more.
    await app.release("r3", `version: "3.0.0"\n`, { "app.txt": "3\n" });
    const recovered = await runShip(["--config", app.config, "--recover"]);
    expect(recovered.code, recovered.stdout + recovered.stderr).toBe(0);
    expect(await readFile(join(app.appDir, "app.txt"), "utf8")).toBe("2\n");
    const after = await runShip(["--config", app.config, "--check-only"]);
    expect(after.stdout).not.toContain("interrupted");
  });
});
