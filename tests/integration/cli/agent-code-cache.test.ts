/**
 * `ship agent` starts through a V8 code cache as the quick commands do (its own bundle,
 * bundle/agent-<hash>.cjs, key "agent"): the cache is written once a started daemon announced itself
 * to the hub, or at its end however it ends (exit 75 for an edited ship.toml too), not by a start
 * refused at the config (that cache would hold the config reader alone) nor for a bundle an upgrade
 * replaced, and the next start uses it as it is. On a copy of the CLI, so no other test's cache is in
 * the way.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { cp, mkdir, mkdtemp, readdir, rename, rm, stat, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Fleet } from "../../e2e/fleet.js";
import { startAndStopAgent } from "../../support/agent-start-stop.js";
import { copyCliWithoutCaches } from "../../support/cli-copy.js";
import { mintTokens } from "../../support/mint-tokens.js";
import { SHIP_BIN } from "../../support/ship-cli.js";
import { waitFor } from "../../support/wait-for.js";

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

function config(extra: string, hubUrl = "http://127.0.0.1:9"): Promise<string> {
  const file = join(root, "ship.toml");
  return writeFile(
    file,
    `[general]\nstate_file = "${root}/var/state.json"\nbackup_dir = "${root}/var/backups"\n${extra}\n` +
      `[hub]\nurl = "${hubUrl}"\ntoken_file = "${root}/hub.token"\nagent_id = "cached"\n\n` +
      `[sources.app]\ntype = "hub"\napp_dir = "${root}/app"\n`,
  ).then(() => file);
}

/** `ship agent` from the copy, stopped by SIGTERM once it logged its start (if it does). */
function agent(file: string): Promise<{ code: number | null; stderr: string }> {
  return startAndStopAgent(join(cli, "main.cjs"), ["--config", file], {
    env: { ...process.env, NODE_OPTIONS: "" },
  });
}

/** `ship agent` from the copy, left running: its stderr so far, and its exit once it ends. */
function runningAgent(file: string): {
  child: ChildProcess;
  stderr: () => string;
  exit: Promise<number | null>;
} {
  const child = spawn(process.execPath, [join(cli, "main.cjs"), "agent", "--config", file], {
    stdio: ["ignore", "ignore", "pipe"],
    env: { ...process.env, NODE_OPTIONS: "", SHIP_AGENT_FAST: "1" },
  });
  let stderr = "";
  child.stderr?.on("data", (chunk) => (stderr += chunk));
  const exit = new Promise<number | null>((done) => child.on("close", (code) => done(code)));
  return { child, stderr: () => stderr, exit };
}

function until(what: string, check: () => Promise<boolean> | boolean, where: () => string): Promise<void> {
  return waitFor(what, async () => check(), { timeoutMs: 60_000, intervalMs: 100, where: where() });
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

  it("is written by a daemon that ends with 75 for an edited ship.toml, and used by its restart", async () => {
    await rm((await agentCache()) ?? join(root, "none"), { force: true });
    const file = await config("");
    const daemon = runningAgent(file);
    await until("the agent's start", () => daemon.stderr().includes('"agent started"'), daemon.stderr);
    await config("min_interval_hours = 1");
    // Under systemd this is the end of most daemons: Restart=on-failure starts it again with the edit.
    expect(await daemon.exit, daemon.stderr()).toBe(75);
    expect(daemon.stderr()).toContain("changed since this agent read it");
    const cache = await agentCache();
    expect(cache, "no code cache after exit 75: the restart compiles the whole daemon again").toBeDefined();
    const written = await stat(cache ?? "", { bigint: true });
    expect((await agent(file)).code).toBe(0);
    const after = await stat(cache ?? "", { bigint: true });
    expect([after.ino, after.mtimeNs]).toEqual([written.ino, written.mtimeNs]);
  }, 120_000);

  it("is written once the daemon announced itself to a real hub, so a SIGKILLed daemon leaves it", async () => {
    await rm((await agentCache()) ?? join(root, "none"), { force: true });
    const fleet = await Fleet.start({ agents: 0 });
    let running: ChildProcess | undefined;
    try {
      const [token] = await mintTokens(join(fleet.dir, "hub-data"), [{ role: "agent", agentId: "cached" }]);
      await writeFile(join(root, "hub.token"), `${token}\n`, { mode: 0o600 });
      const daemon = runningAgent(await config("", fleet.hubUrl));
      running = daemon.child;
      await until(
        "the hub lists the agent online",
        async () => {
          const { agents } = await fleet.api<{ agents: { id: string; online: boolean }[] }>("GET", "/agents");
          return agents.some((a) => a.id === "cached" && a.online);
        },
        daemon.stderr,
      );
      await until("the agent's code cache", async () => (await agentCache()) !== undefined, daemon.stderr);
      // systemd's SIGKILL at TimeoutStopSec, the OOM killer, a crash: no end of its own.
      daemon.child.kill("SIGKILL");
      await daemon.exit;
      expect(await agentCache()).toBeDefined();
    } finally {
      running?.kill("SIGKILL");
      await fleet.close();
      await writeFile(join(root, "hub.token"), "agent-code-cache-token\n", { mode: 0o600 });
    }
  }, 120_000);

  it("is not written by a daemon whose bundle an upgrade replaced: it names a build no longer there", async () => {
    await rm((await agentCache()) ?? join(root, "none"), { force: true });
    const daemon = runningAgent(await config(""));
    await until("the agent's start", () => daemon.stderr().includes('"agent started"'), daemon.stderr);
    // The upgrade: the package's files replaced by another build's, whose hash-named bundle differs.
    await copyCliWithoutCaches(SHIP_BIN, join(root, "new-cli"));
    const newBundle = join(root, "new-cli", "bundle");
    const agentBundle = (await readdir(newBundle)).find((f) => /^agent-.*\.cjs$/.test(f)) ?? "";
    await rename(join(newBundle, agentBundle), join(newBundle, "agent-NEWBUILD.cjs"));
    await rename(join(cli, "bundle"), join(root, "bundle-old"));
    await cp(newBundle, join(cli, "bundle"), { recursive: true });
    expect(await daemon.exit, daemon.stderr()).toBe(75);
    expect(daemon.stderr()).toContain("ship was upgraded under this agent");
    // Neither in the new package (named for a build not there) nor beside the old bundle.
    expect(await agentCache()).toBeUndefined();
    expect((await readdir(join(root, "bundle-old"))).filter((f) => f.endsWith(".v8cache"))).toEqual([]);
  }, 120_000);
});
