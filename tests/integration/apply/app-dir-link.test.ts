/**
 * app_dir changed between a symlink and the directory it leads to: one directory, so one install
 * index and one set of backups. The index was keyed by the path as written, so ship forgot what
 * it had installed ("installed 2.0.0 (no earlier version recorded)", 1.0.0's removed file left in
 * the app) and listed no backup ("restore app directories no source of this config installs
 * into"). Real `ship` runs.
 */
import { existsSync } from "node:fs";
import { readFile, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { runShip } from "../../support/ship-cli.js";
import { type LocalApp, localApp } from "../cli/local-app.js";
import { listedBackups } from "./installed-versions.js";

let app: LocalApp;
let link: string;
beforeEach(async () => {
  app = await localApp();
  link = join(app.root, "app-link");
  await symlink(app.appDir, link);
});
afterEach(async () => {
  await app.cleanup();
});

/** Installs release `${v}.0.0` (app.txt and f<v>.txt) with app_dir spelled `appDir`. */
async function install(v: string, appDir: string) {
  await app.release(`r${v}`, `version: "${v}.0.0"\n`, { "app.txt": `v${v}\n`, [`f${v}.txt`]: `${v}\n` });
  const config = await readFile(app.config, "utf8");
  await writeFile(app.config, config.replace(`app_dir = "${app.appDir}"`, `app_dir = "${appDir}"`));
  return runShip(["--config", app.config]);
}

describe("app_dir as a symlink or its target (real CLI)", () => {
  it("is one app: the update knows what is installed, and the backup restores", async () => {
    expect((await install("1", link)).code).toBe(0);
    const second = await install("2", app.appDir);
    expect(second.code, second.stdout + second.stderr).toBe(0);
    expect(second.stdout).toBe("myapp: updated 1.0.0 → 2.0.0\n");
    // 1.0.0's own file is gone: the update knew 1.0.0 had installed it.
    expect(existsSync(join(app.appDir, "f1.txt"))).toBe(false);

    const [newest] = await listedBackups(app);
    expect(newest?.version).toBe("1.0.0");
    const back = await runShip(["--config", app.config, "--rollback", String(newest?.id)]);
    expect(back.code, back.stdout + back.stderr).toBe(0);
    expect(await readFile(join(app.appDir, "app.txt"), "utf8")).toBe("v1\n");
    expect(existsSync(join(app.appDir, "f2.txt"))).toBe(false);
  });

  it("the other way round: the target first, then the link", async () => {
    expect((await install("1", app.appDir)).code).toBe(0);
    const second = await install("2", `${link}/`);
    expect(second.code, second.stdout + second.stderr).toBe(0);
    expect(second.stdout).toBe("myapp: updated 1.0.0 → 2.0.0\n");
    expect(existsSync(join(app.appDir, "f1.txt"))).toBe(false);
    expect((await listedBackups(app)).map((b) => b.version)).toEqual(["1.0.0", null]);
  });
});
