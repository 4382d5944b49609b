/**
 * `cleanup_old` after a rollback, met by real `ship` runs. 2.0.0 adds `keep_days: 1` to the
 * protected `reports/` (1.0.0 prunes nothing there); the operator rolls back to 1.0.0. ship
 * remembers the installed release's pruning rules for runs that install nothing — but they stayed
 * 2.0.0's after the rollback, so every timer run went on deleting reports older than a day under a
 * release that never asked for it (the mistake the operator rolled back from). Now rules
 * remembered for a release that is no longer installed prune nothing.
 */
import { readdir, utimes, writeFile } from "node:fs/promises";
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

const V1 = `version: "1.0.0"\ndirectories:\n  reports:\n    preserve: true\n`;
const V2 = `version: "2.0.0"\ndirectories:\n  reports:\n    preserve: true\n    cleanup_old: true\n    keep_days: 1\n`;

async function oldReport(name: string): Promise<void> {
  const path = join(app.appDir, "reports", name);
  await writeFile(path, `${name}\n`);
  const tenDaysAgo = new Date(Date.now() - 10 * 24 * 3600 * 1000);
  await utimes(path, tenDaysAgo, tenDaysAgo);
}

describe("cleanup_old rules after a rollback (real CLI)", () => {
  it("the rolled-back release's keep_days no longer deletes anything", async () => {
    await app.release("r1", V1, { "app.txt": "v1\n", "reports/.keep": "" });
    expect((await runShip(["--config", app.config])).code).toBe(0);
    await app.release("r2", V2, { "app.txt": "v2\n", "reports/.keep": "" });
    expect((await runShip(["--config", app.config])).code).toBe(0);
    // While 2.0.0 is installed its rule stands, on runs that install nothing too.
    await oldReport("q3.pdf");
    expect((await runShip(["--config", app.config])).stdout).toBe("myapp: up to date (2.0.0)\n");
    expect(await readdir(join(app.appDir, "reports"))).toEqual([".keep"]);

    await oldReport("q4.pdf");
    const list = await runShip(["--config", app.config, "--list-backups", "--json"]);
    const [newest] = JSON.parse(list.stdout) as { id: string }[];
    expect((await runShip(["--config", app.config, "--rollback", String(newest?.id)])).code).toBe(0);
    await app.release("r1", V1, { "app.txt": "v1\n", "reports/.keep": "" });
    const run = await runShip(["--config", app.config]);
    expect(run.stdout).toBe("myapp: up to date (1.0.0)\n");
    expect((await readdir(join(app.appDir, "reports"))).sort()).toEqual([".keep", "q4.pdf"]);
  });
});
