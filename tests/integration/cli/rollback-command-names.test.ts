/**
 * A failing rollback command is named as the manifest has it (`rollback hook[N]`,
 * `custom_rollback_command`) on every path that runs it, and every one of them runs: real `ship`
 * processes on a local source. The automatic rollback said `custom_rollback_command[0]` and stopped
 * at the first failing rollback hook; `--rollback` and the recovery of a killed run named them by
 * their place in a joined list, so the custom command was `rollback[2]`, which no manifest key is.
 * The recovery of a `--rollback` killed before its commands exited 1 for them and did not say why.
 */
import { access, readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { loadConfigFile } from "../../../shared/config/load.js";
import { hubRollbackToFirst } from "../../support/hub-rollback.js";
import { type CliResult, runShip } from "../../support/ship-cli.js";
import { type LocalApp, localApp } from "./local-app.js";

let app: LocalApp;
let marker: string;
beforeEach(async () => {
  app = await localApp();
  marker = join(app.root, "second-hook-ran");
});
afterEach(async () => {
  await app.cleanup();
});

/** Rollback hook 0 fails, hook 1 leaves a marker, the custom command fails. */
function undoing(version: string, more = ""): string {
  return `version: "${version}"\nhooks:\n  rollback:\n    - "exit 4"\n    - "touch ${marker}"\n${more}rollback:\n  custom_rollback_command: "exit 5"\n`;
}

async function expectNamed(run: CliResult): Promise<void> {
  const said = run.stdout + run.stderr;
  expect(said).toContain("rollback hook[0] exited with 4");
  expect(said).toContain("custom_rollback_command exited with 5");
  expect(said).not.toMatch(/rollback\[\d|custom_rollback_command\[/);
  // The hook after the failed one ran too: each may undo a part of its own.
  await access(marker);
}

async function installTwo(second: string): Promise<string> {
  await app.release("r1", `version: "1.0.0"\n`, { "app.txt": "v1\n" });
  expect((await runShip(["--config", app.config])).code).toBe(0);
  await app.release("r2", second, { "app.txt": "v2\n" });
  const run = await runShip(["--config", app.config]);
  expect(run.code, run.stderr).toBe(0);
  const listed = await runShip(["--config", app.config, "--list-backups", "--json"]);
  const [newest] = JSON.parse(listed.stdout) as { id: string }[];
  return String(newest?.id);
}

describe("rollback commands are named by their manifest key (real CLI)", () => {
  it("in the automatic rollback of a failed update", async () => {
    await app.release("r1", `version: "1.0.0"\n`, { "app.txt": "v1\n" });
    expect((await runShip(["--config", app.config])).code).toBe(0);
    await app.release("r2", undoing("2.0.0", `  post_update:\n    - "exit 3"\n`), { "app.txt": "v2\n" });
    const run = await runShip(["--config", app.config]);
    expect(run.code, run.stderr).toBe(1);
    await expectNamed(run);
    expect(String((await app.state()).sources.myapp?.last_error)).toContain(
      "rollback commands failed: rollback hook[0] exited with 4; custom_rollback_command exited with 5",
    );
  }, 60_000);

  it("in ship --rollback", async () => {
    const newest = await installTwo(undoing("2.0.0"));
    const rollback = await runShip(["--config", app.config, "--rollback", newest]);
    expect(rollback.code, rollback.stderr).toBe(1);
    await expectNamed(rollback);
    expect(await readFile(join(app.appDir, "app.txt"), "utf8")).toBe("v1\n");
  }, 60_000);

  it("in the warning of ship --rollback --no-hooks, a custom_rollback_command alone too", async () => {
    const newest = await installTwo(`version: "2.0.0"\nrollback:\n  custom_rollback_command: "exit 5"\n`);
    const rollback = await runShip(["--config", app.config, "--rollback", newest, "--no-hooks"]);
    expect(rollback.code, rollback.stderr).toBe(0);
    expect(rollback.stderr).toContain("rollback commands not run (--no-hooks): custom_rollback_command");
    expect(await readFile(join(app.appDir, "app.txt"), "utf8")).toBe("v1\n");
  }, 60_000);

  it("in the recovery of a --rollback killed before its commands started", async () => {
    const newest = await installTwo(undoing("2.0.0"));
    const killed = await runShip(["--config", app.config, "--rollback", newest], {
      env: { SHIP_FAULT: "rollback:before-hooks" },
    });
    expect(killed.code).toBeNull();
    await expect(access(marker)).rejects.toMatchObject({ code: "ENOENT" });
    const recovered = await runShip(["--config", app.config, "--recover"]);
    expect(recovered.code, recovered.stderr).toBe(1);
    await expectNamed(recovered);
    // Its exit 1 is said in its line, not in ship.log alone.
    expect(recovered.stdout).toBe(
      "myapp: finished the interrupted rollback to 1.0.0; ran 2.0.0's rollback commands it had not started; rollback commands failed: rollback hook[0] exited with 4; custom_rollback_command exited with 5\n",
    );
  }, 60_000);

  it("in the recovery of an update killed after its apply", async () => {
    await app.release("r1", `version: "1.0.0"\n`, { "app.txt": "v1\n" });
    expect((await runShip(["--config", app.config])).code).toBe(0);
    await app.release("r2", undoing("2.0.0"), { "app.txt": "v2\n" });
    const killed = await runShip(["--config", app.config], {
      env: { SHIP_FAULT: "pipeline:before:migrations" },
    });
    expect(killed.code).toBeNull();
    await rm(marker, { force: true });
    const recovered = await runShip(["--config", app.config, "--recover"]);
    await expectNamed(recovered);
    expect(await readFile(join(app.appDir, "app.txt"), "utf8")).toBe("v1\n");
  }, 60_000);
});

describe("rollback commands are named by their manifest key in a hub rollback (the daemon's handler)", () => {
  it("reports each failed one by its key to the hub", async () => {
    const newest = await installTwo(undoing("2.0.0"));
    expect(newest).not.toBe("");
    const { config } = await loadConfigFile(app.config);
    const result = await hubRollbackToFirst(config);
    expect(result).toMatchObject({
      kind: "report",
      report: {
        outcome: "succeeded",
        toVersion: "1.0.0",
        error:
          "rollback commands failed: rollback hook[0] exited with 4; custom_rollback_command exited with 5",
      },
    });
    await access(marker);
    expect(await readFile(join(app.appDir, "app.txt"), "utf8")).toBe("v1\n");
  }, 60_000);
});
