import { randomUUID } from "node:crypto";
import { once } from "node:events";
import { readdirSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Worker } from "node:worker_threads";
import { afterAll, afterEach, beforeAll, expect } from "vitest";
import { WebSocket } from "ws";
import { type HubOptions, type RunningHub, startHub } from "../../../hub/server.js";
import { memoryLogger } from "../../../shared/log.js";
import type { Deploy, HubMessage } from "../../../shared/protocol/messages.js";
import { runHubCli } from "../../support/hub-cli.js";
import { hasPostgres, type PostgresServer, startPostgres } from "../../support/servers/postgres.js";

export type ApiBody = { error?: string } & Record<string, unknown>;

/** The JWT secret every hub of a test cluster shares (cluster mode refuses a generated one). */
export const CLUSTER_SECRET = "a-shared-secret-of-at-least-32-bytes-for-every-hub";

export interface HubBackend {
  name: "SQLite" | "PostgreSQL";
  available: boolean;
  /** The hub options of this backend: on PostgreSQL a fresh database of `pg()` each call. */
  options(): Promise<Partial<HubOptions>>;
}

/**
 * A hub on SQLite, and on PostgreSQL where this machine has it (`pg()`: the file's server, started
 * in its beforeAll); `postgres`: more options a cluster hub of the test needs.
 */
export function hubBackends(
  pg: () => PostgresServer | undefined,
  postgres: Partial<HubOptions> = {},
): HubBackend[] {
  return [
    { name: "SQLite", available: true, options: async () => ({}) },
    {
      name: "PostgreSQL",
      available: hasPostgres(),
      options: async () => ({
        envSecret: CLUSTER_SECRET,
        ...postgres,
        database: { url: await (pg() as PostgresServer).createDatabase(), file: "test", key: "" },
      }),
    },
  ];
}

/**
 * The backends of `hubBackends` for a test file, with its PostgreSQL server (where this machine has
 * one) started before its tests and stopped after them: call it at the file's top level.
 */
export function hubBackendsPerFile(): HubBackend[] {
  let pg: PostgresServer | undefined;
  beforeAll(async () => {
    if (hasPostgres()) pg = await startPostgres();
  }, 60_000);
  afterAll(async () => {
    await pg?.stop();
  });
  return hubBackends(() => pg);
}

export interface TestHub {
  hub: RunningHub;
  dir: string;
  operator: string;
  ci: string;
  agentToken(agentId: string): Promise<string>;
  api<T = ApiBody>(
    method: string,
    path: string,
    options?: { token?: string; body?: unknown },
  ): Promise<{ status: number; body: T }>;
  stop(): Promise<void>;
}

/**
 * `ship-hub ARGS --hub URL` with the operator token in SHIP_HUB_TOKEN against `t`, as an operator
 * runs it (a real child process): `--token` would put it in ps, and is warned about.
 */
export const operatorCli = (t: TestHub, ...args: string[]) =>
  runHubCli(t.dir, [...args, "--hub", t.hub.url], { SHIP_HUB_TOKEN: t.operator });

export async function startTestHub(overrides: Partial<HubOptions> = {}, dir?: string): Promise<TestHub> {
  const dataDir = dir ?? (await mkdtemp(join(tmpdir(), "ship-hub-")));
  const hub = await startHub({
    host: "127.0.0.1",
    port: 0,
    dataDir,
    pingIntervalMs: 60_000,
    offlineTimeoutMs: 60_000,
    tickIntervalMs: 50,
    maxArtifactBytes: 10 << 20,
    maxPayloadBytes: 64 << 10,
    log: memoryLogger(),
    ...overrides,
  });
  const issue = async (role: "ci" | "operator" | "agent", agentId?: string) =>
    (await hub.tokens.issue({ role, ttlSeconds: 3600, ...(agentId ? { agentId } : {}) })).token;
  const operator = await issue("operator");
  const ci = await issue("ci");
  return {
    hub,
    dir: dataDir,
    operator,
    ci,
    agentToken: (agentId) => issue("agent", agentId),
    async api<T>(method: string, path: string, options: { token?: string; body?: unknown } = {}) {
      const headers: Record<string, string> = {};
      if (options.token) headers.authorization = `Bearer ${options.token}`;
      if (options.body !== undefined) headers["content-type"] = "application/json";
      const res = await fetch(`${hub.url}${path}`, {
        method,
        headers,
        ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
      });
      const text = await res.text();
      let body: unknown = text;
      try {
        body = JSON.parse(text);
      } catch {}
      // Tests assert on the shape; the hub's schemas are what guarantee it.
      return { status: res.status, body: body as T };
    },
    async stop() {
      await hub.close();
      if (!dir) await rm(dataDir, { recursive: true, force: true });
    },
  };
}

export const manifestText = (version: string) => `version: "${version}"\ndescription: test release\n`;

/** Publishes `version` of `app` (a git source) as CI; the release id. */
/**
 * `count` releases of app "web" straight into the store, oldest first: rel-0 is 1.0.0, rel-i is
 * 1.1.i, created at `firstCreated` + i ms (a fleet whose old releases lie past the API's pages).
 */
export async function insertOldReleases(t: TestHub, count: number, firstCreated: number): Promise<void> {
  for (let i = 0; i < count; i++) {
    const version = i === 0 ? "1.0.0" : `1.1.${i}`;
    await t.hub.store.insertRelease({
      id: `rel-${i}`,
      app: "web",
      version,
      manifest: manifestText(version),
      source: { type: "git", commit: "abcdef1" },
      signature: null,
      created: firstCreated + i,
      createdBy: "ci",
    });
  }
}

/**
 * `count` finished rollouts of `releaseId`, each with a succeeded deployment of `agentId`, straight
 * into the store from `base` on, four to a millisecond (ties the hub must order by id). Rollout ids
 * are the index in hex, so their 8-character short ids differ. Returns the deployment ids.
 */
export async function insertPastDeployments(
  t: TestHub,
  agentId: string,
  releaseId: string,
  count: number,
  base: number,
): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < count; i++) {
    const rolloutId = `${i.toString(16).padStart(8, "0")}-0000-4000-8000-000000000000`;
    const at = base + Math.floor(i / 4);
    await insertFinishedRollout(t, rolloutId, releaseId, at);
    await t.hub.store.insertDeployment({
      id: `${rolloutId}:${agentId}`,
      rolloutId,
      agentId,
      wave: 0,
      desiredRelease: releaseId,
      previousRelease: null,
      state: "succeeded",
      attempts: 1,
      updatedAt: at,
      error: null,
    });
    ids.push(`${rolloutId}:${agentId}`);
  }
  return ids;
}

/** A finished rollout of `releaseId` (one wave, all) straight into the store, created at `at`. */
export function insertFinishedRollout(
  t: TestHub,
  id: string,
  releaseId: string,
  at: number,
  state: "completed" | "aborted" = "completed",
  reason: string | null = null,
): Promise<void> {
  return t.hub.store.insertRollout({
    id,
    releaseId,
    spec: {
      release: releaseId,
      waves: [{ name: "all", percent: 100, waitMinutes: 0, minSuccessRate: 0 }],
      failureThreshold: { count: 1 },
      autoAdvance: false,
      autoRollback: false,
    },
    state,
    currentWave: 0,
    waveStartedAt: at,
    reason,
    failureAllowance: 0,
    created: at,
    updated: at,
  });
}

/** Uploads `data` as an artifact with the CI token, as CI does; the answer (201 with its sha256). */
export function uploadArtifact(t: TestHub, data: Buffer): Promise<Response> {
  return fetch(`${t.hub.url}/api/v1/artifacts`, {
    method: "PUT",
    headers: { authorization: `Bearer ${t.ci}`, "content-type": "application/octet-stream" },
    body: data,
  });
}

export async function publishRelease(t: TestHub, version: string, app = "web"): Promise<string> {
  const res = await t.api<{ id: string }>("POST", "/api/v1/releases", {
    token: t.ci,
    body: {
      app,
      version,
      manifest: manifestText(version),
      source: { type: "git", commit: "abcdef1" },
    },
  });
  if (res.status !== 201)
    throw new Error(`publishing web ${version}: HTTP ${res.status} ${JSON.stringify(res.body)}`);
  return res.body.id;
}

const INSERT_ROLLOUT_ROWS = new URL("../../support/insert-rollout-rows.mjs", import.meta.url);

/**
 * `count` completed rollouts of `releaseId` written straight into the hub's SQLite file in one
 * transaction (store calls one by one would take minutes): ids `PREFIX` + 4 hex digits, created
 * at `firstCreated` + i ms. The write takes seconds on a loaded machine; in a worker thread, so the
 * hub in this process keeps its timers meanwhile. Written on this thread it held the hub past its
 * 5 s keep-alive: the next request went on the connection the overdue timer then closed ("fetch
 * failed: other side closed" at load 22, a 200 ms sleep after it notwithstanding).
 */
export async function insertRolloutRows(
  t: TestHub,
  releaseId: string,
  count: number,
  prefix: string,
  firstCreated: number,
): Promise<void> {
  const file = readdirSync(t.dir).find((f) => f.endsWith(".db"));
  if (file === undefined) throw new Error(`no SQLite file in ${t.dir}`);
  const worker = new Worker(INSERT_ROLLOUT_ROWS, {
    workerData: { file: join(t.dir, file), releaseId, count, prefix, firstCreated },
  });
  let failure: Error | undefined;
  worker.on("error", (error) => {
    failure = error;
  });
  const [code] = (await once(worker, "exit")) as [number];
  if (failure !== undefined || code !== 0)
    throw new Error(
      `writing ${count} rollouts into ${file}: ${failure?.message ?? `the worker exited ${code}`}`,
    );
}

/** The steps of a report: none (an answer from the agent's record), or a run's. */
export type ReportSteps = { name: string; ok: boolean; ms: number }[];

/** What a report may say beyond sendReport's defaults (from 1.0.0, no installed release named). */
export interface ReportFields {
  /** Default: the deployment's app, as a real agent sends it. */
  app?: string;
  fromVersion?: string;
  toVersion?: string;
  installedReleaseId?: string;
  error?: string;
}

/**
 * Sends `outcome` for `deploy` as an agent's report (its app, 1.0.0 → the deployed version, unless
 * `fields` say otherwise); the report id, for waiting on its ack (`agent.next(isAck(id))`).
 */
export function sendReport(
  agent: TestAgent,
  deploy: Deploy,
  outcome: "succeeded" | "failed" | "rolled_back",
  steps: ReportSteps = [],
  fields: ReportFields = {},
): string {
  const reportId = randomUUID();
  agent.send({
    type: "report",
    reportId,
    deploymentId: deploy.deploymentId,
    app: deploy.app,
    releaseId: deploy.release.id,
    outcome,
    fromVersion: "1.0.0",
    toVersion: deploy.release.version,
    steps,
    ...(outcome === "succeeded" ? {} : { error: "test step failed" }),
    ...fields,
  });
  return reportId;
}

/** Resolves once the hub acks report `reportId` (the report is committed). */
function acked(agent: TestAgent, reportId: string): Promise<unknown> {
  return agent.next(
    (m): m is Extract<HubMessage, { type: "ack" }> => m.type === "ack" && m.reportId === reportId,
  );
}

/** sendReport, then waits until the hub acks it (the report is committed). */
export async function reportAcked(
  agent: TestAgent,
  deploy: Deploy,
  outcome: "succeeded" | "failed" | "rolled_back",
  steps: ReportSteps = [],
) {
  await acked(agent, sendReport(agent, deploy, outcome, steps));
}

/**
 * The agent's report of `deploy` as a real agent sends it, the release it runs afterwards
 * (`installed`) included, once the hub acks it: `from`, the version it ran before.
 */
export async function reportInstalled(
  agent: TestAgent,
  deploy: Deploy,
  outcome: "succeeded" | "rolled_back",
  from: string,
  installed: string,
): Promise<void> {
  const ok = outcome === "succeeded";
  const steps = [ok ? { name: "apply", ok: true, ms: 1 } : { name: "post_update_test", ok: false, ms: 1 }];
  await acked(
    agent,
    sendReport(agent, deploy, outcome, steps, {
      fromVersion: from,
      installedReleaseId: installed,
      ...(ok ? {} : { error: "post_update_test failed" }),
    }),
  );
}

/**
 * An agent connected to `hub` that said hello, returned once the hub's store has it online (up to
 * 15 s: on a loaded CI machine the hello can take seconds to be stored). Pushed onto `track` first,
 * so a caller's clean-up closes it even when the wait fails.
 */
export async function onlineAgent(hub: TestHub, agentId: string, track: TestAgent[]): Promise<TestAgent> {
  const agent = await TestAgent.connect(hub.hub.url, await hub.agentToken(agentId));
  track.push(agent);
  agent.hello(agentId);
  await expect
    .poll(async () => (await hub.hub.store.getAgent(agentId))?.online, { timeout: 15_000 })
    .toBe(true);
  return agent;
}

/** A real ws client speaking the shared protocol, with a queue of what the hub sent. */
export class TestAgent {
  readonly received: HubMessage[] = [];
  private waiters: (() => void)[] = [];
  constructor(readonly ws: WebSocket) {
    ws.on("message", (data) => {
      this.received.push(JSON.parse(data.toString()) as HubMessage);
      for (const w of this.waiters.splice(0)) w();
    });
  }

  static async connect(url: string, token: string, options: { autoPong?: boolean } = {}): Promise<TestAgent> {
    const ws = new WebSocket(`${url.replace(/^http/, "ws")}/api/v1/agent`, {
      headers: { authorization: `Bearer ${token}` },
      autoPong: options.autoPong ?? true,
    });
    await new Promise<void>((resolve, reject) => {
      ws.once("open", resolve);
      ws.once("error", reject);
    });
    return new TestAgent(ws);
  }

  send(message: unknown): void {
    this.ws.send(JSON.stringify(message));
  }

  hello(
    agentId: string,
    apps = [{ app: "web", version: "1.0.0", state: "ok", releaseId: undefined as string | undefined }],
    labels = {},
  ) {
    this.send({ type: "hello", v: 1, agentId, hostname: agentId, labels, agentVersion: "test", apps });
  }

  /**
   * Resolves with the first received message (already or later) matching `pred`. The default
   * deadline is for a hang: 5 s was within reach of a loaded 2-core CI machine's delays.
   */
  async next<T extends HubMessage>(pred: (m: HubMessage) => m is T, timeoutMs = 20_000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.received.find(pred);
      if (found) {
        this.received.splice(this.received.indexOf(found), 1);
        return found;
      }
      const left = deadline - Date.now();
      if (left <= 0)
        throw new Error(`no matching message within ${timeoutMs} ms; got ${JSON.stringify(this.received)}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  closed(): Promise<{ code: number }> {
    if (this.ws.readyState === WebSocket.CLOSED) return Promise.resolve({ code: -1 });
    return new Promise((resolve) => this.ws.once("close", (code) => resolve({ code })));
  }
}

export const isType =
  <K extends HubMessage["type"]>(type: K) =>
  (m: HubMessage): m is Extract<HubMessage, { type: K }> =>
    m.type === type;

/** A deploy of `rolloutId`'s: a hub may send one again before it has the agent's answer to it. */
export const deployOf =
  (rolloutId: string) =>
  (m: HubMessage): m is Deploy =>
    m.type === "deploy" && m.deploymentId.startsWith(`${rolloutId}:`);

/** An agent's apps as its hello names them (TestAgent.hello). */
export type HelloApps = Parameters<TestAgent["hello"]>[1];

/**
 * A hub per test and the agents connected to it, stopped and closed after each test (this
 * registers the afterEach, so call it at a test file's top level). `start` is startTestHub;
 * `connect` opens the agent channel with a token minted for `id`, sends its hello (`apps` and
 * `labels` as TestAgent.hello takes them) and waits until the hub has the agent online.
 */
export function hubPerTest(): {
  start(overrides?: Partial<HubOptions>): Promise<TestHub>;
  connect(t: TestHub, id: string, apps?: HelloApps, labels?: Record<string, string>): Promise<TestAgent>;
} {
  let hub: TestHub | undefined;
  const agents: TestAgent[] = [];
  afterEach(async () => {
    for (const a of agents.splice(0)) a.ws.terminate();
    await hub?.stop();
    hub = undefined;
  });
  return {
    async start(overrides) {
      hub = await startTestHub(overrides);
      return hub;
    },
    async connect(t, id, apps, labels) {
      const agent = await TestAgent.connect(t.hub.url, await t.agentToken(id));
      agents.push(agent);
      agent.hello(id, apps, labels);
      await expect.poll(() => t.hub.registry.isOnline(id), { timeout: 10_000 }).toBe(true);
      return agent;
    },
  };
}

/** Test agents with these ids, connected and said hello, once the hub lists them online. */
export async function onlineAgents(t: TestHub, ...ids: string[]): Promise<TestAgent[]> {
  const agents = await Promise.all(
    ids.map(async (id) => {
      const agent = await TestAgent.connect(t.hub.url, await t.agentToken(id));
      agent.hello(id);
      return agent;
    }),
  );
  await expect.poll(() => ids.every((id) => t.hub.registry.isOnline(id))).toBe(true);
  return agents;
}

/** Release 2.0.0 rolled out to a1 (wave 1, canary) then a2 (wave 2, rest), both online. */
export async function canaryThenRest(t: TestHub): Promise<{ id: string; agents: TestAgent[] }> {
  const v2 = await publishRelease(t, "2.0.0");
  const agents = await onlineAgents(t, "a1", "a2");
  const created = await t.api<{ id: string }>("POST", "/api/v1/rollouts", {
    token: t.operator,
    body: {
      release: v2,
      waves: [
        { name: "canary", agents: ["a1"] },
        { name: "rest", agents: ["a2"] },
      ],
    },
  });
  return { id: created.body.id, agents };
}

/** An agent of `hubWithLabelledAgents`: its id, labels and apps (each on 1.0.0, updated; default web). */
export interface LabelledAgent {
  id: string;
  labels?: Record<string, string>;
  apps?: readonly string[];
}

export interface LabelledHub {
  t: TestHub;
  /** web 2.0.0, published as CI. */
  release: string;
  agents: TestAgent[];
  /** `ship-hub ARGS` against this hub with the operator's token (a real child process). */
  cli(...args: string[]): ReturnType<typeof runHubCli>;
  stop(): Promise<void>;
}

/**
 * A hub with web 2.0.0 published and `agents` connected, each said hello with its labels and apps
 * and listed online: the set-up of the rollout tests that create through the CLI, the API or the
 * dashboard's form.
 */
export async function hubWithLabelledAgents(
  agents: readonly LabelledAgent[],
  overrides: Partial<HubOptions> = {},
): Promise<LabelledHub> {
  const t = await startTestHub(overrides);
  const release = await publishRelease(t, "2.0.0");
  const connected: TestAgent[] = [];
  for (const { id, labels = {}, apps = ["web"] } of agents) {
    const agent = await TestAgent.connect(t.hub.url, await t.agentToken(id));
    connected.push(agent);
    agent.hello(
      id,
      apps.map((app) => ({ app, version: "1.0.0", state: "updated", releaseId: undefined })),
      labels,
    );
    // Not expect.poll: this runs in a beforeAll. The wait ends when the hub has the agent; the
    // deadline is for a hang, as next()'s (10 s was within reach of a loaded machine).
    const until = Date.now() + 30_000;
    while (!t.hub.registry.isOnline(id)) {
      if (Date.now() > until) throw new Error(`agent ${id} not online after 30 s`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }
  return {
    t,
    release,
    agents: connected,
    cli: (...args) => runHubCli(process.cwd(), args, { SHIP_HUB_URL: t.hub.url, SHIP_HUB_TOKEN: t.operator }),
    async stop() {
      for (const agent of connected) agent.ws.terminate();
      await t.stop();
    },
  };
}
