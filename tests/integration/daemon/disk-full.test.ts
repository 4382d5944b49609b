/**
 * A full disk under the agent's state directory (a real 2 MB tmpfs) in hub mode: the hub always
 * hears what happened, nothing partial stays behind, and the app is untouched.
 */
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { create as createTar } from "tar";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { AgentDaemon, daemonDir } from "../../../agent/daemon/agent-daemon.js";
import { DesiredStateStore } from "../../../agent/daemon/desired-state.js";
import { runOnce } from "../../../agent/pipeline/index.js";
import { AgentConfig } from "../../../shared/config/schema.js";
import { memoryLogger } from "../../../shared/log.js";
import type { Deploy, DeployRelease } from "../../../shared/protocol/messages.js";
import { APP, writeRelease } from "../../e2e/fleet.js";
import { mountTmpfs, unmountTmpfs } from "../../support/tmpfs.js";
import { ScriptedHub } from "./scripted-hub.js";

let dir: string;
let stateRoot: string;
let mounted = false;
let hub: ScriptedHub;
let config: AgentConfig;
let daemon: AgentDaemon | undefined;

/** Every file under `root` (relative), to prove nothing partial stayed. */
async function filesUnder(root: string, rel = ""): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(join(root, rel), { withFileTypes: true })) {
    const path = rel === "" ? e.name : `${rel}/${e.name}`;
    if (e.isDirectory()) out.push(...(await filesUnder(root, path)));
    else out.push(path);
  }
  return out;
}

async function release(version: string, bigBytes: number): Promise<DeployRelease> {
  const tree = join(dir, "releases", version);
  await writeRelease(tree, { version });
  await writeFile(join(tree, "blob.bin"), randomBytes(bigBytes));
  const file = `${tree}.tar.gz`;
  await createTar({ gzip: true, file, cwd: tree, portable: true }, ["."]);
  const path = `/files/${version}.tar.gz`;
  const sha256 = await hub.serve(path, file);
  return {
    id: `release-${version}`,
    app: APP,
    version,
    manifest: await readFile(join(tree, "update-manifest.yaml"), "utf8"),
    source: { type: "http", url: `${hub.url}${path}`, sha256 },
  };
}

const deploy = (deploymentId: string, r: DeployRelease): Deploy => ({
  type: "deploy",
  v: 1,
  deploymentId,
  app: APP,
  release: r,
  rollback: false,
});

async function startDaemon(maxAttempts?: number): Promise<void> {
  daemon = new AgentDaemon({
    config,
    agentId: "host-1",
    token: "agent-token-for-host-1",
    log: memoryLogger([]),
    delayScale: 0,
    retryDelayMs: 0,
    reconnectBaseMs: 50,
    retryLaterMs: 100,
    ...(maxAttempts === undefined ? {} : { maxAttempts }),
  });
  await daemon.start();
}

const reportFor = (id: string) => hub.messages("report").find((r) => r.deploymentId === id);
const appVersion = async () => (await readFile(join(dir, "app", "app.txt"), "utf8")).trim();

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "ship-disk-full-"));
  stateRoot = join(dir, "state");
  await mkdir(stateRoot);
  mounted = mountTmpfs(stateRoot, "2m");
  if (!mounted) return;
  hub = await ScriptedHub.start();
  const v1 = join(dir, "releases", "1.0.0");
  await writeRelease(v1, { version: "1.0.0" });
  await mkdir(join(dir, "app"));
  await writeFile(join(dir, "token"), "agent-token-for-host-1\n", { mode: 0o600 });
  config = AgentConfig.parse({
    general: { state_file: join(stateRoot, "ship-state.json"), backup_dir: join(stateRoot, "backups") },
    sources: { [APP]: { type: "local", app_dir: join(dir, "app"), path: v1 } },
    hub: { url: hub.url, token_file: join(dir, "token"), agent_id: "host-1" },
  });
  expect((await runOnce(config, { force: true, checkOnly: false, log: memoryLogger() })).exitCode).toBe(0);
}, 60_000);

afterEach(async () => {
  await daemon?.stop();
  daemon = undefined;
});

afterAll(async () => {
  await hub?.close();
  if (mounted) unmountTmpfs(stateRoot);
  await rm(dir, { recursive: true, force: true });
});

describe("a full disk under the agent's state directory (real tmpfs, hub mode)", () => {
  it("a download that fills the disk: the hub gets a failed report naming it, the partial download is gone", {
    timeout: 60_000,
  }, async (ctx) => {
    if (!mounted) return ctx.skip();
    await startDaemon();
    hub.send(deploy("d-big", await release("2.0.0", 3 * 1024 * 1024)));
    await hub.until("report d-big", () => reportFor("d-big") !== undefined, 40_000);
    expect(reportFor("d-big")).toMatchObject({
      outcome: "failed",
      fromVersion: "1.0.0",
      error: expect.stringMatching(/no space left on device \(ENOSPC\)/),
    });
    expect(reportFor("d-big")?.error).not.toMatch(/ENOSPC: no space/);
    expect(await appVersion()).toBe("1.0.0");
    const left = await filesUnder(stateRoot);
    expect(left.filter((f) => /downloads\/|\.staging\/|\.tmp$/.test(f))).toEqual([]);
    // Once the partial download was removed there was room again to record what happened.
    const state = JSON.parse(await readFile(join(stateRoot, "ship-state.json"), "utf8"));
    expect(state.sources[APP]).toMatchObject({
      current_version: "1.0.0",
      last_error: expect.stringMatching(/ENOSPC/),
    });
  });

  it("when even the instruction cannot be recorded, the hub still hears why at once", {
    timeout: 60_000,
  }, async (ctx) => {
    if (!mounted) return ctx.skip();
    const filler = join(stateRoot, "filler");
    await writeFile(filler, Buffer.alloc(4 * 1024 * 1024)).catch(() => undefined); // fills what is left
    try {
      await startDaemon();
      hub.send(deploy("d-full", await release("2.1.0", 10)));
      await hub.until("report d-full", () => reportFor("d-full") !== undefined, 40_000);
      expect(reportFor("d-full")).toMatchObject({
        outcome: "failed",
        error: expect.stringMatching(
          /could not record the instruction: cannot write .*desired\.json: no space left on device \(ENOSPC\)/,
        ),
      });
      expect(await appVersion()).toBe("1.0.0");
    } finally {
      await rm(filler, { force: true });
    }
  });
});

describe("an instruction the agent stopped in the middle of too often", () => {
  it("is reported failed and its staged release and partial download are removed", {
    timeout: 60_000,
  }, async (ctx) => {
    if (!mounted) return ctx.skip();
    const staging = join(stateRoot, "work", `${APP}.staging`);
    const partial = join(stateRoot, "sources", APP, "downloads", `${APP}.hub.artifact`);
    await mkdir(staging, { recursive: true });
    await writeFile(join(staging, "half.txt"), "left by a killed run");
    await mkdir(join(partial, ".."), { recursive: true });
    await writeFile(partial, "partial");
    const store = new DesiredStateStore(join(daemonDir(config), "desired.json"));
    await store.put(deploy("d-killed", await release("2.2.0", 10)), new Date());
    for (let i = 0; i < 3; i++) await store.startAttempt(APP, "d-killed");
    await startDaemon();
    await hub.until("report d-killed", () => reportFor("d-killed") !== undefined, 40_000);
    expect(reportFor("d-killed")).toMatchObject({
      outcome: "failed",
      error: expect.stringMatching(/stopped 3 times/),
    });
    expect(existsSync(staging)).toBe(false);
    expect(existsSync(partial)).toBe(false);
  });
});
