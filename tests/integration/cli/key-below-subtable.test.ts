/**
 * The seed's ship.toml opens `[general.logging]` right after `[general]`; a `[general]` key written
 * below it (`min_interval_hours = 0` at the end of the general block, as it reads) is
 * `general.logging`'s to TOML, and ignored. The warning said only "unknown key; ignored", so the
 * once-a-day rule went on holding runs back. It now says whose key it is and where to move it.
 */
import { readFile, writeFile } from "node:fs/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runShip } from "../../support/ship-cli.js";
import { type LocalApp, localApp } from "./local-app.js";

let app: LocalApp;
beforeAll(async () => {
  app = await localApp();
});
afterAll(async () => {
  await app.cleanup();
});

describe("a [general] key written below the [general.logging] header", () => {
  it("is a warning that names the table it belongs to and says to move it above the header", async () => {
    await app.release("v1", 'version: "1.0.0"\n');
    const config = await readFile(app.config, "utf8");
    await writeFile(app.config, `${config}\n[general.logging]\nlevel = "INFO"\nmin_interval_hours = 0\n`);
    const run = await runShip(["--config", app.config, "--check-only"]);
    expect(run.code, run.stderr).toBe(100);
    const line = run.stderr.split("\n").find((l) => l.includes("general.logging.min_interval_hours"));
    expect(line, run.stderr).toMatch(/^warning: .*ship\.toml:\d+:1 general\.logging\.min_interval_hours: /);
    expect(line).toContain(
      "min_interval_hours is a key of [general]: in TOML every key below the [general.logging] header is that table's; move it above the header",
    );
  }, 60_000);
});
