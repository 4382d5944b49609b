import { mkdir } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import type { Logger } from "../shared/log.js";
import { createApiApp } from "./api/app.js";
import { LiveSessions } from "./auth/live-sessions.js";
import { loadSecret } from "./auth/secret.js";
import { TokenService } from "./auth/tokens.js";
import { HubMetrics } from "./metrics.js";
import { AgentSync } from "./rollouts/agent-sync.js";
import { RolloutEngine } from "./rollouts/engine.js";
import { SqliteStore } from "./store/sqlite-store.js";
import type { Store } from "./store/store.js";
import { attachAgentServer } from "./ws/agent-server.js";
import { ConnectionRegistry } from "./ws/connections.js";
import { ConnectionRefusals } from "./ws/refusals.js";

export interface HubOptions {
  host: string;
  port: number;
  dataDir: string;
  dbFile?: string;
  secretFile?: string;
  /** SHIP_HUB_SECRET, when set. */
  envSecret?: string;
  pingIntervalMs: number;
  offlineTimeoutMs: number;
  /** See EngineOptions.progressTimeoutMs. */
  progressTimeoutMs?: number;
  tickIntervalMs: number;
  maxArtifactBytes: number;
  maxPayloadBytes: number;
  /** Bytes queued to one agent before the hub drops it as a slow reader. */
  maxBufferedBytes?: number;
  log: Logger;
  now?: () => number;
  /** How often live connections are checked for a revoked or expired token (default 1 s). */
  sessionCheckMs?: number;
  /** Reports one agent connection may hand in per minute (default 120). */
  maxReportsPerMinute?: number;
  /** Reports kept per agent and by age, pruned every `everyMs` (default a minute). */
  reportRetention?: { keepPerAgent: number; keepMs: number; everyMs?: number };
}

/** The store and token service, for `serve` and for `token create|revoke|list` alike. */
export async function openHubState(
  options: Pick<HubOptions, "dataDir" | "dbFile" | "secretFile" | "envSecret">,
) {
  await mkdir(options.dataDir, { recursive: true, mode: 0o700 });
  const secret = await loadSecret({
    dataDir: options.dataDir,
    ...(options.secretFile ? { secretFile: options.secretFile } : {}),
    ...(options.envSecret ? { envSecret: options.envSecret } : {}),
  });
  const store: Store = new SqliteStore(options.dbFile ?? join(options.dataDir, "hub.db"));
  return { store, secret };
}

/**
 * No connection survives a restart; agents say hello again when they reconnect. Each agent the
 * store still shows online gets its agent.offline event, as a disconnect would have written.
 */
function markAgentsOfflineAtStart(store: Store, now: () => number): void {
  store.transaction(() => {
    const wereOnline = store.listAgents().filter((agent) => agent.online);
    store.markAllAgentsOffline();
    for (const agent of wereOnline)
      store.appendEvent({
        at: now(),
        actor: "hub",
        kind: "agent.offline",
        subject: agent.id,
        data: { reason: "hub restarted" },
      });
  });
}

export interface RunningHub {
  url: string;
  port: number;
  server: Server;
  store: Store;
  tokens: TokenService;
  engine: RolloutEngine;
  registry: ConnectionRegistry;
  close(): Promise<void>;
}

export async function startHub(options: HubOptions): Promise<RunningHub> {
  const now = options.now ?? Date.now;
  const { store, secret } = await openHubState(options);
  markAgentsOfflineAtStart(store, now);
  const tokens = new TokenService(secret, store, now);
  const sessions = new LiveSessions(store, options.log, now, options.sessionCheckMs ?? 1000);
  const metrics = new HubMetrics(store);
  const log = options.log;
  const registry = new ConnectionRegistry({
    maxBufferedBytes: options.maxBufferedBytes ?? 4 << 20,
    metrics,
    log,
  });
  const engine = new RolloutEngine({
    store,
    channel: registry,
    now,
    offlineTimeoutMs: options.offlineTimeoutMs,
    ...(options.progressTimeoutMs === undefined ? {} : { progressTimeoutMs: options.progressTimeoutMs }),
  });
  const sync = new AgentSync(engine);
  const refusals = new ConnectionRefusals(log, now);
  const app = createApiApp({
    store,
    tokens,
    engine,
    metrics,
    artifactsDir: join(options.dataDir, "artifacts"),
    maxArtifactBytes: options.maxArtifactBytes,
    isOnline: (id) => registry.isOnline(id),
    send: (id, message) => registry.send(id, message),
    sessions,
    refusals,
    log,
    now,
  });
  const server = createServer(app);
  const agents = attachAgentServer(server, {
    tokens,
    sessions,
    registry,
    sync,
    metrics,
    log,
    pingIntervalMs: options.pingIntervalMs,
    maxPayloadBytes: options.maxPayloadBytes,
    maxBufferedBytes: options.maxBufferedBytes ?? 4 << 20,
    maxReportsPerMinute: options.maxReportsPerMinute ?? 120,
    refusals,
    now,
  });
  const retention = options.reportRetention ?? { keepPerAgent: 500, keepMs: 90 * 86_400_000 };
  // One agent token must not fill the hub's disk: reports are kept by count per agent and by age.
  const pruner = setInterval(() => {
    try {
      const removed = store.pruneReports(retention.keepPerAgent, now() - retention.keepMs);
      if (removed > 0) log.info("pruned old reports", { removed });
    } catch (error) {
      log.error("pruning reports failed", { error: String(error) });
    }
  }, retention.everyMs ?? 60_000);
  pruner.unref();
  const ticker = setInterval(() => {
    try {
      engine.tick();
    } catch (error) {
      log.error("rollout tick failed", { error: String(error) });
    }
  }, options.tickIntervalMs);
  ticker.unref();

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, options.host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const host = options.host.includes(":") ? `[${options.host}]` : options.host;
  log.info("hub listening", { url: `http://${host}:${port}`, dataDir: options.dataDir });

  let closing: Promise<void> | undefined;
  return {
    url: `http://${host}:${port}`,
    port,
    server,
    store,
    tokens,
    engine,
    registry,
    close() {
      closing ??= (async () => {
        clearInterval(ticker);
        clearInterval(pruner);
        sessions.stop();
        agents.close();
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections();
        });
        store.close();
        log.info("hub stopped");
      })();
      return closing;
    },
  };
}
