/**
 * Directories an update removes come back as they were, met by real `ship` runs as root. The
 * operator gave the app's `plugins/` to its own user (`chown -R 1234:4321 plugins; chmod 770
 * plugins`); v2 drops it. Every way back — `ship --rollback`, the automatic restore after a failed
 * health check, the undo of an apply that failed half-way, and a rollback of a
 * `cleanup.remove_directories` — recreated it as root:root 755 (and `plugins` with mkdir's defaults
 * when `plugins/sub` came back first), so the app could no longer write in its own directory while
 * ship said the previous version was back. Now each comes back with its owner and mode.
 */
import { chmod, chown, lstat } from "node:fs/promises";
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

async function owners(): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const rel of ["plugins", "plugins/sub"]) {
    const s = await lstat(join(app.appDir, rel));
    out[rel] = `${s.uid}:${s.gid} ${(s.mode & 0o7777).toString(8)}`;
  }
  return out;
}

const GIVEN = { plugins: "1234:4321 770", "plugins/sub": "1234:4321 2750" };

/** v1 installs plugins/sub/a.txt; the operator hands plugins/ to the app's user. */
async function installV1(): Promise<void> {
  await app.release("r1", `version: "1.0.0"\n`, { "app.txt": "v1\n", "plugins/sub/a.txt": "a\n" });
  expect((await runShip(["--config", app.config])).code).toBe(0);
  for (const rel of ["plugins", "plugins/sub", "plugins/sub/a.txt"])
    await chown(join(app.appDir, rel), 1234, 4321);
  await chmod(join(app.appDir, "plugins"), 0o770);
  await chmod(join(app.appDir, "plugins/sub"), 0o2750);
  expect(await owners()).toEqual(GIVEN);
}

async function rollbackNewest(): Promise<void> {
  const list = await runShip(["--config", app.config, "--list-backups", "--json"]);
  const [newest] = JSON.parse(list.stdout) as { id: string }[];
  const back = await runShip(["--config", app.config, "--rollback", String(newest?.id)]);
  expect(back.code, back.stdout + back.stderr).toBe(0);
}

describe("a removed directory comes back with its owner and mode (real CLI as root)", () => {
  it("ship --rollback of the update that dropped it", async (ctx) => {
    if (process.getuid?.() !== 0) return ctx.skip();
    await installV1();
    await app.release("r2", `version: "2.0.0"\n`, { "app.txt": "v2\n" });
    expect((await runShip(["--config", app.config])).code).toBe(0);
    await rollbackNewest();
    expect(await owners()).toEqual(GIVEN);
  });

  it("the automatic restore after a failed post_update test", async (ctx) => {
    if (process.getuid?.() !== 0) return ctx.skip();
    await installV1();
    await app.release(
      "r2",
      `version: "2.0.0"\npost_update_tests:\n  - name: health\n    command: "exit 1"\n`,
      { "app.txt": "v2\n" },
    );
    const run = await runShip(["--config", app.config]);
    expect(run.code, run.stdout + run.stderr).toBe(1);
    expect(await owners()).toEqual(GIVEN);
  });

  it("the undo of an apply that failed half-way", async (ctx) => {
    if (process.getuid?.() !== 0) return ctx.skip();
    await installV1();
    await app.release("r2", `version: "2.0.0"\n`, { "app.txt": "v2\n", "b.txt": "b\n" });
    const run = await runShip(["--config", app.config], { env: { SHIP_FAULT: "apply:file@3:error" } });
    expect(run.code, run.stdout + run.stderr).toBe(1);
    expect(run.stdout).toContain("restored the previous version");
    expect(await owners()).toEqual(GIVEN);
  });

  it("a rollback of what cleanup.remove_directories took", async (ctx) => {
    if (process.getuid?.() !== 0) return ctx.skip();
    await installV1();
    await app.release("r2", `version: "2.0.0"\ncleanup:\n  remove_directories: ["plugins"]\n`, {
      "app.txt": "v2\n",
      "plugins/sub/a.txt": "a\n",
    });
    expect((await runShip(["--config", app.config])).code).toBe(0);
    await rollbackNewest();
    expect(await owners()).toEqual(GIVEN);
  });
});
