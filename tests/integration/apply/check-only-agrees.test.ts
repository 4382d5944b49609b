/**
 * `ship --check-only` must answer what the next run will do, also while a killed run waits for
 * recovery (real `ship` runs, real SIGKILL via SHIP_FAULT). With a damaged journal or rollback
 * record a run stops with exit 3 ("needs a person"), yet the check said "update available", exit
 * 100; after a chained `--rollback` killed between its restores it offered the update from the
 * version in between and said nothing of the rollback the run finishes first.
 */
import { readdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runShip } from "../../support/ship-cli.js";
import type { LocalApp } from "../cli/local-app.js";
import { installedVersionsForFile } from "./installed-versions.js";
import { snapshot } from "./tree-fixtures.js";

let app: LocalApp;

installedVersionsForFile(["1", "2", "3"], (made) => {
  app = made;
});

async function appStateDir(): Promise<string> {
  const [dir] = await readdir(join(app.root, "var/apps"));
  return join(app.root, "var/apps", String(dir));
}

describe("ship --check-only agrees with the run (real CLI)", () => {
  for (const [record, text] of [
    ["journal.json", `{"kind":"update",`],
    ["rollback.json", `{"app":`],
  ] as const) {
    it(`a damaged ${record}: exit 3 and a failed line naming it, as the run says`, async () => {
      const path = join(await appStateDir(), record);
      await writeFile(path, text);
      const before = await snapshot(app.appDir);

      const check = await runShip(["--config", app.config, "--check-only"]);
      expect(check.code, check.stdout + check.stderr).toBe(3);
      expect(check.stdout).toMatch(new RegExp(`^failed +myapp: ${path} is damaged, it is not valid JSON`));
      const run = await runShip(["--config", app.config]);
      expect(run.code).toBe(3);
      expect(run.stdout).toContain(`${path} is damaged`);
      expect(await snapshot(app.appDir)).toEqual(before);
    });
  }

  it("a chained --rollback killed between restores: the check names it and offers the update from its target", async () => {
    const listed = await runShip(["--config", app.config, "--list-backups", "--json"]);
    const target = (JSON.parse(listed.stdout) as { id: string; version: string | null }[]).find(
      (b) => b.version === "1.0.0",
    );
    const killed = await runShip(["--config", app.config, "--rollback", String(target?.id)], {
      env: { SHIP_FAULT: "rollback:between-restores" },
    });
    expect(killed.code).toBeNull();

    const check = await runShip(["--config", app.config, "--check-only"]);
    expect(check.code, check.stdout + check.stderr).toBe(100);
    expect(check.stdout).toBe(
      `update   myapp: update available 1.0.0 -> 3.0.0 from ${app.root}/r3 — but a rollback to 1.0.0 was interrupted and waits for recovery: the next run (or ship --recover) finishes it first\n`,
    );
    const run = await runShip(["--config", app.config]);
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(run.stdout).toBe(
      "myapp: finished the interrupted rollback to 1.0.0 (1 more backup restored); then updated 1.0.0 → 3.0.0\n",
    );
  });
  // The operator points the source back at the release recovery puts back (the killed update's
  // previous one, or a killed rollback's target): the run says up to date, exit 0; the check said
  // "update available 3.0.0 -> 3.0.0", exit 100.
  it("a killed update while the source offers the version recovery restores: up to date, as the run says", async () => {
    await app.release("r4", `version: "4.0.0"\n`, { "app.txt": "v4\n" });
    const killed = await runShip(["--config", app.config], { env: { SHIP_FAULT: "pipeline:before:tests" } });
    expect(killed.code).toBeNull();
    await app.release("r3", `version: "3.0.0"\n`, { "app.txt": "v3\n", "f3.txt": "3\n" });

    const check = await runShip(["--config", app.config, "--check-only"]);
    expect(check.code, check.stdout + check.stderr).toBe(0);
    expect(check.stdout).toBe(
      "current  myapp: up to date (3.0.0) — but an update to 4.0.0 was interrupted and waits for recovery: the next run (or ship --recover) restores 3.0.0 first\n",
    );
    const run = await runShip(["--config", app.config]);
    expect(run.code, run.stdout + run.stderr).toBe(0);
    // The run says the restore it made first, then what the check said (recovered-first.ts).
    expect(run.stdout).toBe(
      "myapp: recovered 3.0.0 after an interrupted update to 4.0.0; then up to date (3.0.0)\n",
    );
  });

  it("a chained --rollback killed between restores while the source offers its target: up to date", async () => {
    const listed = await runShip(["--config", app.config, "--list-backups", "--json"]);
    const target = (JSON.parse(listed.stdout) as { id: string; version: string | null }[]).find(
      (b) => b.version === "1.0.0",
    );
    const killed = await runShip(["--config", app.config, "--rollback", String(target?.id)], {
      env: { SHIP_FAULT: "rollback:between-restores" },
    });
    expect(killed.code).toBeNull();
    await app.release("r1", `version: "1.0.0"\n`, { "app.txt": "v1\n", "f1.txt": "1\n" });

    const check = await runShip(["--config", app.config, "--check-only"]);
    expect(check.code, check.stdout + check.stderr).toBe(0);
    expect(check.stdout).toMatch(
      /^current {2}myapp: up to date \(1\.0\.0\) — but a rollback to 1\.0\.0 was interrupted/,
    );
    const run = await runShip(["--config", app.config]);
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(run.stdout).toBe(
      "myapp: finished the interrupted rollback to 1.0.0 (1 more backup restored); then up to date (1.0.0)\n",
    );
  });
  it("a chained --rollback killed between restores while the source offers a version in between: no downgrade", async () => {
    const listed = await runShip(["--config", app.config, "--list-backups", "--json"]);
    const target = (JSON.parse(listed.stdout) as { id: string; version: string | null }[]).find(
      (b) => b.version === "1.0.0",
    );
    const killed = await runShip(["--config", app.config, "--rollback", String(target?.id)], {
      env: { SHIP_FAULT: "rollback:between-restores" },
    });
    expect(killed.code).toBeNull();
    await app.release("r25", `version: "2.5.0"\n`, { "app.txt": "v2.5\n" });

    // It said "downgrade: release 2.5.0 is older than the installed 3.0.0", exit 2.
    const check = await runShip(["--config", app.config, "--check-only"]);
    expect(check.code, check.stdout + check.stderr).toBe(100);
    expect(check.stdout).toBe(
      `update   myapp: update available 1.0.0 -> 2.5.0 from ${app.root}/r25 — but a rollback to 1.0.0 was interrupted and waits for recovery: the next run (or ship --recover) finishes it first\n`,
    );
    const run = await runShip(["--config", app.config]);
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(run.stdout).toBe(
      "myapp: finished the interrupted rollback to 1.0.0 (1 more backup restored); then updated 1.0.0 → 2.5.0\n",
    );
  });
});
