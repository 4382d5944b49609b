/**
 * `ship agent` that stops at start after taking its lock (here: a desired-state file that is not
 * JSON) gives the lock back. It was left behind, and the next start warned "taking over a stale
 * lock" as if a daemon had been killed.
 */
import { existsSync } from "node:fs";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, expect, it } from "vitest";
import { runShip } from "../../support/ship-cli.js";
import { type LocalApp, localApp } from "../cli/local-app.js";

let app: LocalApp;
beforeEach(async () => {
  app = await localApp();
  await app.release("r1", 'version: "1.0.0"\n');
  // A hub nobody listens on: the start stops before it connects.
  await writeFile(join(app.root, "hub.token"), "x.y.z\n", { mode: 0o600 });
  await writeFile(
    app.config,
    `${await readFile(app.config, "utf8")}[hub]\nurl = "http://127.0.0.1:9"\ntoken_file = "${join(app.root, "hub.token")}"\nagent_id = "a1"\n`,
    { mode: 0o600 },
  );
});
afterEach(async () => app.cleanup());

it("a start refused after the lock was taken exits 2 naming the file and leaves no agent.lock", async () => {
  const desired = join(app.root, "var/daemon/desired.json");
  await mkdir(join(app.root, "var/daemon"), { recursive: true });
  await writeFile(desired, "{broken", { mode: 0o600 });
  const run = await runShip(["agent", "--config", app.config]);
  expect(run.code, run.stderr).toBe(2);
  expect(run.stderr).toContain(`ship: ${desired} is not valid JSON`);
  expect(existsSync(join(app.root, "var/locks/agent.lock"))).toBe(false);
});
