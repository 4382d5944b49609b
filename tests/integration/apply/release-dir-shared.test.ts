/**
 * Rollback commands run in `$SHIP_RELEASE_DIR`, a hard-linked copy of the release being undone. A
 * file that release had not changed (settings.conf, the same in 1.0.0 and 2.0.0) is still the app's
 * own inode after the restore, so a command writing it there changed the restored app: 1.0.0 came
 * back with a line of the rollback script's in its settings. Real `ship` runs: `--rollback`, the
 * automatic rollback of a failing update, and `--recover` of an update killed before its tests.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { runShip } from "../../support/ship-cli.js";
import { type LocalApp, localApp } from "../cli/local-app.js";
import { listedBackups } from "./installed-versions.js";
import { snapshot } from "./tree-fixtures.js";

let app: LocalApp;
let onOne: Awaited<ReturnType<typeof snapshot>>;
beforeEach(async () => {
  app = await localApp();
  await app.release("r1", `version: "1.0.0"\n`, { "app.txt": "v1\n", "settings.conf": "keep=1\n" });
  expect((await runShip(["--config", app.config])).code).toBe(0);
  onOne = await snapshot(app.appDir);
});
afterEach(async () => {
  await app.cleanup();
});

/** 2.0.0: a rollback script that notes in its own copy of settings.conf that it ran. */
async function releaseTwo(extra = "") {
  await app.release("r2", `version: "2.0.0"\nhooks:\n  rollback:\n    - "sh scripts/rollback.sh"\n${extra}`, {
    "app.txt": "v2\n",
    "settings.conf": "keep=1\n",
    "scripts/rollback.sh": `cat settings.conf > "${app.root}/seen"; echo rolled-back >> "$SHIP_RELEASE_DIR/settings.conf"\n`,
  });
}

/** The hook ran in the release's files and saw them; the restored app is 1.0.0 byte for byte. */
async function expectAppUntouched() {
  expect(await readFile(join(app.root, "seen"), "utf8")).toBe("keep=1\n");
  expect(await readFile(join(app.appDir, "settings.conf"), "utf8")).toBe("keep=1\n");
  expect(await snapshot(app.appDir)).toEqual(onOne);
}

describe("a rollback command writing in $SHIP_RELEASE_DIR (real CLI)", () => {
  it("ship --rollback: the app's unchanged file is not written", async () => {
    await releaseTwo();
    expect((await runShip(["--config", app.config])).code).toBe(0);
    const [newest] = await listedBackups(app);
    const back = await runShip(["--config", app.config, "--rollback", String(newest?.id)]);
    expect(back.code, back.stdout + back.stderr).toBe(0);
    await expectAppUntouched();
  });

  it("the automatic rollback of a failing update: the same", async () => {
    await releaseTwo(`post_update_tests:\n  - name: health\n    command: "false"\n`);
    const run = await runShip(["--config", app.config]);
    expect(run.code, run.stdout + run.stderr).toBe(1);
    await expectAppUntouched();
  });

  it("--recover of an update killed before its tests: the same", async () => {
    await releaseTwo();
    const killed = await runShip(["--config", app.config], { env: { SHIP_FAULT: "pipeline:before:tests" } });
    expect(killed.code).toBeNull();
    const recovered = await runShip(["--config", app.config, "--recover"]);
    expect(recovered.code, recovered.stdout + recovered.stderr).toBe(0);
    await expectAppUntouched();
  });
});
