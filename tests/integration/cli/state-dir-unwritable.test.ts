/**
 * The state directory made unwritable during a run (a pre_update hook here: `chattr +i`). Before: the state write said "owned by uid 0 … chown -R root" to
 * root, about a directory root owns, and the run's last line, in place of its outcome, was "cannot
 * read directory …/ship.lock: … (ENOTDIR)" (fs.rm's answer when the lock could not be unlinked).
 * Now the last line names the state directory and what is wrong with it, exit 2 as for any state
 * file ship may not write; the app is unchanged; and once the directory is put right the next run
 * takes the lock left behind over and installs.
 */
import { spawnSync } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { runShip } from "../../support/ship-cli.js";
import { hashTree } from "../pipeline/harness.js";
import { type LocalApp, localApp } from "./local-app.js";

let app: LocalApp;
let stateDir: string;
let chattrWorks = false;

beforeAll(async () => {
  // chattr +i needs root and a filesystem with the flag (ext4, xfs, btrfs; not tmpfs or overlayfs).
  const probe = await mkdtemp(join(tmpdir(), "ship-chattr-"));
  chattrWorks = spawnSync("chattr", ["+i", probe]).status === 0;
  spawnSync("chattr", ["-i", probe]);
  await rm(probe, { recursive: true, force: true });
});
beforeEach(async () => {
  app = await localApp();
  stateDir = join(app.root, "var");
});
afterEach(async () => {
  spawnSync("chattr", ["-i", stateDir]);
  await app.cleanup();
});

async function installV1ThenHookV2(hook: string): Promise<Record<string, string>> {
  await app.release("v1", 'version: "1.0.0"\n', { "app.txt": "v1\n" });
  expect((await runShip(["--config", app.config])).code).toBe(0);
  const before = await hashTree(app.appDir);
  await app.release("v2", `version: "2.0.0"\nhooks:\n  pre_update: [${JSON.stringify(hook)}]\n`, {
    "app.txt": "v2\n",
  });
  return before;
}

describe("the state directory made unwritable mid-run (real CLI)", () => {
  it("made immutable (chattr +i) by a pre_update hook", async (ctx) => {
    if (!chattrWorks) ctx.skip();
    const before = await installV1ThenHookV2(`chattr +i ${stateDir}`);
    const run = await runShip(["--config", app.config]);
    const out = run.stdout + run.stderr;
    // Exit 2, as for every state file ship may not write (DESIGN.md: bad input, the fix is the operator's).
    expect(run.code, out).toBe(2);
    const problem = `${stateDir} may not be changed, not even by its owner: it is probably immutable or append-only (lsattr -d ${stateDir} shows i or a); clear that with chattr -i -a ${stateDir}`;
    // The run's last line names the state directory and what is wrong with it, once.
    const said = out.split("\n").filter((line) => line !== "" && !line.startsWith("{"));
    expect(said).toEqual([`ship: ${stateDir}/state.json (ship's state file) cannot be written: ${problem}`]);
    expect(out).not.toContain("chown");
    expect(out).not.toContain("ENOTDIR");
    expect(out).not.toContain("cannot read directory");
    expect(await hashTree(app.appDir)).toEqual(before);

    // Put right, and the release's hook (which would do it again) gone: the next run installs.
    spawnSync("chattr", ["-i", stateDir]);
    await app.release("v2-fixed", 'version: "2.0.0"\n', { "app.txt": "v2\n" });
    const next = await runShip(["--config", app.config]);
    expect(next.code, next.stdout + next.stderr).toBe(0);
    expect((await hashTree(app.appDir))["app.txt"]).not.toBe(before["app.txt"]);
  });

  // The JSON log said the state file's message four times: the step's failure, "could not record
  // why the update failed" (the same write, failing the same way), the outcome, and "could not record
  // the outcome". The two retries now point at it instead of repeating it.
  it("the JSON log says the state file's message with the step's failure and the outcome only", async (ctx) => {
    if (!chattrWorks) ctx.skip();
    await installV1ThenHookV2(`chattr +i ${stateDir}`);
    const run = await runShip(["--config", app.config]);
    expect(run.code, run.stdout + run.stderr).toBe(2);
    const message = `${stateDir}/state.json (ship's state file) cannot be written`;
    const json = (run.stdout + run.stderr)
      .split("\n")
      .filter((line) => line.startsWith("{"))
      .map((line) => JSON.parse(line) as { msg: string; reason?: string; error?: string });
    const saying = json.filter((l) => JSON.stringify(l).includes(message));
    expect(saying.map((l) => l.msg.split(":")[0])).toEqual(["step apply failed", "myapp"]);
    const notRecorded = json.find((l) => l.msg === "could not record the outcome in the state file");
    expect(notRecorded?.error).toBe("the reason the run failed, above");
  });
});
