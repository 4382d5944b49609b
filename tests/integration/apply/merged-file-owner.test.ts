/**
 * A merged config is the operator's file with the release's changes in it: real `ship` runs. Made
 * `chmod 600` (it holds a password) and owned by the app's user, it came out of a merge 644
 * root:root — readable by every local user, no longer writable by the app — and an update that
 * changed none of its keys rewrote it just to reset the mode. Now it keeps its mode, owner and group.
 * A merge that changes the file is tested in ../cli/merge-file-owner.test.ts; this is the keep.
 */
import { chmod, chown, readFile, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { runShip } from "../../support/ship-cli.js";
import { type LocalApp, localApp } from "../cli/local-app.js";

const asRoot = process.getuid?.() === 0;
const manifest = (v: string) =>
  `version: "${v}.0.0"\nfiles:\n  "config.json":\n    action: merge_json\n    merge_strategy: preserve_user\n`;

let app: LocalApp;
beforeEach(async () => {
  app = await localApp();
  await app.release("r1", manifest("1"), { "app.txt": "v1\n", "config.json": `{"port": 80}\n` });
  expect((await runShip(["--config", app.config])).code).toBe(0);
  const config = join(app.appDir, "config.json");
  await writeFile(config, `{"port": 80, "password": "s3cret"}\n`);
  await chmod(config, 0o600);
  if (asRoot) await chown(config, 1234, 4321);
});
afterEach(async () => {
  await app.cleanup();
});

async function configMeta() {
  const s = await stat(join(app.appDir, "config.json"));
  return { mode: (s.mode & 0o777).toString(8), uid: s.uid, gid: s.gid };
}
const theirs = { mode: "600", ...(asRoot ? { uid: 1234, gid: 4321 } : {}) };

describe("a merge that changes nothing leaves the config as it is: mode, owner and group (real CLI)", () => {
  it("when the merge changes nothing", async () => {
    await app.release("r2", manifest("2"), { "app.txt": "v2\n", "config.json": `{"port": 80}\n` });
    const run = await runShip(["--config", app.config]);
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(await readFile(join(app.appDir, "app.txt"), "utf8")).toBe("v2\n");
    expect(await configMeta()).toMatchObject(theirs);
  });
});
