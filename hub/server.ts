import { randomUUID } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { everyAfterInput, type JudgingTimer } from "../shared/after-input.js";
import { BadInputError } from "../shared/errors.js";
import type { Logger } from "../shared/log.js";
import { createApiApp } from "./api/app.js";
import { removeUnusedArtifacts } from "./api/artifacts.js";
import { lingerAfterUnreadBody } from "./api/lingering-close.js";
import { limitIdleConnections, whileConnected } from "./auth/idle-connections.js";
import { LiveSessions } from "./auth/live-sessions.js";
import { TokenService } from "./auth/tokens.js";
import { ClockStepWatch } from "./clock-step.js";
import { ClusterClock, monotonicNow } from "./cluster/clock.js";
import { leaveCluster } from "./cluster/leave.js";
import { OwnHeartbeats } from "./cluster/own-heartbeats.js";
import { clusterPresenceCheck } from "./cluster/presence.js";
import { checkClusterSecret, secretSource } from "./cluster/shared-secret.js";
import { startClusterWakeup } from "./cluster/wakeup.js";
import { timeoutsAfterInput } from "./connection-timeouts.js";
import { EventStream } from "./dashboard/event-stream.js";
import { HubRequestError } from "./errors.js";
import { HubMetrics } from "./metrics.js";
import { OnceAMinuteLog } from "./once-a-minute-log.js";
import { retentionClock } from "./retention-clock.js";
import { AgentSync } from "./rollouts/agent-sync.js";
import { RolloutEngine } from "./rollouts/engine.js";
import { isoTime, shownTime } from "./shown-time.js";
import { openHubState } from "./state.js";
import type { AsyncStore } from "./store/async-store.js";
import type { DatabaseSource } from "./store/open-database.js";
import { describeDatabaseUrl } from "./store/open-database.js";
import type { SqliteLocation } from "./store/open-sqlite.js";
import { attachAgentServer } from "./ws/agent-server.js";
import { ConnectionRegistry } from "./ws/connections.js";
import { ConnectionRefusals } from "./ws/refusals.js";

export interface HubOptions {
  host: string;
  port: number;
  dataDir: string;
  dbFile?: string;
  /** Where dataDir and dbFile were named (flag or hub.toml key), for messages. */
  namedBy?: SqliteLocation["namedBy"];
  secretFile?: string;
  /** The hub.toml that named secretFile (messages name it and the key). */
  configFile?: string;
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
  /** This host's clock (tests make a skewed host with it). A cluster hub's rollout times follow the database's clock. */
  now?: () => number;
  /**
   * Tests: added to the time the hub stamps and compares rollouts with. A cluster hub's time follows
   * the database's clock whatever `now` says, so a test moves that time forward here.
   */
  timeShiftMs?: () => number;
  /** How often live connections are checked for a revoked or expired token (default 1 s). */
  sessionCheckMs?: number;
  /** Reports one agent connection may hand in per minute (default 120). */
  maxReportsPerMinute?: number;
  /** Connections (and hellos) one agent may open per minute (default 30). */
  maxConnectsPerMinute?: number;
  /** An agent connection that has not said hello this long is closed (default 30 s). */
  helloTimeoutMs?: number;
  /** An HTTP connection silent this long mid-request is dropped (default 2 minutes). */
  idleTimeoutMs?: number;
  /** Reports kept per agent and by age, pruned every `everyMs` (default a minute). */
  reportRetention?: { keepPerAgent: number; keepMs: number; everyMs?: number };
  /**
   * Artifacts no release names are removed once they are `keepMs` old (default a day: time to
   * publish what was uploaded), looked for every `everyMs` (default an hour) and once at start.
   */
  unusedArtifacts?: { keepMs: number; everyMs: number };
  /** PostgreSQL shared by several hubs (cluster mode); without it, SQLite in the data dir. */
  database?: DatabaseSource;
  /**
   * How often this hub writes its heartbeat (default 5 s). In a cluster the others read it; on one
   * SQLite hub its next start after a kill does (how recent its agents' last seen then stays).
   */
  heartbeatMs?: number;
  /**
   * Cluster mode: a hub silent this long is dead and its agents are released; a hub that could not
   * heartbeat this long closes its own agents' connections (default 30 s).
   */
  hubTimeoutMs?: number;
  /** Cluster mode: how often due deployments of this hub's agents are looked for (default 3 s). */
  resyncMs?: number;
  /** SQLite: how long a store call waits for a lock another process holds (default 5 s). */
  lockWaitMs?: number;
  /**
   * PostgreSQL: how long a store call waits for the database's answer (default 15 s,
   * ANSWER_TIMEOUT_SECONDS); tests of a database that stops answering shorten it.
   */
  databaseAnswerTimeoutMs?: number;
}

/**
 * One hub on SQLite stopping cleanly: the agents still connected were seen until now. Left for the
 * next start, they kept the time of their hello as `lastSeen` (`ship-hub agents`, the dashboard),
 * older than the reports they sent since. A database that fails here leaves them to that start.
 */
async function markAgentsOfflineAtStop(store: AsyncStore, at: number, log: Logger): Promise<void> {
  try {
    await store.tx(async (t) => {
      const wereOnline = (await t.listAgents()).filter((agent) => agent.online);
      for (const agent of wereOnline) await t.setAgentOnline(agent.id, false, at);
      await t.appendEvents(
        wereOnline.map((agent) => ({
          at,
          actor: "hub",
          kind: "agent.offline",
          subject: agent.id,
          data: { reason: "its hub stopped" },
        })),
      );
    });
  } catch (error) {
    log.warn("could not mark the connected agents offline at stop; the next start does", {
      error: error instanceof Error ? error.message : String(error),
    });
  }
}

/**
 * One hub on SQLite: no connection survives a restart; agents say hello again when they reconnect.
 * Each agent the store still shows online gets its agent.offline event, as a disconnect would
 * have written. (Never with several hubs: the other hubs' agents are online.)
 */
async function markAgentsOfflineAtStart(store: AsyncStore, now: () => number): Promise<void> {
  await store.tx(async (t) => {
    const wereOnline = (await t.listAgents()).filter((agent) => agent.online);
    await t.markAllAgentsOffline();
    await t.appendEvents(
      wereOnline.map((agent) => ({
        at: now(),
        actor: "hub",
        kind: "agent.offline",
        subject: agent.id,
        data: { reason: "hub restarted" },
      })),
    );
  });
}

export interface RunningHub {
  url: string;
  port: number;
  server: Server;
  store: AsyncStore;
  tokens: TokenService;
  engine: RolloutEngine;
  registry: ConnectionRegistry;
  /** This hub's id in the `hubs` table (presence epochs, tick claims). */
  hubId: string;
  /** Several hubs share this hub's PostgreSQL database. */
  cluster: boolean;
  /**
   * Delivers due `pending` deployments (and a named rollout's rollback instructions) to the agents
   * connected to THIS hub: idempotent, safe from anywhere. What a cluster's wake-up calls.
   */
  deliverPending(rolloutId?: string): Promise<number>;
  /** Makes open dashboard streams read newly committed events now. */
  wakeEventStream(): Promise<void>;
  /**
   * Resolves when this hub must stop (exit 2): a newer ship-hub migrated the cluster's database
   * while this one ran. Never resolves otherwise.
   */
  mustStop: Promise<BadInputError>;
  close(): Promise<void>;
}

/** Runs `job` every `ms`, never overlapping itself (a slow database must not pile up runs). */
function every(ms: number, job: () => Promise<void>): NodeJS.Timeout {
  let running = false;
  const timer = setInterval(() => {
    if (running) return;
    running = true;
    job().finally(() => {
      running = false;
    });
  }, ms);
  timer.unref();
  return timer;
}

export async function startHub(options: HubOptions): Promise<RunningHub> {
  const now = options.now ?? Date.now;
  const log = options.log;
  const { store, secret, cluster } = await openHubState(options, (message) => log.warn(message));
  const hubId = randomUUID();
  const hubTimeoutMs = options.hubTimeoutMs ?? 30_000;
  // Rollout times (sent, last seen, wave started, tick claims): in a cluster the database's clock,
  // which every hub reads, not each host's own.
  const clusterClock = cluster ? new ClusterClock(options.now ?? monotonicNow) : undefined;
  const shift = options.timeShiftMs ?? (() => 0);
  // One hub's: its monotonic clock, as a cluster hub's is between readings, so a wall clock stepped
  // while it runs (NTP after a boot, a VM resumed) is no time a rollout waited: stepped 40 minutes,
  // it timed out every agent mid-update, halted the rollout and cut a canary's soak short.
  const ownClock = options.now ?? monotonicNow;
  const time = clusterClock ? () => clusterClock.now() + shift() : () => ownClock() + shift();
  // A clock a test injects (`now`) is the rollout clock itself: no wall clock to step apart from it.
  // A cluster's time follows the database's clock, no host's.
  const steps = cluster || options.now ? undefined : new ClockStepWatch(Date.now, ownClock, log);
  // In a cluster the first heartbeat is written with the check of the shared JWT secret.
  let clusterUpSince: number | undefined;
  if (cluster && clusterClock && options.database) {
    const database = options.database;
    const joinCluster = async () => {
      await clusterClock.observe(async () => ({ at: await cluster.clock() }));
      await checkClusterSecret(cluster, {
        secret,
        source: secretSource(options),
        database,
        hubId,
        now: time(),
        hubTimeoutMs,
        warn: (message) => log.warn(message),
      });
      return cluster.clusterUpSince(hubId, hubTimeoutMs);
    };
    clusterUpSince = await joinCluster().catch(async (error: unknown) => {
      await cluster.close();
      throw error;
    });
    // Otherwise invisible: requests answered 503 for the deadline, then normally again.
    cluster.onConnectionsReplaced((silentMs) =>
      log.warn(
        "the database's connections went unanswered while a new connection answered (a network path that lost its state: a NAT, a firewall, a failover; or a database just back); replaced them",
        { silentMs },
      ),
    );
  } else await markAgentsOfflineAtStart(store, time);
  const tokens = new TokenService(secret, store, now);
  const sessions = new LiveSessions(store, log, now, options.sessionCheckMs ?? 1000);
  const metrics = new HubMetrics(store);
  const registry = new ConnectionRegistry({
    maxBufferedBytes: options.maxBufferedBytes ?? 4 << 20,
    metrics,
    log,
  });
  const engine = new RolloutEngine({
    store,
    channel: registry,
    now: time,
    offlineTimeoutMs: options.offlineTimeoutMs,
    ...(options.progressTimeoutMs === undefined ? {} : { progressTimeoutMs: options.progressTimeoutMs }),
    hubId,
    sharedPresence: cluster !== undefined,
    ...(clusterUpSince === undefined ? {} : { startedAt: clusterUpSince + shift() }),
  });
  // Per agent and minute at most: a buggy client sends the same contradiction with every report.
  const reportCorrections = new OnceAMinuteLog(
    log,
    "an agent's report disagreed with the hub's rows",
    ownClock,
    {
      level: "warn",
      detail: "reason",
    },
  );
  const sync = new AgentSync(engine, (agentId, reason) => reportCorrections.record(agentId, reason));
  const refusals = new ConnectionRefusals(log, now, ownClock);
  const eventStream = new EventStream({ store, tokens, sessions });
  let relayCheck = async (_agentId: string): Promise<void> => {
    throw new HubRequestError(503, "this hub is still starting; try again");
  };
  const shown = steps ? shownTime(() => steps.currentOffsetMs()) : isoTime;
  const app = createApiApp({
    store,
    tokens,
    engine,
    metrics,
    maxArtifactBytes: options.maxArtifactBytes,
    isOnline: (id) => registry.isOnline(id),
    sharedPresence: cluster !== undefined,
    send: (id, message) => registry.send(id, message),
    // Bound once the wake-up listener runs (below); before that the hub serves no request.
    ...(options.database ? { relayCheck: (id: string) => relayCheck(id) } : {}),
    sessions,
    refusals,
    log,
    now: time,
    shownTime: shown,
    eventStream,
  });
  const server = createServer(whileConnected(lingerAfterUnreadBody(app)));
  // Node cuts any request still arriving after 5 minutes (requestTimeout), so an artifact upload of
  // a few GB (max_artifact_mb is 4096) on an ordinary link failed with 408 however steadily it
  // came. A request may take as long as its bytes keep coming; a connection silent this long (a
  // stalled or slowloris client) is dropped instead. Headers must still arrive within a minute.
  server.requestTimeout = 0;
  server.timeout = options.idleTimeoutMs ?? 120_000;
  timeoutsAfterInput(server);
  // Idle spans on the hub's own clock: a wall-clock step is no time a connection sat idle.
  limitIdleConnections(server, { log, now: ownClock });
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
    ...(options.maxConnectsPerMinute === undefined
      ? {}
      : { maxConnectsPerMinute: options.maxConnectsPerMinute }),
    ...(options.helloTimeoutMs === undefined ? {} : { helloTimeoutMs: options.helloTimeoutMs }),
    refusals,
    now,
    elapsed: ownClock,
    ...(cluster ? { presenceElsewhere: clusterPresenceCheck(cluster, hubId, hubTimeoutMs) } : {}),
  });
  const timers: NodeJS.Timeout[] = [];
  const judges: JudgingTimer[] = [];
  const retention = options.reportRetention ?? { keepPerAgent: 500, keepMs: 90 * 86_400_000 };
  const pruneEveryMs = retention.everyMs ?? 60_000;
  const retentionNow = retentionClock(time, ownClock, await store.lastReportReceivedAt());
  // One agent token must not fill the hub's disk: reports are kept by count per agent and by age.
  // In a cluster one hub a period does it (a claimed tick), and also deletes the chunks of
  // artifact uploads a killed hub left behind.
  timers.push(
    every(pruneEveryMs, async () => {
      try {
        const removed = await store.tx(async (t) => {
          if (cluster && !(await t.claimTick("prune", hubId, time(), pruneEveryMs))) return 0;
          return t.pruneReports(retention.keepPerAgent, retentionNow() - retention.keepMs);
        });
        if (removed > 0) log.info("pruned old reports", { removed });
        if (cluster) await cluster.sweepAbandonedUploads(time() - 86_400_000);
      } catch (error) {
        log.error("pruning reports failed", { error: String(error) });
      }
    }),
  );
  // Uploads that never became a release (refused, failed, or never published) filled the disk.
  const unused = options.unusedArtifacts ?? { keepMs: 86_400_000, everyMs: 3_600_000 };
  const sweepUnused = () => removeUnusedArtifacts(store, log, time() - unused.keepMs, shown);
  timers.push(every(unused.everyMs, sweepUnused));
  // Also once at start: a hub restarted more often than `everyMs` (upgrades, a crash loop, a
  // nightly restart under a short interval) never reached its first sweep. Not awaited: a big
  // artifacts/ must not hold up the listening socket, and a failure is only logged.
  const startSweep = setTimeout(() => void sweepUnused(), 0);
  startSweep.unref();
  timers.push(startSweep);
  // On one hub every tick runs. In a cluster each hub tries every interval and the one that claims
  // the tick (in the tick's own transaction) runs it, so it runs once per interval across hubs:
  // due times on a grid of the interval (`nextDueAt`), claimed as of when the timer fired.
  // Cluster: when this hub's heartbeats got through, on the monotonic clock.
  const beats = new OwnHeartbeats(options.now ?? monotonicNow, hubTimeoutMs);
  // A tick fails alike every interval while the database is away (5 lines a second at 0.2 s).
  const tickFailed = new OnceAMinuteLog(log, "rollout tick failed", ownClock);
  const heartbeatFailed = new OnceAMinuteLog(log, "hub heartbeat failed", ownClock);
  // The tick judges deadlines (progress and offline timeouts, waves' waits): after a stall of this
  // process it runs once the input that arrived meanwhile is read (`everyAfterInput`) and the
  // messages read are applied (`settled`), or an agent whose report came in time was timed out.
  let ticking = false;
  judges.push(
    // Deadlines are judged as of `at`, when the timer fired (before the input read): a stall while
    // the messages read are applied, or during the tick's own transaction, must not move the
    // judgement past input that is still unread.
    everyAfterInput(
      options.tickIntervalMs,
      (at) => {
        if (ticking) return;
        ticking = true;
        void (async () => {
          try {
            await agents.settled();
            // Heartbeats carry the database's clock, so the cut-off is taken from it too: a hub whose
            // clock ran ahead released every other hub's agents.
            if (cluster)
              await engine.claimedTick(
                options.tickIntervalMs,
                await beats.silentCutoff(() => cluster.clock()),
                at,
              );
            else await engine.tick(at);
          } catch (error) {
            tickFailed.record(undefined, String(error));
          } finally {
            ticking = false;
          }
        })();
      },
      time,
    ),
  );
  let mustStop: (error: BadInputError) => void = () => {};
  const stopping = new Promise<BadInputError>((resolve) => {
    mustStop = resolve;
  });
  let closing: Promise<void> | undefined;
  if (cluster && clusterClock) {
    const heartbeatMs = options.heartbeatMs ?? 5000;
    timers.push(
      every(heartbeatMs, async () => {
        try {
          const { previous, schema } = await clusterClock.observe(() =>
            cluster.renewHeartbeat(hubId, hubTimeoutMs),
          );
          // Stopping: a heartbeat in flight found the row retired; its agents are closed anyway.
          if (closing) return;
          beats.wrote();
          // Its tables may hold what this hub's code does not know (a new state, a new column):
          // it would misread them, and its tick decides for every hub's rollouts.
          if (schema > cluster.schemaKnown && options.database)
            mustStop(
              BadInputError.single(
                options.database.file,
                options.database.key,
                `PostgreSQL at ${describeDatabaseUrl(options.database.url)} holds hub schema ${schema}, newer than this ship-hub's (${cluster.schemaKnown}): a newer ship-hub migrated it while this one ran, so this one stops; upgrade ship-hub here`,
              ),
            );
          // Another hub's tick released this hub's agents (marked offline while still connected
          // here, where nothing marks them online again) and deleted its row, in one statement: a
          // heartbeat that got through too late for the watchdog to notice. Their sockets close so
          // they say hello again, which marks them online with a new epoch. An old row that is
          // still there is this hub's own silence (the watchdog closed its agents): nobody
          // released them.
          if (previous === undefined) {
            log.error(
              "another hub presumed this hub dead and released its agents (a heartbeat got through later than cluster_hub_timeout_seconds); closing their connections so they say hello again",
              { timeoutMs: hubTimeoutMs },
            );
            agents.dropAll("hub was presumed dead");
          }
        } catch (error) {
          log.warn("hub heartbeat failed", { error: String(error) });
        }
      }),
    );
    // A timer of its own, not after the heartbeat: a database that hangs instead of failing must
    // not keep this check from running. Silent past the timeout, this hub counts as dead: the
    // others released its agents, so their sockets here must close and the agents say hello
    // again (here or elsewhere) with a new epoch.
    // Judged after the input that arrived: after this hub stalled past the timeout, a heartbeat
    // whose answer came in time is read (and counted) first, not found missing and every agent
    // dropped.
    const watchdog = everyAfterInput(Math.min(heartbeatMs, hubTimeoutMs / 2), () => {
      if (!beats.silent()) return;
      if (beats.drop())
        log.error("no heartbeat written within the hub timeout; closing this hub's agent connections", {
          timeoutMs: hubTimeoutMs,
        });
      // Every tick while silent, not once: an agent whose hello got through after the first drop
      // (the database slow, not yet gone) is on a hub the others count as dead all the same.
      agents.dropAll("hub lost its database");
    });
    judges.push(watchdog);
  } else {
    // One hub on SQLite writes its heartbeat too, for one reader: its next start after a kill
    // (SIGKILL, a power cut), which marks the agents that were connected offline as last seen then.
    // Nothing else is written while an agent stays connected, so they kept their hello's time as
    // LAST SEEN, older than every report they sent since.
    const beat = async () => {
      steps?.check();
      try {
        await store.heartbeatHub(hubId, time());
      } catch (error) {
        heartbeatFailed.record(undefined, String(error));
      }
    };
    await beat();
    timers.push(every(options.heartbeatMs ?? 5000, beat));
  }
  // Cross-hub fan-out: another hub's commit that changes a rollout wakes this one (LISTEN/NOTIFY,
  // hub/cluster/wakeup.ts), which delivers to its own agents; a periodic resync covers a missed one.
  const wakeup =
    options.database &&
    (await startClusterWakeup(
      {
        url: options.database.url,
        hubId,
        log,
        ...(options.resyncMs === undefined ? {} : { resyncMs: options.resyncMs }),
      },
      {
        deliverPending: (rolloutId, only) => engine.deliverPending(rolloutId, only),
        echoOf: (rolloutId) => engine.echoOf(rolloutId),
        wakeEvents: () => void eventStream.wake(),
        // The hub that asked cannot see this: the audit log is where the operator finds it sent.
        checkNow: (agentId) => {
          if (!registry.send(agentId, { type: "check_now", v: 1 })) return;
          store
            .appendEvent({
              at: time(),
              actor: `hub:${hubId}`,
              kind: "agent.check_sent",
              subject: agentId,
              data: {},
            })
            .catch((error: unknown) =>
              log.warn("recording a relayed check failed", { error: String(error) }),
            );
        },
      },
    ));
  if (wakeup) relayCheck = (id) => wakeup.relayCheck(id);

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, options.host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const host = options.host.includes(":") ? `[${options.host}]` : options.host;
  log.info("hub listening", {
    url: `http://${host}:${port}`,
    ...(cluster ? { hubId } : { dataDir: options.dataDir }),
  });

  return {
    url: `http://${host}:${port}`,
    port,
    server,
    store,
    tokens,
    engine,
    registry,
    hubId,
    cluster: cluster !== undefined,
    deliverPending: (rolloutId) => engine.deliverPending(rolloutId),
    wakeEventStream: () => eventStream.wake(),
    mustStop: stopping,
    close() {
      closing ??= (async () => {
        for (const timer of timers) clearInterval(timer);
        for (const judge of judges) judge.stop();
        tickFailed.close();
        heartbeatFailed.close();
        refusals.close();
        await wakeup?.close();
        sessions.stop();
        await agents.close();
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections();
        });
        // Its agents are not left online for the others to release after the hub timeout.
        if (cluster) await leaveCluster(cluster, hubId, time(), log);
        else {
          await markAgentsOfflineAtStop(store, time(), log);
          await store.close();
        }
        log.info("hub stopped");
      })();
      return closing;
    },
  };
}
