/**
 * `ship --rollback` across two backups whose older restore cannot start (real `ship` runs). Each
 * restore asked about its own directories only when its turn came: after 3.0.0's restore had put
 * 2.0.0 back (and run 3.0.0's rollback hooks), 2.0.0's was refused with "…; nothing was changed",
 * exit 1, `last_result: "failed_unchanged"`, about an app that had moved to 2.0.0.
 */
import { spawnSync } from "node:child_process";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { runShip } from "../../support/ship-cli.js";
import { type LocalApp, localApp } from "../cli/local-app.js";
import { installVersions, listedBackups } from "./installed-versions.js";
import { snapshot } from "./tree-fixtures.js";

let app: LocalApp;
const immutable: string[] = [];

beforeEach(async () => {
  app = await localApp();
});
afterEach(async () => {
  for (const path of immutable.splice(0)) spawnSync("chattr", ["-i", path]);
  await app.cleanup();
});

const backups = () => listedBackups(app);

describe("ship --rollback whose older restore cannot start (real CLI)", () => {
  it("a directory only the older update wrote is immutable: refused before anything moves", async (ctx) => {
    // conf/x.txt changes from 1.0.0 to 2.0.0 only; 3.0.0 leaves conf/ alone.
    for (const [v, conf] of [
      ["1", "one"],
      ["2", "two"],
      ["3", "two"],
    ] as const) {
      await app.release(`r${v}`, `version: "${v}.0.0"\n`, {
        "app.txt": `v${v}\n`,
        "conf/x.txt": `${conf}\n`,
      });
      expect((await runShip(["--config", app.config])).code).toBe(0);
    }
    const conf = join(app.appDir, "conf");
    if (spawnSync("chattr", ["+i", conf]).status !== 0) {
      console.warn("SKIPPING: chattr +i is not available here (not root, or not ext4)");
      ctx.skip();
    }
    immutable.push(conf);
    const before = await snapshot(app.appDir);
    const target = (await backups()).find((b) => b.version === "1.0.0");

    const run = await runShip(["--config", app.config, "--rollback", String(target?.id)]);
    expect(run.code, run.stdout + run.stderr).toBe(1);
    expect(run.stderr).toContain(
      `myapp: cannot restore: ${conf} is not writable: operation not permitted (EPERM) (restoring ${target?.id}, a backup of this rollback's chain); nothing was changed`,
    );
    expect(await snapshot(app.appDir)).toEqual(before);
    expect((await app.state()).sources.myapp).toMatchObject({
      current_version: "3.0.0",
      last_result: "failed_unchanged",
    });

    spawnSync("chattr", ["-i", conf]);
    const back = await runShip(["--config", app.config, "--rollback", String(target?.id)]);
    expect(back.code, back.stdout + back.stderr).toBe(0);
    expect(await readFile(join(conf, "x.txt"), "utf8")).toBe("one\n");
  });

  it("refused after the newer restore (a rollback hook took a saved file): says where the app is, exit 1", async () => {
    await installVersions(app, ["1", "2"]);
    const [two] = await backups();
    const hook = join(app.root, "free-disk.sh");
    await mkdir(app.root, { recursive: true });
    await writeFile(hook, `rm ${two?.path}/files/app.txt\n`);
    await app.release("r3", `version: "3.0.0"\nhooks:\n  rollback:\n    - command: "sh ${hook}"\n`, {
      "app.txt": "v3\n",
      "f3.txt": "3\n",
    });
    expect((await runShip(["--config", app.config])).code).toBe(0);

    const run = await runShip(["--config", app.config, "--rollback", String(two?.id)]);
    expect(run.code, run.stdout + run.stderr).toBe(1);
    expect(run.stderr).toContain(
      `myapp: rolled back only part of the way: the app is on 2.0.0 (1 of 2 backups restored), not 1.0.0: ${two?.path} is damaged, its saved copy of app.txt is missing`,
    );
    expect(run.stderr).toContain(`once that is fixed, ship --rollback ${two?.id} goes on from there`);
    expect(run.stderr).not.toContain("nothing was changed");
    expect(await readFile(join(app.appDir, "app.txt"), "utf8")).toBe("v2\n");
    expect((await app.state()).sources.myapp).toMatchObject({
      current_version: "2.0.0",
      last_result: "rolled_back",
    });
  });
});
