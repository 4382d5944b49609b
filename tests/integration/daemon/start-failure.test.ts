/**
 * `ship agent` that stops at start after taking its lock (here: a desired-state file that is not
 * JSON) gives the lock back. It was left behind, and the next start warned "taking over a stale
 * lock" as if a daemon had been killed.
 */
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { afterEach, beforeEach, expect, it } from "vitest";
import { runShip, SHIP_BIN } from "../../support/ship-cli.js";
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

it("a desired-state file that is not JSON: the line says the way out, and following it the agent starts", async () => {
  const desired = join(app.root, "var/daemon/desired.json");
  await mkdir(join(app.root, "var/daemon"), { recursive: true });
  await writeFile(desired, "{broken", { mode: 0o600 });
  const refused = await runShip(["agent", "--config", app.config]);
  expect(refused.code).toBe(2);
  // One line (the recovery's log line comes before it).
  const line = refused.stderr
    .trim()
    .split("\n")
    .filter((l) => l.startsWith("ship: "));
  const way = `mv ${desired} ${desired}.corrupt`;
  expect(line).toEqual([expect.stringContaining(`move it aside (${way}) and start ship agent again`)]);

  // Doing what it says: the agent starts (and keeps trying its hub) instead of exit 2.
  await rename(desired, `${desired}.corrupt`);
  const agent = spawn(process.execPath, [SHIP_BIN, "agent", "--config", app.config], {
    stdio: ["ignore", "ignore", "pipe"],
  });
  let stderr = "";
  agent.stderr.on("data", (d) => {
    stderr += d;
  });
  const exited = new Promise<number | null>((ok) => agent.on("exit", (code) => ok(code)));
  const deadline = Date.now() + 20_000;
  while (!stderr.includes("agent started") && agent.exitCode === null && Date.now() < deadline)
    await sleep(50);
  expect(stderr).toContain("agent started");
  agent.kill("SIGTERM");
  expect(await exited).toBe(0);
});
