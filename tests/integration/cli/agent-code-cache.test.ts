/**
 * `ship agent` starts through a V8 code cache as the quick commands do (its own bundle,
 * bundle/agent-<hash>.cjs, key "agent"): the cache is written when a started daemon stops, not by a
 * start refused at the config (that cache would hold the config reader alone), and the next start
 * uses it as it is. On a copy of the CLI, so no other test's cache is in the way.
 */
import { spawn } from "node:child_process";
import { mkdir, mkdtemp, readdir, rm, stat, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startAndStopAgent } from "../../support/agent-start-stop.js";
import { copyCliWithoutCaches } from "../../support/cli-copy.js";
import { SHIP_BIN } from "../../support/ship-cli.js";

let root: string;
let cli: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "ship-agent-cache-"));
  cli = join(root, "cli");
  await copyCliWithoutCaches(SHIP_BIN, cli);
  // The packages the bundle leaves out (ws, ssh2…) load from node_modules, found above the bundle.
  await symlink(resolve(dirname(SHIP_BIN), "../../../node_modules"), join(root, "node_modules"));
  await writeFile(join(root, "hub.token"), "agent-code-cache-token\n", { mode: 0o600 });
  await mkdir(join(root, "app"));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

function config(extra: string): Promise<string> {
  const file = join(root, "ship.toml");
  return writeFile(
    file,
    `[general]\nstate_file = "${root}/var/state.json"\nbackup_dir = "${root}/var/backups"\n${extra}\n` +
      `[hub]\nurl = "http://127.0.0.1:9"\ntoken_file = "${root}/hub.token"\nagent_id = "cached"\n\n` +
      `[sources.app]\ntype = "hub"\napp_dir = "${root}/app"\n`,
  ).then(() => file);
}

/** `ship agent` from the copy, stopped by SIGTERM once it logged its start (if it does). */
function agent(file: string): Promise<{ code: number | null; stderr: string }> {
  return startAndStopAgent(join(cli, "main.cjs"), ["--config", file], {
    env: { ...process.env, NODE_OPTIONS: "" },
  });
}

async function agentCache(): Promise<string | undefined> {
  const name = (await readdir(join(cli, "bundle"))).find((f) => /^agent-.*\.cjs\.agent\.v8cache$/.test(f));
  return name === undefined ? undefined : join(cli, "bundle", name);
}

describe("ship agent's code cache", () => {
  it("is written by a started daemon's stop, not by a refused start, and used by the next start", async () => {
    const refused = await agent(await config("min_interval_hours = -1"));
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain("min_interval_hours");
    expect(await agentCache()).toBeUndefined();

    const file = await config("");
    const first = await agent(file);
    expect(first).toMatchObject({ code: 0 });
    const cache = await agentCache();
    expect(cache).toBeDefined();
    const written = await stat(cache ?? "", { bigint: true });

    // Used, not rewritten: the same file, untouched.
    const second = await agent(file);
    expect(second.code).toBe(0);
    expect(second.stderr).toContain('"agent started"');
    const after = await stat(cache ?? "", { bigint: true });
    expect([after.ino, after.mtimeNs]).toEqual([written.ino, written.mtimeNs]);
  }, 120_000);

  it("is not written by another command holding the word agent (a manifest file named agent)", async () => {
    await rm((await agentCache()) ?? join(root, "none"), { force: true });
    await writeFile(join(root, "agent"), 'version: "1.0.0"\n');
    const checked = await new Promise<{ code: number | null; out: string }>((done, reject) => {
      const child = spawn(
        process.execPath,
        [join(cli, "main.cjs"), "--config", join(root, "ship.toml"), "--test-manifest", "agent"],
        { cwd: root, stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, NODE_OPTIONS: "" } },
      );
      let out = "";
      child.stdout.on("data", (chunk) => (out += chunk));
      child.stderr.on("data", (chunk) => (out += chunk));
      child.on("error", reject);
      child.on("close", (code) => done({ code, out }));
    });
    expect(checked.code, checked.out).toBe(0);
    expect(checked.out).toContain("valid manifest for version 1.0.0");
    // Its cache would have held the manifest check's compile, used as it is by every later start.
    expect(await agentCache()).toBeUndefined();
    expect((await agent(await config(""))).code).toBe(0);
    expect(await agentCache()).toBeDefined();
  }, 120_000);
});
