/**
 * A hub cluster for tests: one real PostgreSQL, N real `ship-hub serve` processes from dist/ on
 * free 127.0.0.1 ports (`--database-url`, one shared secret file), a TCP balancer in front of them
 * as a production cluster has, and agents: real `ship agent` processes (tests/e2e/fleet.ts) for
 * what only the real agent shows, and the WebSocket load generator of the benchmarks
 * (tests/performance/load-agents.mjs) for many agents. A hub can be SIGKILLed and started again
 * on its port. close() kills every process and removes the database server and the temp dir.
 */
import { type ChildProcess, execFile, type SpawnOptions, spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, openSync, rmSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import postgres from "postgres";
import {
  type AgentHandle,
  agentToml,
  prepareAgent,
  publishRelease,
  type ReleaseSpec,
  stopProcess,
  tomlOf,
} from "../e2e/fleet.js";
import { mintTokens, type TokenSpec } from "./mint-tokens.js";
import { requireFound } from "./require-program.js";
import { freePort } from "./servers/free-port.js";
import { hasPostgres, type PostgresServer, startPostgres } from "./servers/postgres.js";
import { startTcpBalancer, type TcpBalancer } from "./servers/tcp-balancer.js";
import { waitFor } from "./wait-for.js";

const execFileAsync = promisify(execFile);
const HUB_MAIN = resolve("dist/hub/cli/main.js");
const SHIP_MAIN = resolve("dist/agent/cli/main.cjs");
const LOAD_AGENTS = resolve("tests/performance/load-agents.mjs");
const MINT_TOKENS = resolve("tests/performance/mint-tokens.mjs");

/**
 * Whether this build's hub commands run on PostgreSQL: the build before that wiring refuses
 * --database-url with "not wired" (a wired build fails differently here: nothing listens on port 1).
 */
export function clusterModeWired(): boolean {
  if (!existsSync(HUB_MAIN)) return false;
  const dataDir = mkdtempSync(join(tmpdir(), "ship-probe-"));
  try {
    const probe = spawnSync(
      process.execPath,
      [HUB_MAIN, "token", "list", "--database-url", "postgres://ship@127.0.0.1:1/none"],
      {
        encoding: "utf8",
        timeout: 20_000,
        env: {
          ...process.env,
          SHIP_HUB_SECRET: "probe-".repeat(8),
          SHIP_HUB_CONFIG: "",
        },
      },
    );
    return !`${probe.stderr}${probe.stdout}`.includes("not wired");
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}

/** Skips loudly (fails under CI=true) without PostgreSQL or without a hub build that uses it. */
export function canRunCluster(): boolean {
  if (!hasPostgres()) return false;
  return requireFound(
    clusterModeWired(),
    "ship-hub in dist/ refuses database_url (PostgreSQL mode not wired, or not built: npm run build)",
  );
}

export interface ClusterOptions {
  hubs: number;
  /** hub.toml overrides for every hub (tick_interval_seconds, offline_timeout_seconds, …). */
  hub?: Record<string, number | string>;
  /** Extra environment for the hub processes. */
  env?: Record<string, string>;
  /** fsync on, as in production (benchmarks); tests leave durability off. */
  durable?: boolean;
  /** More PostgreSQL server settings (`name=value`). */
  postgres?: { settings?: readonly string[] };
  /** Raise the hubs' and load generators' open-file limit to this (thousands of agents). */
  openFiles?: number;
  /** Another build's `ship-hub` (its dist/hub/cli/main.js) for every hub command: a probe's base. */
  hubMain?: string;
}

export interface HubProcess {
  index: number;
  port: number;
  url: string;
  configFile: string;
  logFile: string;
  child: ChildProcess | undefined;
}

export interface ApiAnswer<T> {
  status: number;
  body: T;
}

export class Cluster {
  readonly hubs: HubProcess[] = [];
  readonly agents: AgentHandle[] = [];
  readonly loads: LoadAgents[] = [];
  operator = "";
  ci = "";
  databaseUrl = "";
  /** For assertions straight from the database (events, reports, presence). */
  sql: postgres.Sql | undefined;
  private pg: PostgresServer | undefined;
  private balancer: TcpBalancer | undefined;
  private secret = "";

  private constructor(
    readonly dir: string,
    private readonly options: ClusterOptions,
  ) {}

  /** The dist/ of `options.hubMain` (…/dist/hub/cli/main.js): every hub-side step runs that build. */
  private get hubDist(): string | undefined {
    return this.options.hubMain === undefined ? undefined : resolve(this.options.hubMain, "../../..");
  }

  static async start(options: ClusterOptions): Promise<Cluster> {
    for (const main of [options.hubMain ?? HUB_MAIN, SHIP_MAIN])
      if (!existsSync(main)) throw new Error(`${main} missing: build first (npm run build)`);
    const cluster = new Cluster(await mkdtemp(join(tmpdir(), "ship-cluster-")), options);
    try {
      await cluster.setUp();
      return cluster;
    } catch (error) {
      await cluster.close();
      throw error;
    }
  }

  /** The balancer in front of every live hub: what agents and operators would be given. */
  get frontUrl(): string {
    if (!this.balancer) throw new Error("cluster not started");
    return this.balancer.url;
  }

  /** Connections the balancer handed to each hub so far (by hub index). */
  balancedTo(): number[] {
    return this.hubs.map((hub) => this.balancer?.accepted.get(hub.port) ?? 0);
  }

  private async setUp(): Promise<void> {
    this.pg = await startPostgres({
      durable: this.options.durable ?? false,
      ...(this.options.postgres?.settings ? { settings: this.options.postgres.settings } : {}),
    });
    this.databaseUrl = await this.pg.createDatabase();
    this.sql = postgres(this.databaseUrl, { max: 2, onnotice: () => {} });
    // One secret for every hub: a token any hub signed must verify on every other.
    this.secret = randomBytes(48).toString("base64");
    const secretFile = join(this.dir, "jwt-secret");
    await writeFile(secretFile, this.secret, { mode: 0o600 });
    for (let index = 0; index < this.options.hubs; index++) {
      const dataDir = join(this.dir, `hub-${index}`);
      await mkdir(dataDir, { recursive: true });
      const configFile = join(this.dir, `hub-${index}.toml`);
      await writeFile(
        configFile,
        tomlOf({
          host: "127.0.0.1",
          data_dir: dataDir,
          jwt_secret_file: secretFile,
          tick_interval_seconds: 0.2,
          ping_interval_seconds: 5,
          log_level: "warn",
          ...this.options.hub,
        }),
      );
      const port = await freePort();
      this.hubs.push({
        index,
        port,
        url: `http://127.0.0.1:${port}`,
        configFile,
        logFile: join(this.dir, `hub-${index}.log`),
        child: undefined,
      });
    }
    // The first hub migrates the database; the others then start side by side.
    await this.startHub(0);
    await Promise.all(this.hubs.slice(1).map((hub) => this.startHub(hub.index)));
    this.balancer = await startTcpBalancer(() =>
      this.hubs.filter((hub) => hub.child !== undefined).map((hub) => hub.port),
    );
    [this.operator = "", this.ci = ""] = await this.mintTokens([{ role: "operator" }, { role: "ci" }]);
  }

  /**
   * Tokens for a test's setup, all in one node process with the hubs' secret and database (a
   * `token create` each is a node start each); tests of the command use tokenCreate.
   */
  mintTokens(specs: readonly TokenSpec[]): Promise<string[]> {
    return mintTokens(join(this.dir, "hub-0"), specs, {
      databaseUrl: this.databaseUrl,
      secretFile: join(this.dir, "jwt-secret"),
      ...(this.hubDist === undefined ? {} : { dist: this.hubDist }),
    });
  }

  hub(index: number): HubProcess {
    const hub = this.hubs[index];
    if (!hub) throw new Error(`no hub ${index}`);
    return hub;
  }

  /** `ship-hub token create` against the cluster database, as an operator runs it. */
  async tokenCreate(...args: string[]): Promise<string> {
    const { stdout } = await execFileAsync(process.execPath, [
      this.options.hubMain ?? HUB_MAIN,
      "token",
      "create",
      "--config",
      this.hub(0).configFile,
      "--database-url",
      this.databaseUrl,
      ...args,
    ]);
    return stdout.trim();
  }

  async startHub(index: number): Promise<void> {
    const hub = this.hub(index);
    const log = openSync(hub.logFile, "a");
    const child = spawnNode(
      [
        this.options.hubMain ?? HUB_MAIN,
        "serve",
        "--config",
        hub.configFile,
        "--database-url",
        this.databaseUrl,
        "--port",
        String(hub.port),
      ],
      { detached: true, stdio: ["ignore", "pipe", log], env: { ...process.env, ...this.options.env } },
      this.options.openFiles,
    );
    hub.child = child;
    await new Promise<void>((ok, fail) => {
      let out = "";
      child.stdout?.on("data", (chunk: Buffer) => {
        out += chunk.toString();
        if (out.includes("listening on")) ok();
      });
      child.once("exit", (code, signal) =>
        fail(new Error(`hub ${index} exited (${code ?? signal}) before listening; see ${hub.logFile}`)),
      );
    });
  }

  /** SIGKILL by default: the hub gets no chance to release its agents or finish a transaction. */
  async killHub(index: number, signal: NodeJS.Signals = "SIGKILL"): Promise<void> {
    const hub = this.hub(index);
    await stopProcess(hub.child, signal);
    hub.child = undefined;
  }

  /** An API call on one hub; never throws for a status, so a test can expect 409. */
  async api<T = Record<string, unknown>>(
    index: number,
    method: string,
    path: string,
    body?: unknown,
    token = this.operator,
  ): Promise<ApiAnswer<T>> {
    const res = await fetch(`${this.hub(index).url}/api/v1${path}`, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        ...(body === undefined ? {} : { "content-type": "application/json" }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    return { status: res.status, body: (text ? JSON.parse(text) : {}) as T };
  }

  /** Like api() but throws unless 2xx. */
  async ok<T = Record<string, unknown>>(
    index: number,
    method: string,
    path: string,
    body?: unknown,
    token = this.operator,
  ): Promise<T> {
    const answer = await this.api<T>(index, method, path, body, token);
    if (answer.status >= 300)
      throw new Error(`${method} ${path} on hub ${index}: ${answer.status} ${JSON.stringify(answer.body)}`);
    return answer.body;
  }

  /** A release the sample app's real agents can install, uploaded and published through hub `index`. */
  publish(index: number, spec: ReleaseSpec): Promise<string> {
    return publishRelease(this.dir, this.hub(index).url, this.ci, spec);
  }

  /**
   * Real `ship agent` processes with the sample app v1 installed; agent i talks to `urlOf(i)` (a
   * hub directly, or frontUrl). Resolves once the cluster shows them all online.
   */
  async startRealAgents(count: number, urlOf: (index: number) => string): Promise<AgentHandle[]> {
    const started: AgentHandle[] = [];
    const first = this.agents.length + 1;
    const tokens = await this.mintTokens(
      Array.from({ length: count }, (_, i) => ({ role: "agent" as const, agentId: `agent-${first + i}` })),
    );
    for (let i = 0; i < count; i++) {
      const id = `agent-${first + i}`;
      const agent = await prepareAgent(this.dir, id, {});
      await writeFile(join(agent.root, "token"), tokens[i] ?? "", { mode: 0o600 });
      await writeFile(agent.configFile, agentToml(agent, urlOf(i)));
      this.agents.push(agent);
      started.push(agent);
    }
    for (const agent of started) this.spawnAgent(agent);
    const ids = started.map((a) => a.id);
    await this.waitFor("the real agents online", async () => {
      const online =
        await this.must()`SELECT count(*)::int AS n FROM agents WHERE online AND id IN ${this.must()(ids)}`;
      return online[0]?.n === ids.length;
    });
    return started;
  }

  spawnAgent(agent: AgentHandle): void {
    const log = openSync(join(agent.root, "agent.log"), "a");
    agent.process = spawn(process.execPath, [SHIP_MAIN, "agent", "--config", agent.configFile], {
      detached: true,
      stdio: ["ignore", log, log],
      env: { ...process.env, SHIP_AGENT_FAST: "1" },
    });
  }

  async appVersion(agent: AgentHandle): Promise<string> {
    return (await readFile(join(agent.appDir, "app.txt"), "utf8")).trim();
  }

  /**
   * `count` agents from the load generator (ids <prefix>-00000 …, tokens minted in bulk and copied
   * into the cluster database). Connect them with LoadAgents.connect.
   */
  async loadAgents(count: number, prefix = "bench"): Promise<{ load: LoadAgents; agents: MintedAgent[] }> {
    const out = join(this.dir, `tokens-${this.loads.length}.json`);
    await execFileAsync(
      process.execPath,
      [
        MINT_TOKENS,
        join(this.dir, `mint-${this.loads.length}`),
        String(count),
        out,
        this.databaseUrl,
        prefix,
      ],
      {
        env: {
          ...process.env,
          SHIP_HUB_SECRET: this.secret,
          ...(this.hubDist === undefined ? {} : { SHIP_BENCH_DIST: this.hubDist }),
        },
      },
    );
    const { agents } = JSON.parse(await readFile(out, "utf8")) as { agents: MintedAgent[] };
    const load = await LoadAgents.fork(this.options.openFiles);
    this.loads.push(load);
    return { load, agents };
  }

  /**
   * Connects `agents` of `load` spread over the hubs directly (agent i on hub i mod the hub count),
   * each coming back through the front proxy after it loses its hub; `inFlight` connection
   * attempts at a time per hub. Throws when any agent could not connect.
   */
  async connectSpread(load: LoadAgents, agents: MintedAgent[], inFlight: number): Promise<void> {
    const ws = (url: string) => `${url.replace(/^http/, "ws")}/api/v1/agent`;
    for (let hub = 0; hub < this.hubs.length; hub++) {
      const { failed } = await load.call("connect", {
        url: ws(this.hub(hub).url),
        agents: agents.filter((_, i) => i % this.hubs.length === hub),
        mode: "hub",
        app: "loadapp",
        inFlight,
        reconnectUrl: ws(this.frontUrl),
      });
      if (failed > 0) throw new Error(`${failed} load agents could not connect to hub ${hub}`);
    }
  }

  /** The admin connection, which exists once start() ran. */
  must(): postgres.Sql {
    if (!this.sql) throw new Error("cluster not started");
    return this.sql;
  }

  waitFor(what: string, check: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
    return waitFor(what, check, { timeoutMs, intervalMs: 100, where: `logs in ${this.dir}` });
  }

  /** `pg_ctl restart -m fast` under the running hubs: every connection of theirs is ended. */
  async restartDatabase(): Promise<void> {
    if (!this.pg) throw new Error("cluster not started");
    await this.pg.restart();
  }

  /** Stops (and removes) the database under the running hubs: what a database outage looks like. */
  async stopDatabase(): Promise<void> {
    await this.sql?.end({ timeout: 1 });
    this.sql = undefined;
    await this.pg?.stop();
    this.pg = undefined;
  }

  async close(): Promise<void> {
    for (const load of this.loads) load.kill();
    await Promise.all(this.agents.map((a) => stopProcess(a.process, "SIGKILL")));
    await Promise.all(this.hubs.map((hub) => stopProcess(hub.child, "SIGKILL")));
    await this.balancer?.close();
    await this.sql?.end({ timeout: 1 });
    await this.pg?.stop();
    if (process.env.SHIP_E2E_KEEP !== "1") await rm(this.dir, { recursive: true, force: true });
  }
}

export interface MintedAgent {
  id: string;
  token: string;
}

/** Replies of tests/performance/load-agents.mjs, by command. */
export interface LoadReplies {
  connect: { connectMs: number; connected: number; failed: number };
  /** byUrl: the arrivals by the URL each agent first connected to (its hub). */
  "await-deploys": { arrivals: number[]; missing: number; byUrl: Record<string, number[]> };
  "reset-deploys": Record<string, never>;
  report: { sentAt: number; lastAckAt: number; acked: number; ackMs: number[]; timedOut?: boolean };
  "await-back": { lost: number; back: number; lastBackAt: number; firstLostAt: number; timedOut?: boolean };
  status: {
    open: number;
    lost: number;
    reconnects: number;
    outbox: number;
    sentReports: number;
    ackedReports: number;
  };
  /** Reports sent and never acked, with where their agent is connected now. */
  unacked: {
    reports: {
      agentId: string;
      reportId: string;
      deploymentId?: string;
      open: boolean;
      url?: string;
      lostAt?: number;
      backAt?: number;
    }[];
  };
  /** The latest `report` command's reports, each acked or not yet. */
  "last-storm": {
    reports: { agentId: string; reportId: string; deploymentId: string; acked: boolean; open: boolean }[];
  };
  close: Record<string, never>;
}

/** The load generator as a child process, its commands typed. */
export class LoadAgents {
  private constructor(private readonly child: ChildProcess) {}

  static async fork(openFiles?: number): Promise<LoadAgents> {
    const child = spawnNode([LOAD_AGENTS], { stdio: ["ignore", "ignore", "inherit", "ipc"] }, openFiles);
    await new Promise<void>((ok, fail) => {
      child.once("message", () => ok());
      child.once("exit", (code) => fail(new Error(`load generator exited (${code})`)));
    });
    return new LoadAgents(child);
  }

  /** The load generator's process id (its CPU and GC read by the benchmarks). */
  get pid(): number | undefined {
    return this.child.pid;
  }

  call<C extends keyof LoadReplies>(cmd: C, args: Record<string, unknown> = {}): Promise<LoadReplies[C]> {
    return new Promise((ok, fail) => {
      const onMessage = (reply: unknown) => {
        const r = reply as { cmd?: string; error?: string };
        if (r.cmd !== cmd) return;
        cleanup();
        if (r.error) fail(new Error(`${cmd}: ${r.error}`));
        else ok(reply as LoadReplies[C]);
      };
      const onExit = (code: number | null) => {
        cleanup();
        fail(new Error(`load generator exited (${code}) during ${cmd}`));
      };
      const cleanup = () => {
        this.child.off("message", onMessage);
        this.child.off("exit", onExit);
      };
      this.child.on("message", onMessage);
      this.child.once("exit", onExit);
      this.child.send({ cmd, ...args });
    });
  }

  kill(): void {
    if (this.child.exitCode === null) this.child.kill("SIGKILL");
  }
}

/**
 * Node with `args`; with `openFiles`, under a shell that raises the fd limit first and then execs
 * node (same pid, and an IPC channel passes through the exec).
 */
function spawnNode(args: string[], options: SpawnOptions, openFiles?: number): ChildProcess {
  if (openFiles === undefined) return spawn(process.execPath, args, options);
  return spawn(
    "/bin/sh",
    ["-c", `ulimit -n ${openFiles} && exec "$0" "$@"`, process.execPath, ...args],
    options,
  );
}

/**
 * One `ship-hub serve` on embedded SQLite in `dir` (port 0, quiet logs): the single-hub baseline
 * the cluster benchmark compares with, and a hub a test kills outright. `hub` adds hub.toml keys.
 * Stop it with its child.
 */
export async function spawnHubForBench(
  dir: string,
  openFiles?: number,
  hub: Record<string, string | number> = {},
): Promise<{ url: string; dataDir: string; child: ChildProcess }> {
  const dataDir = join(dir, "hub");
  const configFile = join(dir, "hub.toml");
  await writeFile(
    configFile,
    tomlOf({ host: "127.0.0.1", port: 0, data_dir: dataDir, log_level: "warn", ...hub }),
  );
  const child = spawnNode(
    [HUB_MAIN, "serve", "--config", configFile],
    { stdio: ["ignore", "pipe", "inherit"] },
    openFiles,
  );
  const url = await listeningUrl(child);
  child.stdout?.resume();
  return { url, dataDir, child };
}

/** The URL a starting `ship-hub serve` prints once it listens; `why()` adds to the error if it exits first. */
export function listeningUrl(child: ChildProcess, why: () => string = () => ""): Promise<string> {
  return new Promise<string>((ok, fail) => {
    let out = "";
    child.stdout?.on("data", (chunk: Buffer) => {
      out += chunk.toString();
      const match = /listening on (http:\/\/\S+)/.exec(out);
      if (match?.[1]) ok(match[1]);
    });
    child.once("exit", (code, signal) =>
      fail(new Error(`ship-hub exited (${code ?? signal}) before listening${why()}`)),
    );
  });
}
