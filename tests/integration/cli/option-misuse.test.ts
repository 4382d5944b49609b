import { readdir } from "node:fs/promises";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { runShip } from "../../support/ship-cli.js";
import { type LocalApp, localApp } from "./local-app.js";

const MANIFEST = 'version: "2.0.0"\n';

// A mix of root-level modes used to run only the first one in ship's list (and `--no-hooks` alone
// ran a real update); every mix must be refused as bad input before anything runs.
describe("ship refuses options that do not go together (real CLI)", () => {
  let app: LocalApp;
  beforeEach(async () => {
    app = await localApp();
    await app.release("r2", MANIFEST);
  });
  afterEach(async () => app.cleanup());

  it.each([
    [["--list-backups", "--rollback", "x"], /--list-backups and --rollback cannot be used together/],
    [["--rollback", "x", "--check-only"], /--check-only applies to an update run, not to --rollback/],
    [["--list-backups", "--check-only"], /--check-only applies to an update run, not to --list-backups/],
    [["--no-hooks"], /--no-hooks applies only with --rollback/],
    [["--no-hooks", "--force"], /--no-hooks applies only with --rollback/],
  ])("ship %j is exit 2 with one line, and nothing is installed", async (args, message) => {
    const run = await runShip(["--config", app.config, ...args]);
    expect(run.code).toBe(2);
    expect(run.stderr.trim().split("\n")).toHaveLength(1);
    expect(run.stderr).toMatch(message);
    expect(await readdir(app.appDir)).toEqual([]);
  });

  it("the same update run without the stray option installs (the refusal was the option, not the setup)", async () => {
    const run = await runShip(["--config", app.config, "--force"]);
    expect(run.code).toBe(0);
    expect(await readdir(app.appDir)).toContain("app.txt");
  });
});
