/**
 * A source renamed in ship.toml (`[sources.myapp]` → `[sources.web]`, the same app_dir): the
 * backups made under the old name were left out of `--list-backups` ("restore app directories no
 * source of this config installs into") and `--rollback` refused them as another config's, so the
 * operator could not roll back the app at all. The source that installs into the backup's app_dir
 * owns them now. Real `ship` runs.
 */
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { runShip } from "../../support/ship-cli.js";
import { type LocalApp, localApp } from "../cli/local-app.js";

let app: LocalApp;

beforeEach(async () => {
  app = await localApp();
  for (const v of ["1", "2"]) {
    await app.release(`r${v}`, `version: "${v}.0.0"\n`, { "app.txt": `v${v}\n` });
    expect((await runShip(["--config", app.config])).code).toBe(0);
  }
  const toml = await readFile(app.config, "utf8");
  await writeFile(app.config, toml.replace("[sources.myapp]", "[sources.web]"));
});
afterEach(async () => {
  await app.cleanup();
});

describe("backups made under a source's old name (real CLI)", () => {
  it("are listed, and --rollback restores them into the renamed source's record", async () => {
    const list = await runShip(["--config", app.config, "--list-backups", "--sources", "web", "--json"]);
    expect(list.code, list.stderr).toBe(0);
    expect(list.stderr).not.toContain("not listed");
    const backups = JSON.parse(list.stdout) as { id: string; version: string | null }[];
    const one = backups.find((b) => b.version === "1.0.0");
    expect(one).toBeDefined();
    const back = await runShip(["--config", app.config, "--rollback", String(one?.id)]);
    expect(back.code, back.stdout + back.stderr).toBe(0);
    expect(back.stdout).toContain("back on 1.0.0");
    expect(await readFile(join(app.appDir, "app.txt"), "utf8")).toBe("v1\n");
    expect((await app.state()).sources.web).toMatchObject({
      current_version: "1.0.0",
      last_result: "rolled_back",
    });
  });
});
