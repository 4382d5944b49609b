/**
 * A rollback after the operator moved ship's state (state_file and backup_dir to another disk,
 * ship.toml pointed there), met by real `ship` runs. Each backup remembers the state directory it
 * was made beside, and the restore wrote the install index there: `ship --rollback` put 1.0.0's
 * files back, re-created the old directory to hold the index, and left the real one saying 2.0.0,
 * so `--check-only` said "up to date (2.0.0)" and the newer release was never offered again. Now
 * the restore keeps the app's record where the config keeps it.
 */
import { access, readFile, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { runShip } from "../../support/ship-cli.js";
import { type LocalApp, localApp } from "../cli/local-app.js";

let app: LocalApp;

beforeEach(async () => {
  app = await localApp();
});
afterEach(async () => {
  await app.cleanup();
});

async function install(version: string): Promise<void> {
  await app.release(`r${version}`, `version: "${version}"\n`, { "app.txt": `${version}\n` });
  const run = await runShip(["--config", app.config]);
  expect(run.code, run.stdout + run.stderr).toBe(0);
}

/** `mv var var2` and ship.toml follows, as an operator moving ship's state to another disk does. */
async function moveState(): Promise<void> {
  await rename(join(app.root, "var"), join(app.root, "var2"));
  const text = await readFile(app.config, "utf8");
  await writeFile(app.config, text.replaceAll(`${app.root}/var/`, `${app.root}/var2/`));
}

async function stateVersion(): Promise<unknown> {
  const state = JSON.parse(await readFile(join(app.root, "var2/state.json"), "utf8"));
  return state.sources.myapp.current_version;
}

async function backupIds(): Promise<string[]> {
  const list = await runShip(["--config", app.config, "--list-backups", "--json"]);
  return (JSON.parse(list.stdout) as { id: string }[]).map((b) => b.id);
}

describe("a rollback after ship's state moved (real CLI)", () => {
  it("--rollback records what is installed where the config keeps it", async () => {
    await install("1.0.0");
    await install("2.0.0");
    await moveState();
    const [newest] = await backupIds();
    const back = await runShip(["--config", app.config, "--rollback", String(newest)]);
    expect(back.code, back.stdout + back.stderr).toBe(0);
    expect(await readFile(join(app.appDir, "app.txt"), "utf8")).toBe("1.0.0\n");
    await expect(access(join(app.root, "var"))).rejects.toThrow(); // the old place is not re-created
    expect(await stateVersion()).toBe("1.0.0");
    const check = await runShip(["--config", app.config, "--check-only"]);
    expect(check.code, check.stdout + check.stderr).toBe(100);
    expect(check.stdout).toContain("update available 1.0.0 -> 2.0.0");
  });

  it("a chained rollback killed half-way and finished by --recover after the move does the same", async () => {
    await install("1.0.0");
    await install("2.0.0");
    await install("3.0.0");
    const oldest = (await backupIds())[1];
    const killed = await runShip(["--config", app.config, "--rollback", String(oldest)], {
      env: { SHIP_FAULT: "rollback:between-restores" },
    });
    expect(killed.code).toBeNull(); // SIGKILLed between its two restores
    await moveState();
    const recover = await runShip(["--config", app.config, "--recover"]);
    expect(recover.code, recover.stdout + recover.stderr).toBe(0);
    expect(await readFile(join(app.appDir, "app.txt"), "utf8")).toBe("1.0.0\n");
    await expect(access(join(app.root, "var"))).rejects.toThrow();
    expect(await stateVersion()).toBe("1.0.0");
    const check = await runShip(["--config", app.config, "--check-only"]);
    expect(check.stdout).toContain("update available 1.0.0 -> 3.0.0");
  });
});
