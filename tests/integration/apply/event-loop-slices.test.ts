/**
 * The agent's "still working" to the hub and its ping answers ride its one event loop: an update of
 * a 20,000-file app held it for seconds on a loaded host (4.6 s at a load of 15 on 2 cores) in its
 * passes over the files. Here every synchronous file-system call costs 1 ms more, as it does on
 * such a host (support/loaded-host.ts), and an apply and a restore of a few hundred files must still let timers run at
 * least every LOOP_SLICE_MS (plus one file's work). A stretch without a timer counts what the code held
 * (the main thread's CPU time and the stalls it was given): counting every thread's CPU and the
 * stalls' wall time read 655 ms here at load 22 with every yield in place (~120 ms now, at load 12
 * too); one yield removed from the apply reads 309 ms.
 */

import { rm } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { applyUpdate } from "../../../agent/apply/apply-update.js";
import { restoreBackup } from "../../../agent/backup/restore.js";
import { Manifest } from "../../../shared/manifest/schema.js";
import { longestStall, onLoadedHost } from "../../support/loaded-host.js";
import { stage, type TreeSpec, tempDir, writeTree } from "./tree-fixtures.js";

function release(version: string): TreeSpec {
  const spec: TreeSpec = {};
  for (let d = 0; d < 6; d++)
    for (let f = 0; f < 25; f++) spec[`lib/d${d}/f${f}.js`] = `// ${version} ${d} ${f}\n`;
  // Files only one version has: the apply adds and removes, the restore takes back.
  for (let f = 0; f < 20; f++) spec[`only-${version}/f${f}.js`] = `${version}\n`;
  return spec;
}

let root: string;
let appDir: string;
let stateDir: string;
let backupRoot: string;

beforeAll(async () => {
  root = await tempDir("event-loop");
  appDir = join(root, "app");
  stateDir = join(root, "state");
  backupRoot = join(root, "backups");
  await writeTree(appDir, {});
  await applyUpdate({
    app: "big",
    appDir,
    release: await stage(root, release("1.0.0"), "1.0.0"),
    manifest: Manifest.parse({ version: "1.0.0" }),
    stateDir,
    backupRoot,
  });
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe("an update and a restore on a loaded host", () => {
  it("let timers run at least every LOOP_SLICE_MS while they apply and restore every file", async () => {
    const staged = await stage(root, release("2.0.0"), "2.0.0");
    let backupPath = "";
    const apply = await longestStall(() =>
      onLoadedHost(1, async () => {
        const applied = await applyUpdate({
          app: "big",
          appDir,
          release: staged,
          manifest: Manifest.parse({ version: "2.0.0" }),
          stateDir,
          backupRoot,
        });
        backupPath = applied.backup.path;
      }),
    );
    expect(apply.took).toBeGreaterThan(800);
    expect(
      apply.longest,
      `apply: ${Math.round(apply.longest)} ms without a timer of ${Math.round(apply.took)} ms`,
    ).toBeLessThan(300);
    const restore = await longestStall(() =>
      onLoadedHost(1, () => restoreBackup({ backupPath, appDir, stateDir })),
    );
    expect(
      restore.longest,
      `restore: ${Math.round(restore.longest)} ms without a timer of ${Math.round(restore.took)} ms`,
    ).toBeLessThan(300);
  });
});
