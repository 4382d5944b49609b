/**
 * The embedded SQLite store behind the async interface: one hub, one file. better-sqlite3 is
 * synchronous and has one connection, so a transaction that spans awaits must own that connection
 * until it ends: every call waits its turn in one queue, and a transaction holds the queue from
 * BEGIN IMMEDIATE to COMMIT. Operations run the synchronous store's statements unchanged.
 */
import { createWriteStream } from "node:fs";
import { lstat, open, readdir, rename, rm } from "node:fs/promises";
import { join } from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { errnoCode } from "../../shared/fs-errors.js";
import type { Logger } from "../../shared/log.js";
import { makeDirs } from "../../shared/make-dirs.js";
import { MAX_APPS } from "../../shared/protocol/messages.js";
import {
  deploymentStep,
  isRunningRollout,
  nextDeploymentState,
  UNSENT_DEPLOYMENT_STATES,
} from "../rollouts/states.js";
import { checkExpected, fixedChunks, newTotals } from "./artifact-intake.js";
import {
  ACTIVE_ROLLOUT_STATES,
  ActiveRolloutConflict,
  type ArtifactUpload,
  type AsyncStore,
  type StoredArtifactInfo,
  type StoreOps,
} from "./async-store.js";
import { deploymentId } from "./deployment-id.js";
import { type Row, toDeployment } from "./rows.js";
import { LockWait } from "./sqlite-lock-wait.js";
import type { SqliteStore } from "./sqlite-store.js";
import type { AgentRecord, DeploymentRecord, RolloutRecord, RolloutState, Store } from "./store.js";
import { nextDueAt } from "./tick-schedule.js";
import { TxGuard } from "./tx-guard.js";
import { withTxRetry } from "./tx-retry.js";

/** Store operations passed through as they are (the others are composed below). */
const DIRECT = [
  "insertToken",
  "getToken",
  "revokeToken",
  "pruneRenewedTokens",
  "revokedTokensInForce",
  "listTokens",
  "insertRelease",
  "getRelease",
  "findRelease",
  "releaseVersions",
  "listReleases",
  "upsertAgent",
  "getAgent",
  "listAgents",
  "forgetAgent",
  "setAgentOnline",
  "setAgentApps",
  "markAllAgentsOffline",
  "getRollout",
  "findRollouts",
  "listRollouts",
  "insertDeployment",
  "getDeployment",
  "listDeployments",
  "pageAgentDeployments",
  "updateDeployment",
  "countDeploymentsOfRollout",
  "listStaleDeployments",
  "listStalledDeployments",
  "listDeploymentsStuckIn",
  "insertReport",
  "listReports",
  "hasReport",
  "pruneReports",
  "lastReportReceivedAt",
  "appendEvent",
  "listEvents",
  "countAgentsOnline",
  "countForgottenAgents",
  "countRolloutsByState",
  "countDeploymentsByState",
] as const satisfies readonly (keyof Store)[];
type Direct = (typeof DIRECT)[number];

type Enter = <T>(operation: string, fn: () => T) => Promise<T>;

/** One queue for the single connection: each call runs after the previous one settled. */
class ConnectionQueue {
  private tail: Promise<unknown> = Promise.resolve();
  run<T>(fn: () => T | Promise<T>): Promise<T> {
    const result = this.tail.then(fn);
    this.tail = result.catch(() => undefined);
    return result;
  }
}

function activeOther(sync: SqliteStore, app: string, except: string): RolloutRecord | undefined {
  return sync
    .listRollouts({ states: ACTIVE_ROLLOUT_STATES, limit: 10_000 })
    .find((r) => r.id !== except && sync.getRelease(r.releaseId)?.app === app);
}

/** Presence and periodic jobs: one writer at a time, so plain conditional UPDATEs suffice. */
function sqlitePresence(sync: SqliteStore, enter: Enter) {
  const run = (sql: string, ...args: unknown[]) => sync.statement(sql).run(...args).changes;
  return {
    claimTick: (name: string, hubId: string, now: number, intervalMs: number) =>
      enter("claimTick", () => {
        const row = sync.statement("SELECT due_at FROM ticks WHERE name = ?").get(name) as
          | { due_at: number }
          | undefined;
        if (row && row.due_at > now) return false;
        const next = row ? nextDueAt(row.due_at, now, intervalMs) : now + intervalMs;
        run(
          "INSERT INTO ticks (name, due_at, hub_id) VALUES (?, ?, ?) ON CONFLICT (name) DO UPDATE SET due_at = excluded.due_at, hub_id = excluded.hub_id",
          name,
          next,
          hubId,
        );
        return true;
      }),
    claimAgent: (agentId: string, hubId: string, at: number) =>
      enter("claimAgent", () => {
        const row = sync
          .statement(
            "UPDATE agents SET online = 1, hub_id = ?, epoch = epoch + 1, last_seen = ? WHERE id = ? RETURNING epoch",
          )
          .get(hubId, at, agentId) as { epoch: number } | undefined;
        return row?.epoch;
      }),
    helloAgent: (agent: AgentRecord, hubId: string, at: number) =>
      enter("helloAgent", () =>
        sync.transaction(() => {
          const wasOnline = sync.getAgent(agent.id)?.online ?? false;
          sync.upsertAgent({ ...agent, online: true, lastSeen: at });
          const row = sync
            .statement("UPDATE agents SET hub_id = ?, epoch = epoch + 1 WHERE id = ? RETURNING epoch")
            .get(hubId, agent.id) as { epoch: number };
          return { epoch: row.epoch, wasOnline };
        }),
      ),
    releaseAgent: (agentId: string, hubId: string, epoch: number, at: number) =>
      enter(
        "releaseAgent",
        () =>
          run(
            "UPDATE agents SET online = 0, last_seen = ? WHERE id = ? AND hub_id = ? AND epoch = ? AND online = 1",
            at,
            agentId,
            hubId,
            epoch,
          ) > 0,
      ),
    heartbeatHub: (hubId: string, at: number) =>
      enter("heartbeatHub", () => {
        run(
          "INSERT INTO hubs (id, heartbeat_at) VALUES (?, ?) ON CONFLICT (id) DO UPDATE SET heartbeat_at = excluded.heartbeat_at",
          hubId,
          at,
        );
      }),
    releaseSilentHubs: (before: number) =>
      enter("releaseSilentHubs", () =>
        sync.transaction(() => {
          const rows = sync
            .statement(`UPDATE agents SET online = 0, last_seen = MAX(last_seen,
                COALESCE((SELECT h.heartbeat_at FROM hubs h WHERE h.id = agents.hub_id), ?))
              WHERE online = 1 AND hub_id IS NOT NULL
              AND hub_id NOT IN (SELECT id FROM hubs WHERE heartbeat_at >= ?) RETURNING id`)
            .all(before, before) as { id: string }[];
          run("DELETE FROM hubs WHERE heartbeat_at < ?", before);
          return rows.map((r) => r.id).sort();
        }),
      ),
  };
}

/** Where `send` leads: a row inserted in one of these was sent by the inserting transaction. */
const SENT_STATES = UNSENT_DEPLOYMENT_STATES.map((s) => deploymentStep(s, "send"));

function sqliteOps(sync: SqliteStore, enter: Enter): StoreOps {
  const direct = Object.fromEntries(
    DIRECT.map((name) => {
      const method = sync[name] as (...args: unknown[]) => unknown;
      return [name, (...args: unknown[]) => enter(name, () => method.apply(sync, args))];
    }),
  ) as unknown as Pick<StoreOps, Direct>;
  const isActive = (state: RolloutState) => ACTIVE_ROLLOUT_STATES.includes(state);
  // One writer at a time: check-then-act inside the write transaction cannot race.
  const refuseSecondActive = (rolloutId: string, releaseId: string) => {
    const app = sync.getRelease(releaseId)?.app;
    const other = app === undefined ? undefined : activeOther(sync, app, rolloutId);
    if (app !== undefined && other) throw new ActiveRolloutConflict(app, other.id);
  };
  return {
    ...direct,
    lockRollout: (id) => enter("lockRollout", () => sync.getRollout(id)),
    // BEGIN IMMEDIATE: this transaction is the only writer already.
    lockAppReleases: () => enter("lockAppReleases", () => undefined),
    lockFleet: () => enter("lockFleet", () => undefined),
    hasArtifact: (sha256) => enter("hasArtifact", () => sync.getArtifact(sha256) !== undefined),
    insertRollout: (rollout) =>
      enter("insertRollout", () =>
        sync.transaction(() => {
          if (isActive(rollout.state)) refuseSecondActive(rollout.id, rollout.releaseId);
          sync.insertRollout(rollout);
        }),
      ),
    updateRollout: (id, patch) =>
      enter("updateRollout", () =>
        sync.transaction(() => {
          const current = sync.getRollout(id);
          if (current && patch.state && isActive(patch.state) && !isActive(current.state))
            refuseSecondActive(id, current.releaseId);
          sync.updateRollout(id, patch);
        }),
      ),
    insertDeployments: (ds, sent) =>
      enter("insertDeployments", () =>
        sync.transaction(() => {
          const added = ds.filter((d) => sync.insertDeployment(d));
          if (sent)
            for (const d of added)
              if (SENT_STATES.includes(d.state))
                sync.appendEvent({
                  ...sent,
                  subject: deploymentId(d.rolloutId, d.agentId),
                  data: { agent: d.agentId },
                });
          return added.length;
        }),
      ),
    // Each id once, as PostgreSQL's `= ANY` reads them, however often it is named.
    getDeployments: (ids) =>
      enter("getDeployments", () => [...new Set(ids)].flatMap((id) => sync.getDeployment(id) ?? [])),
    getAgents: (ids) => enter("getAgents", () => [...new Set(ids)].flatMap((id) => sync.getAgent(id) ?? [])),
    listDeploymentsOfAgents: ({ rolloutId, agentIds, states }) =>
      enter("listDeploymentsOfAgents", () =>
        (
          sync
            .statement(`SELECT * FROM deployments WHERE rollout_id = ?
              AND agent_id IN (SELECT value FROM json_each(?)) AND state IN (SELECT value FROM json_each(?))`)
            .all(rolloutId, JSON.stringify(agentIds), JSON.stringify(states)) as Row[]
        ).map(toDeployment),
      ),
    listOnlineAgentIds: () =>
      enter("listOnlineAgentIds", () =>
        (sync.statement("SELECT id FROM agents WHERE online = 1").all() as Row[]).map((r) => String(r.id)),
      ),
    markDueDeploymentsSent: ({ rolloutId, agentIds }, sent) =>
      enter("markDueDeploymentsSent", () =>
        sync.transaction(() => {
          const rollout = sync.getRollout(rolloutId);
          if (!rollout || !isRunningRollout(rollout.state)) return [];
          const due = sync
            .statement(`SELECT * FROM deployments WHERE rollout_id = ? AND wave <= ?
                AND agent_id IN (SELECT value FROM json_each(?)) AND state IN (SELECT value FROM json_each(?))`)
            .all(
              rolloutId,
              rollout.currentWave,
              JSON.stringify(agentIds),
              JSON.stringify(UNSENT_DEPLOYMENT_STATES),
            ) as Row[];
          return due.map((row) => {
            const d = toDeployment(row);
            const patch = {
              state: deploymentStep(d.state, "send"),
              attempts: d.attempts + 1,
              updatedAt: sent.at,
            };
            sync.updateDeployment(d.id, patch);
            sync.appendEvent({
              at: sent.at,
              actor: sent.actor,
              kind: sent.kind,
              subject: d.id,
              data: { agent: d.agentId },
            });
            return { ...d, ...patch };
          });
        }),
      ),
    markDeploymentsSent: (ids, at) =>
      enter("markDeploymentsSent", () =>
        sync.transaction(() =>
          ids.flatMap((id): DeploymentRecord[] => {
            const d = sync.getDeployment(id);
            const state = d && nextDeploymentState(d.state, "send");
            if (!d || !state) return [];
            sync.updateDeployment(id, { state, attempts: d.attempts + 1, updatedAt: at });
            return [{ ...d, state, attempts: d.attempts + 1, updatedAt: at }];
          }),
        ),
      ),
    redeliverDeployments: (ids, at) =>
      enter("redeliverDeployments", () =>
        sync.transaction(() =>
          ids.flatMap((id): DeploymentRecord[] => {
            const d = sync.getDeployment(id);
            const state = d && nextDeploymentState(d.state, "redeliver");
            if (!d || !state) return [];
            sync.updateDeployment(id, { state, error: null, updatedAt: at });
            return [{ ...d, state, error: null, updatedAt: at }];
          }),
        ),
      ),
    updateDeployments: (updates) =>
      enter("updateDeployments", () =>
        sync.transaction(() => {
          for (const { id, ...patch } of updates) sync.updateDeployment(id, patch);
        }),
      ),
    insertReports: (reports) =>
      enter("insertReports", () =>
        sync.transaction(() => reports.filter((r) => sync.insertReport(r)).map((r) => r.id)),
      ),
    setAppStatuses: (updates) =>
      enter("setAppStatuses", () =>
        sync.transaction(() => {
          for (const { agentId, status } of updates) {
            const agent = sync.getAgent(agentId);
            const known = agent?.apps.some((a) => a.app === status.app) ?? false;
            // An agent's record keeps no more apps than a hello may bring.
            if (agent && (known || agent.apps.length < MAX_APPS))
              sync.setAgentApps(agentId, [...agent.apps.filter((a) => a.app !== status.app), status]);
          }
        }),
      ),
    appendEvents: (events) =>
      enter("appendEvents", () =>
        sync.transaction(() => {
          for (const e of events) sync.appendEvent(e);
        }),
      ),
    ...sqlitePresence(sync, enter),
    latestEventCursor: () => enter("latestEventCursor", () => String(sync.lastEventId())),
    readEventsAfter: (cursor, limit) =>
      enter("readEventsAfter", () => {
        const events = sync.listEventsAfter(Number(cursor), limit);
        return { events, cursor: events.length > 0 ? String(events.at(-1)?.id) : cursor };
      }),
  };
}

/** An artifact's file name in the artifacts directory: its sha256. */
const ARTIFACT_NAME = /^[0-9a-f]{64}$/;

export interface SqliteAsyncOptions {
  /** Where the lock's warning goes. */
  log?: Logger | undefined;
  /** How long a call waits for a lock another process holds (default DEFAULT_LOCK_WAIT_MS). */
  lockWaitMs?: number | undefined;
}

/** The async store over `sync`; artifacts are files in `artifactsDir` named by their sha256. */
export function sqliteAsyncStore(
  sync: SqliteStore,
  artifactsDir: string,
  options: SqliteAsyncOptions = {},
): AsyncStore {
  const core = new SqliteCore(sync, artifactsDir, options);
  return {
    ...core.ops,
    tx: (fn) => core.tx(fn),
    close: () => core.close(),
    writeArtifact: (body, upload) => core.writeArtifact(body, upload),
    getArtifactInfo: (sha256) => core.getArtifactInfo(sha256),
    readArtifact: (sha256, range) => core.readArtifact(sha256, range),
    deleteUnusedArtifacts: (before) => core.deleteUnusedArtifacts(before),
  };
}

class SqliteCore {
  private readonly queue = new ConnectionQueue();
  private readonly guard = new TxGuard();
  /**
   * The temporary files of this hub's uploads under way. The sweep's leftover rule (older than the
   * keep time) took a slow upload's file from under it between its last byte and its rename, and
   * the upload was answered 500: an upload under way is nobody's leftover, however old its file.
   */
  private readonly uploading = new Set<string>();
  private readonly lock: LockWait;
  readonly ops: StoreOps;

  constructor(
    readonly sync: SqliteStore,
    private readonly artifactsDir: string,
    options: SqliteAsyncOptions,
  ) {
    // A lock another process holds is waited for on timers (LockWait), never inside a call.
    sync.busyTimeout(0);
    this.lock = new LockWait({
      file: sync.file,
      probe: { writable: () => sync.writableNow() },
      log: options.log,
      ...(options.lockWaitMs === undefined ? {} : { waitMs: options.lockWaitMs }),
    });
    this.ops = sqliteOps(sync, (operation, fn) => {
      this.guard.outside(operation);
      const askedAt = this.lock.now();
      // Each try takes its own turn of the queue: a write waiting for the lock holds no read up.
      return this.lock.retry(
        () =>
          this.queue.run(() => {
            const value = fn();
            this.lock.passed();
            return value;
          }),
        askedAt,
      );
    });
  }

  tx<T>(fn: (t: StoreOps) => Promise<T>): Promise<T> {
    this.guard.outside("tx");
    const askedAt = this.lock.now();
    return withTxRetry(() =>
      // A BEGIN that finds the lock held gives the queue's turn up until its next try.
      this.lock.retry(
        () =>
          this.queue.run(() =>
            this.guard.run(async (scope) => {
              const t = sqliteOps(this.sync, async (operation, op) => {
                TxGuard.live(scope, operation);
                return op();
              });
              // BEGIN IMMEDIATE takes the write lock, so nothing inside waits for it again.
              this.sync.begin();
              this.lock.passed();
              try {
                const value = await fn(t);
                this.sync.commit();
                return value;
              } catch (error) {
                this.sync.rollback();
                throw error;
              }
            }),
          ),
        askedAt,
      ),
    );
  }

  async close(): Promise<void> {
    await this.queue.run(() => this.sync.close());
  }

  async writeArtifact(body: AsyncIterable<Uint8Array>, upload: ArtifactUpload): Promise<StoredArtifactInfo> {
    this.guard.outside("writeArtifact");
    // Owner-only, as hub.db: a release's files can hold its configs' secrets, and a data dir the
    // operator made (0755) is not made 700 by the hub.
    await makeDirs(this.artifactsDir, 0o700);
    const temp = join(this.artifactsDir, `.upload-${process.pid}-${Date.now()}-${Math.random()}`);
    const totals = newTotals();
    this.uploading.add(temp);
    try {
      await pipeline(
        Readable.from(fixedChunks(body, 1 << 20, upload.maxBytes, totals)),
        createWriteStream(temp, { mode: 0o600 }),
      );
      const sha256 = totals.hash.digest("hex");
      checkExpected(upload.expectedSha256, sha256, totals.size);
      await upload.accept?.();
      const path = join(this.artifactsDir, sha256);
      // The file and its row in one turn of the queue: a sweep (deleteUnusedArtifacts) between the
      // two removed the file of a row, or the row of a file, just written.
      await this.queue.run(async () => {
        await rename(temp, path);
        // Refused for a lock, the file stays without its row: a leftover the sweep removes.
        await this.lock.run(() =>
          this.sync.putArtifact({ sha256, size: totals.size, path, created: upload.created }),
        );
      });
      return (await this.getArtifactInfo(sha256)) ?? { sha256, size: totals.size, created: upload.created };
    } finally {
      await rm(temp, { force: true });
      this.uploading.delete(temp);
    }
  }

  async deleteUnusedArtifacts(before: number): Promise<string[]> {
    this.guard.outside("deleteUnusedArtifacts");
    // One turn of the queue: no upload stores its file and row, and no release is inserted, while
    // the rows are chosen and their files removed. A DELETE that finds the lock held changes
    // nothing and gives the turn up until its next try (LockWait.retry).
    return this.lock.retry(() =>
      this.queue.run(async () => {
        const gone = this.sync
          .statement(
            `DELETE FROM artifacts WHERE created < ? AND sha256 NOT IN (SELECT json_extract(source, '$.sha256')
              FROM releases WHERE json_extract(source, '$.sha256') IS NOT NULL) RETURNING sha256`,
          )
          .all(before) as { sha256: string }[];
        this.lock.passed();
        // This store's own file for each, by name: not the path in the row, which names the data dir
        // the artifact was uploaded to (a copy of it, if the data dir was moved since).
        for (const { sha256 } of gone) await rm(join(this.artifactsDir, sha256), { force: true });
        await this.removeLeftovers(before);
        return gone.map((a) => a.sha256);
      }),
    );
  }

  /**
   * Files of uploads a killed or crashed hub left (`.upload-*`, or an artifact's file whose row was
   * never written), older than `before`: an upload under way writes its file as its bytes come, and
   * one silent for 2 minutes is dropped, so an old one is nobody's.
   */
  private async removeLeftovers(before: number): Promise<void> {
    let names: string[];
    try {
      names = await readdir(this.artifactsDir);
    } catch {
      return; // no upload yet
    }
    // A file a release names stays even without its row (a hub.db restored from an older backup
    // than artifacts/): put back, the row makes it served again.
    const known = new Set(
      (
        await this.lock.run(
          () =>
            this.sync
              .statement(
                `SELECT sha256 FROM artifacts UNION SELECT json_extract(source, '$.sha256') FROM releases
                  WHERE json_extract(source, '$.sha256') IS NOT NULL`,
              )
              .all() as { sha256: string }[],
        )
      ).map((a) => a.sha256),
    );
    for (const name of names) {
      if (!name.startsWith(".upload-") && !(ARTIFACT_NAME.test(name) && !known.has(name))) continue;
      const path = join(this.artifactsDir, name);
      if (this.uploading.has(path)) continue;
      const stat = await lstat(path).catch(() => undefined);
      if (stat?.isFile() && stat.mtimeMs < before) await rm(path, { force: true });
    }
  }

  async getArtifactInfo(sha256: string): Promise<StoredArtifactInfo | undefined> {
    this.guard.outside("getArtifactInfo");
    const a = await this.queue.run(() => this.lock.run(() => this.sync.getArtifact(sha256)));
    return a && { sha256: a.sha256, size: a.size, created: a.created };
  }

  async readArtifact(
    sha256: string,
    range?: { start: number; end: number },
  ): Promise<AsyncIterable<Buffer> | undefined> {
    this.guard.outside("readArtifact");
    const a = await this.queue.run(() => this.lock.run(() => this.sync.getArtifact(sha256)));
    if (!a) return undefined;
    if (range && range.end <= range.start) return Readable.from([]);
    // This store's file by its name, not the path in the row: that names the data dir as the hub
    // that stored it was given it (relative to its working directory, or where the data dir was
    // before it was moved or restored elsewhere), and every download of it then failed. Opened
    // here, so a file that is gone fails the request before its answer starts, not as a cut
    // connection with no answer at all. A file gone from under its row (deleted by hand, a restore
    // that left artifacts/ out) is no artifact to serve, as in the PostgreSQL store whose rows are
    // gone: the hub answered 500 "internal error", which agents retry for an hour, the rollout
    // showing them in progress with no error.
    const file = await open(join(this.artifactsDir, a.sha256), "r").catch((error: unknown) => {
      if (errnoCode(error) === "ENOENT") return undefined;
      throw error;
    });
    return file?.createReadStream(range ? { start: range.start, end: range.end - 1 } : {});
  }
}
