/**
 * `ship --rollback` of an app whose last update was killed after its apply (before its health
 * checks): real `ship` runs, a real SIGKILL. The rollback undoes that update with the rest (its
 * backup is the newest) and runs its rollback hooks — but the state kept the update's
 * pending_update, so the next run said "update to 3.0.0 was interrupted; restored 2.0.0" (it
 * restored nothing: the app was on 1.0.0), ran 3.0.0's rollback hooks a second time and recorded
 * failed_restored over the rollback. Now the rollback resolves the interrupted update it undid.
 */
import { readFile } from "node:fs/promises";
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

async function release(version: string): Promise<void> {
  await app.release(
    `r${version}`,
    `version: "${version}"\nhooks:\n  rollback: ['echo "undo ${version}" >> "$SHIP_APP_DIR/../hooks.log"']\n`,
    { "app.txt": `${version}\n` },
  );
}

describe("ship --rollback over an update a kill interrupted (real CLI)", () => {
  it("resolves it: the next run neither restores again nor runs its hooks twice", async () => {
    await release("1.0.0");
    expect((await runShip(["--config", app.config])).code).toBe(0);
    await release("2.0.0");
    expect((await runShip(["--config", app.config])).code).toBe(0);
    await release("3.0.0");
    const killed = await runShip(["--config", app.config], { env: { SHIP_FAULT: "pipeline:before:tests" } });
    expect(killed.code).toBeNull();
    expect(await readFile(join(app.appDir, "app.txt"), "utf8")).toBe("3.0.0\n");

    const list = await runShip(["--config", app.config, "--list-backups", "--json"]);
    const target = (JSON.parse(list.stdout) as { id: string; version: string | null }[]).find(
      (b) => b.version === "1.0.0",
    );
    const back = await runShip(["--config", app.config, "--rollback", String(target?.id)]);
    expect(back.code, back.stdout + back.stderr).toBe(0);
    expect(await readFile(join(app.appDir, "app.txt"), "utf8")).toBe("1.0.0\n");
    const hooks = () => readFile(join(app.root, "hooks.log"), "utf8");
    expect(await hooks()).toBe("undo 3.0.0\nundo 2.0.0\n");
    expect((await app.state()).sources.myapp).not.toHaveProperty("pending_update");

    await release("1.0.0");
    const next = await runShip(["--config", app.config]);
    expect(next.code, next.stdout + next.stderr).toBe(0);
    expect(next.stdout).toBe("myapp: up to date (1.0.0)\n");
    expect(next.stderr).not.toContain("interrupted");
    expect(await hooks()).toBe("undo 3.0.0\nundo 2.0.0\n");
    expect((await app.state()).sources.myapp).toMatchObject({
      current_version: "1.0.0",
      last_result: "up_to_date",
      last_error: null,
    });
  });
});
