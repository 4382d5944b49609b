/**
 * An apply that fails and whose own undo fails too (exit 3): the operator's line says "UPDATE FAILED
 * AND RESTORE FAILED" once, with the update's reason and the restore's. Before, the pipeline wrapped
 * the engine's whole line in a second one ("… update: myapp: UPDATE FAILED AND RESTORE FAILED … update:
 * …; restore: …; restore: …"), in stdout, the state's last_error and the hub's report alike. The
 * next plain run finishes the undo and goes on. Faults are injected (SHIP_FAULT, two points: one
 * in the apply, one in its undo), as a failing disk write would.
 */
import { readFile } from "node:fs/promises";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { runShip } from "../../support/ship-cli.js";
import { type LocalApp, localApp } from "./local-app.js";

let app: LocalApp;
const files = (v: string) => Object.fromEntries([1, 2, 3, 4].map((i) => [`f${i}.txt`, `${v} f${i}\n`]));

beforeEach(async () => {
  app = await localApp();
});
afterEach(() => app.cleanup());

describe("an apply whose undo fails too (real CLI)", () => {
  it("exit 3 with the failure said once, then the next run finishes the undo and updates", async () => {
    await app.release("r1", 'version: "1.0.0"\n', files("v1"));
    expect((await runShip(["--config", app.config])).code).toBe(0);
    await app.release("r2", 'version: "2.0.0"\n', files("v2"));

    const run = await runShip(["--config", app.config], {
      env: { SHIP_FAULT: "apply:file@3:error,recover:file@2:error" },
    });
    expect(run.code, run.stderr).toBe(3);
    const line = run.stdout.trim();
    expect(line.split("\n")).toHaveLength(1);
    expect(line).toBe(
      "myapp: UPDATE FAILED AND RESTORE FAILED — the app needs a person. update: injected fault at apply:file (SHIP_FAULT); restore: restoring files: injected fault at recover:file (SHIP_FAULT)",
    );
    const state = await app.state();
    expect(state.sources.myapp).toMatchObject({ last_result: "restore_failed", last_error: line });

    const next = await runShip(["--config", app.config]);
    expect(next.code, next.stderr).toBe(0);
    expect(next.stderr).toContain("myapp: restored 1.0.0 (interrupted update to 2.0.0 undone)");
    for (const i of [1, 2, 3, 4])
      expect(await readFile(`${app.appDir}/f${i}.txt`, "utf8")).toBe(`v2 f${i}\n`);
  }, 60_000);
});
