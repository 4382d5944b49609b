/**
 * Rollback commands are owed only once the run got to its pre_update hooks, which may have stopped
 * the app's services. Before: "got there" was reckoned from the failing step in two places, so a run
 * whose pending_update record could not be written (the step the record is written for fails first)
 * ran the release's rollback hooks although not one pre_update hook had run: a `systemctl start`
 * in a rollback hook meant for a stopped service ran against one nobody stopped. Now the written
 * record is the one fact both places read.
 */
import { spawnSync } from "node:child_process";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { runShip } from "../../support/ship-cli.js";
import { type LocalApp, localApp } from "../cli/local-app.js";

let app: LocalApp;
let flagged: string | undefined;

beforeEach(async () => {
  app = await localApp();
});
afterEach(async () => {
  if (flagged !== undefined) spawnSync("chattr", ["-i", flagged]);
  flagged = undefined;
  await app.cleanup();
});

/** Whether chattr +i works here (root on ext4): the test skips where it cannot. */
function canFlag(): boolean {
  const probe = join(app.root, "release-probe");
  spawnSync("mkdir", [probe]);
  const ok = spawnSync("chattr", ["+i", probe]).status === 0;
  spawnSync("chattr", ["-i", probe]);
  if (!ok) console.warn("SKIPPING: chattr +i is not available here (not root, or not ext4)");
  return ok;
}

describe("rollback hooks of an update that never reached its pre_update hooks (real CLI)", () => {
  it("do not run when the pending record cannot be written; the app stays on 1.0.0", async () => {
    if (!canFlag()) return;
    await app.release("r1", `version: "1.0.0"\n`, { "app.txt": "v1\n" });
    expect((await runShip(["--config", app.config])).code).toBe(0);
    const stateDir = join(app.root, "var");
    const log = join(app.root, "hooks.log");
    // The environment check is the last command before the hooks step: it makes the state file's
    // directory immutable, so markPending's write fails (a full or failing disk does the same).
    await app.release(
      "r2",
      [
        'version: "2.0.0"',
        "requirements:",
        "  environment_checks:",
        `    - {name: freeze, command: "chattr +i ${stateDir}"}`,
        "hooks:",
        `  pre_update: ["echo pre_update >> ${log}"]`,
        `  rollback: ["echo rollback >> ${log}"]`,
        "",
      ].join("\n"),
      { "app.txt": "v2\n" },
    );
    flagged = stateDir;
    const run = await runShip(["--config", app.config]);
    spawnSync("chattr", ["-i", stateDir]);
    flagged = undefined;
    // Exit 2, as for any state file ship may not write: nothing changed, the fix is the operator's
    // (the 1 this was was the lock's removal failing after it, "cannot read directory …/ship.lock").
    expect(run.code, run.stdout + run.stderr).toBe(2);
    expect(run.stdout + run.stderr).toContain("state file");
    expect(run.stdout + run.stderr).toContain(`clear that with chattr -i -a ${stateDir}`);
    expect(await readFile(log, "utf8").catch(() => "")).toBe("");
    expect(await readFile(join(app.appDir, "app.txt"), "utf8")).toBe("v1\n");
  });
});
