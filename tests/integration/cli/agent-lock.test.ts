/**
 * Two `ship agent` daemons on one state directory (a unit enabled twice, a manual start beside the
 * service): before, both ran, shared the outbox and desired state, and the hub dropped each one's
 * connection for the other's over and over. The second now exits 75 naming the lock and its holder;
 * a daemon stopped with SIGTERM releases the lock, and one SIGKILLed leaves a stale lock the next
 * start takes over. Real processes; the hub is a closed port (the daemon runs without it).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { access, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { runAgentBriefly, SHIP_BIN } from "../../support/ship-cli.js";

let root: string;
let config: string;
const children: ChildProcess[] = [];

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), "ship-agent-lock-"));
  await mkdir(join(root, "app"));
  await mkdir(join(root, "release"));
  await writeFile(join(root, "release/update-manifest.yaml"), 'version: "1.0.0"\n');
  await writeFile(join(root, "hub.token"), "token\n", { mode: 0o600 });
  config = join(root, "ship.toml");
  await writeFile(
    config,
    `[general]\nstate_file = "${root}/var/state.json"\nbackup_dir = "${root}/var/backups"\n\n` +
      `[sources.myapp]\ntype = "local"\npath = "${root}/release"\napp_dir = "${root}/app"\n\n` +
      `[hub]\nurl = "http://127.0.0.1:1"\ntoken_file = "${root}/hub.token"\nagent_id = "a1"\n`,
  );
});
afterEach(async () => {
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill("SIGKILL");
  await rm(root, { recursive: true, force: true });
});

/** Starts `ship agent` and resolves once it logged "agent started". */
function startAgent(): Promise<ChildProcess> {
  const child = spawn(process.execPath, [SHIP_BIN, "agent", "--config", config], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  children.push(child);
  let output = "";
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`agent did not start:\n${output}`)), 20_000);
    const take = (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('"msg":"agent started"')) {
        clearTimeout(timer);
        resolve(child);
      }
    };
    child.stdout?.on("data", take);
    child.stderr?.on("data", take);
    child.on("exit", (code) => reject(new Error(`agent exited ${code}:\n${output}`)));
  });
}

const exited = (child: ChildProcess) =>
  new Promise<void>((resolve) => (child.exitCode !== null ? resolve() : child.on("exit", () => resolve())));

describe("ship agent: one daemon per state directory (real processes)", () => {
  it("a second daemon exits 75 naming the lock and the first one's pid; SIGTERM frees the lock", async () => {
    const first = await startAgent();
    const second = await runAgentBriefly(config);
    expect(second.code).toBe(75);
    const lines = second.stderr.trim().split("\n");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(
      new RegExp(`^ship: another ship run holds ${root}/var/locks/agent\\.lock \\(pid ${first.pid} on `),
    );
    first.kill("SIGTERM");
    await exited(first);
    await expect(access(join(root, "var/locks/agent.lock"))).rejects.toThrow();
    // And the next daemon starts.
    await startAgent();
  }, 60_000);

  it("a daemon SIGKILLed leaves a stale lock that the next start takes over", async () => {
    const first = await startAgent();
    first.kill("SIGKILL");
    await exited(first);
    await access(join(root, "var/locks/agent.lock"));
    await startAgent();
  }, 60_000);
});
