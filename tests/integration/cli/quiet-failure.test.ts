/**
 * `ship --quiet` is "only problems": with `[general.logging] file` set (the log goes there), an
 * update that failed and was restored printed nothing at all, only exit 1. Its line now goes to
 * stderr; a run that went well stays silent. Real CLI.
 */
import { appendFile } from "node:fs/promises";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { runShip } from "../../support/ship-cli.js";
import { type LocalApp, localApp } from "./local-app.js";

describe("ship --quiet with the log in a file (real CLI)", () => {
  let app: LocalApp;
  beforeEach(async () => {
    app = await localApp();
  });
  afterEach(() => app.cleanup());

  it("says a failed update on stderr, and nothing when all went well", async () => {
    // The logging table goes after [sources.myapp] in local-app's config, so it is written in full.
    const withLogFile = () => appendFile(app.config, `\n[general.logging]\nfile = "${app.root}/ship.log"\n`);
    await app.release("v1", 'version: "1.0.0"\n');
    await withLogFile();
    const first = await runShip(["--config", app.config, "--quiet"]);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout + first.stderr).toBe("");

    await app.release("v2", 'version: "2.0.0"\nhooks:\n  post_update:\n    - "echo boom >&2; exit 3"\n');
    await withLogFile();
    const failed = await runShip(["--config", app.config, "--quiet"]);
    expect(failed.code).toBe(1);
    expect(failed.stdout).toBe("");
    expect(failed.stderr).toBe(
      "myapp: update failed at post_update hooks: post_update hook[0] exited with 3: boom; restored the previous version\n",
    );
  });
});
