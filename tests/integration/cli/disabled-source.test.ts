/**
 * `enabled = false` in a timer run, and `--sources NAME` naming that source: a plain run leaves it
 * alone (and says so), naming it runs it on purpose (README, CLI). Both halves, as an operator sees them.
 */
import { readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, expect, it } from "vitest";
import { runShip } from "../../support/ship-cli.js";
import { type LocalApp, localApp } from "./local-app.js";

let app: LocalApp;
beforeEach(async () => {
  app = await localApp("enabled = false\n");
  await app.release("r2", 'version: "2.0.0"\n');
});
afterEach(() => app.cleanup());

it("a plain run and --check-only leave a disabled source alone; --sources NAME runs it", async () => {
  const plain = await runShip(["--config", app.config]);
  expect(plain.code, plain.stderr).toBe(0);
  expect(plain.stderr).toContain("source myapp is disabled (enabled = false)");
  expect(plain.stdout).toContain("no sources to run");
  await expect(readFile(join(app.appDir, "app.txt"), "utf8")).rejects.toThrow();

  const check = await runShip(["--config", app.config, "--check-only", "--sources", "myapp"]);
  expect(check.code, check.stderr).toBe(100);

  const named = await runShip(["--config", app.config, "--sources", "myapp"]);
  expect(named.code, named.stderr).toBe(0);
  expect(await readFile(join(app.appDir, "app.txt"), "utf8")).toBe("r2\n");
  expect((await app.state()).sources.myapp).toMatchObject({ current_version: "2.0.0" });
  // The README says so where the options are explained.
  const readme = await readFile("README.md", "utf8");
  expect(readme).toContain("`--sources NAME` takes exactly the\nsources named, **a disabled one included**");
});

// A ship.toml with no source at all (0 bytes, only comments, only [general]) ran as "no sources to
// run", or "ship ran less than 24 h ago", exit 0: the timer succeeded every day on a host that
// nothing updated. And a run of no source was recorded as the day's: the source enabled next waited.
// `--recover` of such a file said nothing at all, exit 0: a recovery pointed at the wrong file read as done.
it.each([
  ["0 bytes", ""],
  ["only comments", "# [sources.myapp] comes later\n"],
  ["only [general]", "[general]\nmin_interval_hours = 24\n"],
])("a ship.toml that configures no source (%s) is exit 2 naming it, nothing written", async (_, text) => {
  const config = `${app.root}/empty.toml`;
  const state = `${app.root}/var/state.json`;
  await writeFile(config, `${text}`.replace("[general]\n", `[general]\nstate_file = "${state}"\n`));
  // `--list-backups` said "no backups in …" (exit 0) and `--rollback` "holds no backup with id …", as
  // if backup_dir were empty: each lists and restores only this config's sources' backups.
  const consequences: [string[], string][] = [
    [[], "nothing to update"],
    [["--check-only"], "nothing to update"],
    [["--force"], "nothing to update"],
    [["--recover"], "nothing to update"],
    [["--list-backups"], "it lists only its sources' backups, so there are none to list"],
    [
      ["--rollback", "myapp-20260101T000000Z"],
      "it restores only its sources' backups, so there is none to roll back",
    ],
  ];
  for (const [args, consequence] of consequences) {
    const run = await runShip(["--config", config, ...args], { cwd: app.root });
    expect({ args, code: run.code, stderr: run.stderr }).toEqual({
      args,
      code: 2,
      stderr: `ship: ${config} configures no source ([sources.NAME] with a type): ${consequence} (README: ship.toml)\n`,
    });
    expect(run.stdout).toBe("");
  }
  expect((await readdir(app.root)).sort()).toEqual(["app", "empty.toml", "r2", "ship.toml"]);
});

it("a run with every source disabled is not the day's run: the source enabled next runs without --force", async () => {
  const daily = (await readFile(app.config, "utf8")).replace(
    "min_interval_hours = 0",
    "min_interval_hours = 24",
  );
  await writeFile(app.config, daily);
  const idle = await runShip(["--config", app.config]);
  expect(idle.code, idle.stderr).toBe(0);
  expect(idle.stdout.trim()).toBe("no sources to run (every one is disabled or hub-only)");
  await writeFile(app.config, daily.replace("enabled = false\n", ""));
  const enabled = await runShip(["--config", app.config]);
  expect(enabled.code, enabled.stderr).toBe(0);
  expect(await readFile(join(app.appDir, "app.txt"), "utf8")).toBe("r2\n");
  // Once a source ran, the rule holds again.
  await writeFile(join(app.root, "r2", "app.txt"), "r2 again\n");
  const again = await runShip(["--config", app.config]);
  expect(again.stdout).toContain("ship ran less than 24 h ago");
});
