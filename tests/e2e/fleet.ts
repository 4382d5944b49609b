/**
 * A whole fleet for end-to-end tests: a real `ship-hub serve` process and N real `ship agent`
 * processes (each its own process group, app dir, state and ship.toml) in one temp dir, talking
 * over a real WebSocket. close() kills every process group and removes the dir, also after a
 * failed test.
 */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { existsSync, openSync } from "node:fs";
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { create as createTar } from "tar";
import { stringify } from "yaml";
import { runOnce } from "../../agent/pipeline/index.js";
import { AgentConfig } from "../../shared/config/schema.js";
import { memoryLogger } from "../../shared/log.js";
import { mintTokens } from "../support/mint-tokens.js";
import { freePort } from "../support/servers/free-port.js";
import { runShip } from "../support/ship-cli.js";
import { waitFor } from "../support/wait-for.js";

const execFileAsync = promisify(execFile);
const HUB_MAIN = resolve("dist/hub/cli/main.js");
const SHIP_MAIN = resolve("dist/agent/cli/main.cjs");
export const APP = "sample";

export interface AgentHandle {
  id: string;
  root: string;
  appDir: string;
  configFile: string;
  labels: Record<string, string>;
  process: ChildProcess | undefined;
}

export interface FleetOptions {
  agents: number;
  labels?: (index: number) => Record<string, string>;
  /** hub.toml overrides, e.g. offline_timeout_seconds. */
  hub?: Record<string, number | string>;
  /** Public keys every agent trusts (`[trust] key_files`): they then refuse unsigned releases. */
  trustKeyFiles?: string[];
  /** Agents declare the app `type = "hub"` (hub releases only) instead of a local source. */
  hubOnly?: boolean;
}

export interface ReleaseSpec {
  version: string;
  /** Shell command of the post_update_test; default checks app.txt names the version. */
  test?: string;
  /** The post_update_test's timeout in seconds (10). */
  testTimeout?: number;
  /** Extra files in the release. */
  files?: Record<string, string>;
  preUpdate?: string[];
  /** The manifest's `notifications` (on_success / on_failure lists). */
  notifications?: Record<string, unknown[]>;
  /** The manifest's `conditionals` (condition, action, message, manual_steps). */
  conditionals?: Record<string, unknown>[];
}

type Json = Record<string, unknown>;

export class Fleet {
  hubUrl = "";
  operator = "";
  ci = "";
  readonly agents: AgentHandle[] = [];
  private hub: ChildProcess | undefined;
  private port = 0;

  private constructor(readonly dir: string) {}

  static async start(options: FleetOptions): Promise<Fleet> {
    for (const main of [HUB_MAIN, SHIP_MAIN])
      if (!existsSync(main)) throw new Error(`${main} missing: build first (npx tsc -p tsconfig.json)`);
    const fleet = new Fleet(await mkdtemp(join(tmpdir(), "ship-e2e-")));
    try {
      await fleet.setUp(options);
      return fleet;
    } catch (error) {
      await fleet.close();
      throw error;
    }
  }

  private async setUp(options: FleetOptions): Promise<void> {
    const dataDir = join(this.dir, "hub-data");
    const hubToml = {
      host: "127.0.0.1",
      data_dir: dataDir,
      tick_interval_seconds: 0.2,
      ping_interval_seconds: 5,
      log_level: "warn",
      ...options.hub,
    };
    await mkdir(dataDir, { recursive: true });
    await writeFile(join(this.dir, "hub.toml"), tomlOf(hubToml));
    const ids = Array.from({ length: options.agents }, (_, i) => `agent-${i + 1}`);
    // The operator's token as an operator makes it (`ship-hub token create`, the same build as the
    // hub), which creates the hub's secret; the others are issued with it by the hub's own token
    // service in one process (a CLI call per token is a node start each) while the agents install v1.
    this.operator = (
      await execFileAsync(process.execPath, [
        HUB_MAIN,
        "token",
        "create",
        "--config",
        join(this.dir, "hub.toml"),
        "--role",
        "operator",
      ])
    ).stdout.trim();
    const minted = mintTokens(dataDir, [
      { role: "ci" },
      ...ids.map((agentId) => ({ role: "agent" as const, agentId })),
    ]);
    minted.catch(() => undefined);
    for (const [index, id] of ids.entries()) await this.prepareAgent(id, options.labels?.(index) ?? {});
    const [ci, ...agentTokens] = await minted;
    this.ci = ci ?? "";
    for (const [index, agent] of this.agents.entries())
      await writeFile(join(agent.root, "token"), agentTokens[index] ?? "", { mode: 0o600 });
    this.port = await freePort();
    this.hubUrl = `http://127.0.0.1:${this.port}`;
    for (const agent of this.agents)
      await writeFile(
        agent.configFile,
        agentToml(agent, this.hubUrl, options.trustKeyFiles, options.hubOnly),
      );
    await this.startHub();
    await Promise.all(this.agents.map((_, i) => this.startAgent(i)));
    await this.waitFor("all agents online", async () => {
      const { agents } = await this.api<{ agents: { id: string; online: boolean }[] }>("GET", "/agents");
      return agents.filter((a) => a.online).length === this.agents.length;
    });
  }

  private async prepareAgent(id: string, labels: Record<string, string>): Promise<AgentHandle> {
    const agent = await prepareAgent(this.dir, id, labels);
    this.agents.push(agent);
    return agent;
  }

  async startHub(env: Record<string, string> = {}): Promise<void> {
    const log = openSync(join(this.dir, "hub.log"), "a");
    const child = spawn(
      process.execPath,
      [HUB_MAIN, "serve", "--config", join(this.dir, "hub.toml"), "--port", String(this.port)],
      { detached: true, stdio: ["ignore", "pipe", log], env: { ...process.env, ...env } },
    );
    this.hub = child;
    await new Promise<void>((ok, fail) => {
      let out = "";
      child.stdout?.on("data", (chunk: Buffer) => {
        out += chunk.toString();
        if (out.includes("listening on")) ok();
      });
      child.once("exit", (code) => fail(new Error(`ship-hub exited with ${code}; see ${this.dir}/hub.log`)));
    });
    // "listening on" comes once serve's SIGTERM/SIGINT handlers are installed: a test may stop it at once.
  }

  async stopHub(signal: NodeJS.Signals = "SIGTERM"): Promise<void> {
    await stopProcess(this.hub, signal);
    this.hub = undefined;
  }

  async startAgent(index: number, env: Record<string, string> = {}): Promise<void> {
    const agent = this.agent(index);
    const log = openSync(join(agent.root, "agent.log"), "a");
    agent.process = spawn(process.execPath, [SHIP_MAIN, "agent", "--config", agent.configFile], {
      detached: true,
      stdio: ["ignore", log, log],
      env: { ...process.env, SHIP_AGENT_FAST: "1", ...env },
    });
  }

  async stopAgent(index: number, signal: NodeJS.Signals = "SIGTERM"): Promise<number | null> {
    const agent = this.agent(index);
    const code = await stopProcess(agent.process, signal);
    agent.process = undefined;
    return code;
  }

  agent(index: number): AgentHandle {
    const agent = this.agents[index];
    if (agent === undefined) throw new Error(`no agent ${index}`);
    return agent;
  }

  /** Builds the release as CI would (tar.gz), uploads it and publishes it; returns the release id. */
  async publish(spec: ReleaseSpec): Promise<string> {
    return publishRelease(this.dir, this.hubUrl, this.ci, spec);
  }

  async api<T = Json>(method: string, path: string, body?: unknown, token = this.operator): Promise<T> {
    const res = await fetch(`${this.hubUrl}/api/v1${path}`, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        ...(body === undefined ? {} : { "content-type": "application/json" }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
    return JSON.parse(text) as T;
  }

  /** One wave of every agent, halted by one failure, advancing by itself; the rollout's id. */
  async rolloutToAll(release: string): Promise<string> {
    const { id } = await this.api<{ id: string }>("POST", "/rollouts", {
      release,
      waves: [{ name: "all", percent: 100 }],
      failureThreshold: { count: 1 },
      autoAdvance: true,
    });
    return id;
  }

  async rollout(id: string): Promise<RolloutView> {
    return this.api<RolloutView>("GET", `/rollouts/${id}`);
  }

  waitFor(what: string, check: () => Promise<boolean>, timeoutMs = 45_000): Promise<void> {
    return waitFor(what, check, { timeoutMs, intervalMs: 150, where: `logs in ${this.dir}` });
  }

  /** Turns the app on or off in agent `index`'s ship.toml (`enabled = false`); the agent reads it at start. */
  async setAppEnabled(index: number, enabled: boolean): Promise<void> {
    const { configFile } = this.agent(index);
    const toml = (await readFile(configFile, "utf8")).replace("enabled = false\n", "");
    await writeFile(
      configFile,
      enabled ? toml : toml.replace(`[sources.${APP}]\n`, `[sources.${APP}]\nenabled = false\n`),
    );
  }

  async appVersion(index: number): Promise<string> {
    return (await readFile(join(this.agent(index).appDir, "app.txt"), "utf8")).trim();
  }

  async close(): Promise<void> {
    await Promise.all(this.agents.map((a) => stopProcess(a.process, "SIGKILL")));
    await stopProcess(this.hub, "SIGKILL");
    if (process.env.SHIP_E2E_KEEP !== "1") await rm(this.dir, { recursive: true, force: true });
  }
}

export interface RolloutView {
  id: string;
  state: string;
  reason: string | null;
  currentWave: number;
  counts: Record<string, number>;
  waves: {
    name: string;
    status: string;
    agents: { agentId: string; state: string; error: string | null }[];
  }[];
}

/** App v1 installed the way an operator would: a local source and `ship --force` (in-process here). */
export async function prepareAgent(
  dir: string,
  id: string,
  labels: Record<string, string>,
): Promise<AgentHandle> {
  const root = join(dir, "agents", id);
  const agent: AgentHandle = {
    id,
    root,
    appDir: join(root, "app"),
    configFile: join(root, "ship.toml"),
    labels,
    process: undefined,
  };
  await mkdir(agent.appDir, { recursive: true });
  const v1 = join(dir, "v1");
  if (!existsSync(v1)) await writeRelease(v1, { version: "1.0.0" });
  const config = AgentConfig.parse({
    general: {
      state_file: join(root, "state", "ship-state.json"),
      backup_dir: join(root, "state", "backups"),
      work_dir: join(root, "work"),
    },
    sources: { [APP]: { type: "local", app_dir: agent.appDir, path: v1 } },
  });
  const summary = await runOnce(config, { force: true, checkOnly: false, log: memoryLogger() });
  if (summary.exitCode !== 0) throw new Error(`installing v1 on ${id} failed: ${summary.message}`);
  // The host's own changes an update must keep: a config value and its data.
  await writeFile(join(agent.appDir, "config.toml"), configToml(`host-${id}`));
  await mkdir(join(agent.appDir, "data"), { recursive: true });
  await writeFile(join(agent.appDir, "data", "records.txt"), `records of ${id}\n`);
  return agent;
}

/** Builds the release as CI would (tar.gz), uploads it to `hubUrl` and publishes it; the release id. */
export async function publishRelease(
  dir: string,
  hubUrl: string,
  ci: string,
  spec: ReleaseSpec,
): Promise<string> {
  const releaseDir = join(dir, "releases", spec.version);
  await writeRelease(releaseDir, spec);
  const archive = `${releaseDir}.tar.gz`;
  await createTar({ gzip: true, file: archive, cwd: releaseDir, portable: true }, ["."]);
  const upload = await fetch(`${hubUrl}/api/v1/artifacts`, {
    method: "PUT",
    headers: { authorization: `Bearer ${ci}`, "content-type": "application/octet-stream" },
    body: await readFile(archive),
  });
  if (upload.status !== 201) throw new Error(`upload: ${upload.status} ${await upload.text()}`);
  const { sha256 } = (await upload.json()) as { sha256: string };
  const response = await fetch(`${hubUrl}/api/v1/releases`, {
    method: "POST",
    headers: { authorization: `Bearer ${ci}`, "content-type": "application/json" },
    body: JSON.stringify({
      app: APP,
      version: spec.version,
      manifest: await readFile(join(releaseDir, "update-manifest.yaml"), "utf8"),
      source: { type: "hub", sha256 },
    }),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`POST /releases: ${response.status} ${text}`);
  return (JSON.parse(text) as { id: string }).id;
}

/**
 * CI's steps with the real CLI: `ship release http` builds the archive from the sample app at
 * `version`, `ship release sign --key KEY` signs it when a key is given, `ship release publish`
 * uploads and publishes it. The release id and the archive.
 */
export async function publishWithShipRelease(
  fleet: Fleet,
  version: string,
  key?: string,
): Promise<{ id: string; archive: string }> {
  const src = join(fleet.dir, "ci", version);
  await writeRelease(src, { version });
  const out = join(fleet.dir, "ci", "dist");
  const step = async (args: string[]) => {
    const result = await runShip(args);
    if (result.code !== 0) throw new Error(`ship ${args.join(" ")}: exit ${result.code}: ${result.stderr}`);
    return result.stdout;
  };
  await step(["release", "-C", src, "http", version, `release ${version}`, "--app", APP, "--out", out]);
  const archive = join(out, `${APP}-${version}.tar.gz`);
  const args = ["release", "--json", "publish", "--hub", fleet.hubUrl, "--token", fleet.ci, "--app", APP];
  args.push("--version", version, "--artifact", archive);
  if (key !== undefined) {
    await step(["release", "sign", archive, "--key", key]);
    args.push("--signature", `${archive}.sig`);
  }
  return { id: (JSON.parse(await step(args)) as { id: string }).id, archive };
}

/** Kills the whole process group (the agent's hook children too) and waits for the exit. */
export async function stopProcess(
  child: ChildProcess | undefined,
  signal: NodeJS.Signals,
): Promise<number | null> {
  if (child === undefined || child.pid === undefined) return null;
  if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
  const exited = new Promise<number | null>((ok) => child.once("exit", (code) => ok(code)));
  try {
    process.kill(-child.pid, signal);
  } catch {
    return child.exitCode;
  }
  const timer = setTimeout(() => {
    try {
      process.kill(-(child.pid as number), "SIGKILL");
    } catch {
      // already gone
    }
  }, 15_000);
  const code = await exited;
  clearTimeout(timer);
  return code;
}

export function configToml(name: string, extra = ""): string {
  return `[server]\nport = 8080\nname = "${name}"\n${extra}`;
}

/** The sample app at `spec.version`: code, a config merged preserve_user, data/ preserved, a test. */
export async function writeRelease(dir: string, spec: ReleaseSpec): Promise<void> {
  await mkdir(join(dir, "data"), { recursive: true });
  await writeFile(join(dir, "app.txt"), `${spec.version}\n`);
  const added = spec.version === "1.0.0" ? "" : `# added in ${spec.version}\nworkers = 4\n`;
  await writeFile(join(dir, "config.toml"), configToml("default", added));
  await writeFile(join(dir, "data", "records.txt"), `sample data shipped with ${spec.version}\n`);
  for (const [rel, text] of Object.entries(spec.files ?? {})) {
    await mkdir(join(dir, rel, ".."), { recursive: true });
    await writeFile(join(dir, rel), text);
  }
  const manifest = {
    version: spec.version,
    description: `sample app ${spec.version}`,
    files: { "config.toml": { action: "merge_toml", merge_strategy: "preserve_user" } },
    directories: { data: { preserve: true } },
    hooks: { pre_update: spec.preUpdate ?? [] },
    ...(spec.notifications === undefined ? {} : { notifications: spec.notifications }),
    ...(spec.conditionals === undefined ? {} : { conditionals: spec.conditionals }),
    post_update_tests: [
      {
        name: "app answers with the new version",
        command: spec.test ?? `grep -qx '${spec.version}' app.txt`,
        timeout: spec.testTimeout ?? 10,
      },
    ],
  };
  await writeFile(join(dir, "update-manifest.yaml"), stringify(manifest));
  await chmod(dir, 0o755);
}

export function agentToml(
  agent: AgentHandle,
  hubUrl: string,
  trustKeyFiles: string[] = [],
  hubOnly = false,
): string {
  const labels = Object.entries(agent.labels)
    .map(([k, v]) => `${k} = "${v}"`)
    .join(", ");
  return [
    "[general]",
    `state_file = "${join(agent.root, "state", "ship-state.json")}"`,
    `backup_dir = "${join(agent.root, "state", "backups")}"`,
    `work_dir = "${join(agent.root, "work")}"`,
    "[general.logging]",
    'level = "DEBUG"',
    `[sources.${APP}]`,
    ...(hubOnly
      ? ['type = "hub"', `app_dir = "${agent.appDir}"`]
      : ['type = "local"', `app_dir = "${agent.appDir}"`, `path = "${join(agent.root, "..", "..", "v1")}"`]),
    "[hub]",
    `url = "${hubUrl}"`,
    `token_file = "${join(agent.root, "token")}"`,
    `agent_id = "${agent.id}"`,
    `labels = { ${labels} }`,
    "reconnect_max_seconds = 1",
    ...(trustKeyFiles.length === 0 ? [] : ["[trust]", `key_files = ${JSON.stringify(trustKeyFiles)}`]),
    "",
  ].join("\n");
}

export function tomlOf(values: Record<string, number | string>): string {
  return `${Object.entries(values)
    .map(([k, v]) => `${k} = ${typeof v === "string" ? JSON.stringify(v) : v}`)
    .join("\n")}\n`;
}
