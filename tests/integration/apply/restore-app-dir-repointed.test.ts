/**
 * A restore after app_dir was re-pointed since the update began (`app -> releases/1`, then a
 * post_update hook's or an operator's `ln -sfn releases/2 app`). The update's journal, install index
 * and backup belong to releases/1. Before: the automatic restore said "restored the previous version"
 * and left releases/1 on 2.0.0; `--recover` after a kill mid-apply said "the app's files were not
 * changed (1.0.0 stays)" over a half-applied releases/1; one after a kill past the apply wrote
 * 1.0.0's files into releases/2, a tree ship never installed into; one after a killed `--rollback`
 * said "nothing to recover". Now each is exit 3 naming both directories, neither touched; with the
 * link pointed back, `ship --recover` restores releases/1. A pre_update hook's re-point is refused
 * at apply (it installed 2.0.0 into releases/2 with releases/1's index). Real `ship` runs, real kills.
 */
import { mkdir, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { runShip } from "../../support/ship-cli.js";
import { type LocalApp, localApp } from "../cli/local-app.js";
import { listedBackups } from "./installed-versions.js";
import { snapshot } from "./tree-fixtures.js";

const files = (v: string) => ({ "a.txt": `v${v}\n`, "b.txt": `v${v}\n`, "c.txt": `v${v}\n` });

let app: LocalApp;
let first: string;
let second: string;
/** releases/1 as 1.0.0's install left it. */
let firstV1: Record<string, string>;

/** app_dir is the link `app`, leading to releases/1 (where 1.0.0 is installed); releases/2 is another tree. */
beforeEach(async () => {
  app = await localApp();
  first = join(app.root, "releases/1");
  second = join(app.root, "releases/2");
  await mkdir(first, { recursive: true });
  await mkdir(second, { recursive: true });
  await writeFile(join(second, "a.txt"), "the other tree's own\n");
  await rm(app.appDir, { recursive: true });
  await symlink("releases/1", app.appDir);
  await app.release("r1", 'version: "1.0.0"\n', files("1"));
  const installed = await runShip(["--config", app.config]);
  expect(installed.code, installed.stderr).toBe(0);
  firstV1 = await snapshot(first);
});
afterEach(async () => {
  await app.cleanup();
});

const repoint = async (to: string) => {
  await rm(app.appDir);
  await symlink(to, app.appDir);
};

const refusal = (cause: string) =>
  new RegExp(
    `myapp: UPDATE FAILED AND RESTORE FAILED — the app needs a person\\. update: ${cause}; restore: .*${app.appDir} leads to ${second} now, but .*${first}.*: make it lead there again`,
  );

/** Pointed back at releases/1, `ship --recover` brings 1.0.0 back there, releases/2 untouched. */
const recoversOncePointedBack = async (secondBefore: Record<string, string>) => {
  await repoint("releases/1");
  const recovered = await runShip(["--config", app.config, "--recover"]);
  expect(recovered.code, recovered.stdout + recovered.stderr).toBe(0);
  expect(recovered.stdout).toContain("restored 1.0.0");
  expect(await snapshot(first)).toEqual(firstV1);
  expect(await snapshot(second)).toEqual(secondBefore);
};

describe("a restore after app_dir was re-pointed to another directory (real CLI)", () => {
  it("the automatic restore after a post_update hook re-pointed it: exit 3 naming both, neither tree mixed", async () => {
    await app.release(
      "r2",
      `version: "2.0.0"\nhooks:\n  post_update:\n    - "ln -sfn releases/2 ${app.appDir}"\npost_update_tests:\n  - name: health\n    command: "false"\n`,
      { ...files("2"), "new.txt": "added by 2.0.0\n" },
    );
    const secondBefore = await snapshot(second);

    const failed = await runShip(["--config", app.config]);
    expect(failed.code, failed.stdout + failed.stderr).toBe(3);
    expect(failed.stdout).toMatch(refusal('post_update_test "health" exited with 1 \\(after 1 attempt\\)'));
    // Not "restored the previous version": releases/1 is wholly 2.0.0, releases/2 as it was.
    expect(await readFile(join(first, "b.txt"), "utf8")).toBe("v2\n");
    expect(await readFile(join(first, "new.txt"), "utf8")).toBe("added by 2.0.0\n");
    expect(await snapshot(second)).toEqual(secondBefore);

    await recoversOncePointedBack(secondBefore);
  });

  it("--recover after a kill mid-apply and a re-point: exit 3, the half-applied tree waits, not 'not changed'", async () => {
    await app.release("r2", 'version: "2.0.0"\n', files("2"));
    const killed = await runShip(["--config", app.config], { env: { SHIP_FAULT: "apply:file@2" } });
    expect(killed.code).toBeNull();
    const firstKilled = await snapshot(first);
    await repoint("releases/2");
    const secondBefore = await snapshot(second);

    const refused = await runShip(["--config", app.config, "--recover"]);
    expect(refused.code, refused.stdout + refused.stderr).toBe(3);
    expect(refused.stdout).toMatch(refusal("update to 2.0.0 was interrupted"));
    expect(await snapshot(first)).toEqual(firstKilled);
    expect(await snapshot(second)).toEqual(secondBefore);

    await recoversOncePointedBack(secondBefore);
  });

  it("the next run after a kill past the apply and a re-point: exit 3, no old file written into the other tree", async () => {
    await app.release("r2", 'version: "2.0.0"\n', files("2"));
    const killed = await runShip(["--config", app.config], {
      env: { SHIP_FAULT: "pipeline:before:tests" },
    });
    expect(killed.code).toBeNull();
    await repoint("releases/2");
    const secondBefore = await snapshot(second);

    const refused = await runShip(["--config", app.config]);
    expect(refused.code, refused.stdout + refused.stderr).toBe(3);
    expect(refused.stdout).toMatch(refusal("update to 2.0.0 was interrupted"));
    expect(await snapshot(second)).toEqual(secondBefore);
    expect(await readFile(join(first, "c.txt"), "utf8")).toBe("v2\n");

    await recoversOncePointedBack(secondBefore);
  });

  it("--recover after a ship --rollback killed mid-restore and a re-point: exit 3 naming its journal, not 'nothing to recover'", async () => {
    await app.release("r2", 'version: "2.0.0"\n', files("2"));
    expect((await runShip(["--config", app.config])).code).toBe(0);
    const [newest] = await listedBackups(app);
    const killed = await runShip(["--config", app.config, "--rollback", newest?.id ?? ""], {
      env: { SHIP_FAULT: "restore:before-finalize" },
    });
    expect(killed.code).toBeNull();
    await repoint("releases/2");
    const secondBefore = await snapshot(second);

    const refused = await runShip(["--config", app.config, "--recover"]);
    expect(refused.code, refused.stdout + refused.stderr).toBe(3);
    expect(refused.stdout).toMatch(
      new RegExp(
        `${app.appDir} leads to ${second} now, but its record \\S+/journal\\.json is of the directory app_dir led to then: make it lead there again`,
      ),
    );
    expect(await snapshot(second)).toEqual(secondBefore);

    await repoint("releases/1");
    const recovered = await runShip(["--config", app.config, "--recover"]);
    expect(recovered.code, recovered.stdout + recovered.stderr).toBe(0);
    expect(recovered.stdout).toContain("restored 1.0.0 (finished an interrupted restore)");
    expect(await snapshot(first)).toEqual(firstV1);
  });

  it("a pre_update hook re-points it: the apply is refused before its first write, exit 1, neither tree touched", async () => {
    const hookRan = join(app.root, "rollback-hook-ran");
    await app.release(
      "r2",
      `version: "2.0.0"\nhooks:\n  pre_update:\n    - "ln -sfn releases/2 ${app.appDir}"\n  rollback:\n    - "touch ${hookRan}"\n`,
      files("2"),
    );
    const secondBefore = await snapshot(second);

    const refused = await runShip(["--config", app.config]);
    expect(refused.code, refused.stdout + refused.stderr).toBe(1);
    expect(refused.stdout).toContain(
      `myapp: update failed at apply: sources.myapp.app_dir ${app.appDir} leads to ${second} now, but to ${first} when the update began`,
    );
    // Before: 2.0.0 was installed into releases/2 over its own a.txt ("ship installed were changed
    // on this host"), and releases/1's install index said 2.0.0 while its files stayed 1.0.0.
    expect(await snapshot(second)).toEqual(secondBefore);
    expect(await snapshot(first)).toEqual(firstV1);
    expect(await readFile(hookRan, "utf8")).toBe("");
  });
});
