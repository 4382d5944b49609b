/**
 * The store on PostgreSQL, shared by every hub of a cluster (driver: `postgres`, porsager's).
 * Operations are in postgres-ops.ts; this file owns the connection pool, migrations,
 * transactions with retry, and artifact contents, which live in the database in fixed-size chunks
 * so any hub serves any artifact and no hub ever holds one whole in memory.
 */
import { randomUUID } from "node:crypto";
import { Readable } from "node:stream";
import postgres from "postgres";
import { ANSWER_TIMEOUT_SECONDS, answerWithin, DatabaseNoAnswer, TxAnswerWatch } from "./answer-deadline.js";
import { checkExpected, fixedChunks, newTotals } from "./artifact-intake.js";
import type { ArtifactUpload, AsyncStore, StoredArtifactInfo, StoreOps } from "./async-store.js";
import { beginTx } from "./postgres-begin.js";
import { describeAnswers, type HostAnswer, surveyHosts } from "./postgres-hosts.js";
import { postgresMigrations } from "./postgres-migrations.js";
import { DB_NOW_MS, type PgTypes, postgresOps } from "./postgres-ops.js";
import { driverTarget, urlHosts } from "./postgres-url.js";
import { num, type Row, str, strOrNull } from "./rows.js";
import { FIRST_TABLES, NotHubDatabase, SchemaTooNew } from "./schema-guard.js";
import { TxGuard } from "./tx-guard.js";
import { withTxRetry } from "./tx-retry.js";

export interface PostgresStoreOptions {
  /** Connections in this hub's pool. */
  maxConnections?: number;
  /** Bytes per stored artifact chunk (tests use small ones to cross chunk boundaries). */
  artifactChunkBytes?: number;
  /** How long a store call waits for the database's answer (answer-deadline.ts). */
  answerTimeoutMs?: number;
}

export interface PostgresStore extends AsyncStore {
  /** `waitSeconds`: how long queries still running may finish (default 5); 0 ends them now. */
  close(waitSeconds?: number): Promise<void>;
  /**
   * `listener` is called each time the pool's connections stopped answering while a new
   * connection answered at once, and were replaced (the network path lost, not the database).
   */
  onConnectionsReplaced(listener: (silentMs: number) => void): void;
  /** Deletes chunks of uploads that never finished (a hub died mid-upload) older than `before`. */
  sweepAbandonedUploads(before: number): Promise<number>;
  /**
   * Compares the fingerprint of this process's JWT secret with the one the cluster's hubs sign
   * with. A hub (`hubId` given) records its own when none is stored, or when it differs and no
   * other hub heartbeated within `liveForMs` (the secret was changed with every hub stopped), and
   * writes its first heartbeat in the same transaction, so two hubs starting at once with
   * different secrets cannot both pass. Without `hubId` (token create) nothing is written.
   */
  claimSecret(fingerprint: string, claim: SecretClaim): Promise<SecretVerdict>;
  /**
   * Writes this hub's heartbeat, stamped with the database's clock when the write runs: hubs
   * compare heartbeats with one clock whatever their own say, and a heartbeat that waited for a
   * connection is not written already old. Returns that time (`at`), the heartbeat it replaces
   * (undefined when its row was gone: another hub presumed it dead, released its agents and
   * deleted the row, also while this write waited for that delete) and the database's schema
   * version (a newer hub may have migrated it since this one started). A retired hub (retireHub) stays retired: a heartbeat still in flight when
   * it stopped writes nothing.
   */
  renewHeartbeat(
    hubId: string,
    timeoutMs: number,
  ): Promise<{ at: number; previous: number | undefined; schema: number }>;
  /**
   * The database's clock (ms since the epoch): what heartbeats are stamped with, so the cut-off
   * for silent hubs (releaseSilentHubs) is taken from it too, not from this hub's clock.
   */
  clock(): Promise<number>;
  /**
   * A hub joining the cluster (after its first heartbeat): since when some hub has run without a
   * break, by the database's clock. Now, when no other hub heartbeated within `liveForMs` (the
   * whole cluster was down); else the time recorded when it last came up.
   */
  clusterUpSince(hubId: string, liveForMs: number): Promise<number>;
  /** The schema version this hub's migrations lead to. */
  readonly schemaKnown: number;
  /**
   * A hub stopping cleanly: its agents still marked online here are marked offline (with their
   * agent.offline events) and its row is marked retired, so neither its agents nor a secret change
   * wait for cluster_hub_timeout_seconds. The next claimed tick deletes the row as it does a silent
   * hub's; until then it keeps a heartbeat that was in flight at the stop from making the row live
   * again. The released agent ids.
   */
  retireHub(hubId: string, at: number): Promise<string[]>;
  /**
   * An agent process (`instance`, sent at the upgrade) asking to connect to `hubId`. Recorded as
   * the agent's process unless another process is online on another hub that heartbeated within
   * `liveForMs` (by the database's clock): then that presence is returned, and nothing changes.
   */
  claimInstance(
    agentId: string,
    instance: string,
    hubId: string,
    liveForMs: number,
    /** The connecting process's address, recorded with it: the next refusal compares its own. */
    remote?: string,
  ): Promise<{ heldBy: string; hostname: string | undefined; remote: string | undefined } | undefined>;
}

export interface SecretClaim {
  hubId?: string;
  at: number;
  /** A hub heartbeating within this long (by the database's clock) is running. */
  liveForMs: number;
}

export type SecretVerdict =
  | { matches: true; replaced: boolean }
  | { matches: false; liveHubs: number; lastHeartbeatAgoMs: number };

// A retired hub's row (retireHub): it counts as silent, and a late heartbeat does not revive it.
const RETIRED = 0;

// One arbitrary constant: the advisory lock every hub takes to migrate, so only one does at a time.
const MIGRATION_LOCK = 0x5_41_9;
// Another, for claimSecret: one hub at a time compares and records the cluster's secret.
const SECRET_LOCK = 0x5_41_a;
// How long an agent id's first process holds it at the upgrade before its hello (the hub's hello
// timeout is 30 s): a process that never said hello does not keep its clone out for good.
const FIRST_CLAIM_MS = 60_000;
// Chunks fetched per query when streaming an artifact out: memory holds at most this many.
const CHUNKS_PER_READ = 4;

/**
 * application_name of a hub's wake-up listener (hub/cluster/wakeup.ts), followed by the hub's id:
 * the one connection a running hub always holds, so another hub can tell it from a killed one.
 */
export const WAKEUP_APPLICATION_NAME = "ship-hub wake-up";

/**
 * Seconds before a pool's next connection attempt after `retries` failed in a row. The driver's
 * default (3^retries / 100 s, up to 20 s) counts the failures of every connection of the pool: a
 * database away for a few seconds under a busy hub left the hub answering 503 and writing no
 * heartbeat for up to 20 s after it was back, long enough for a 30 s hub timeout to release its
 * agents after a 15 s restart. At most 2 s here, with the same jitter.
 */
export function reconnectBackoff(retries: number): number {
  return (0.5 + Math.random() / 2) * Math.min(0.05 * 2 ** retries, 2);
}

/** A pool that parses as the store's operations expect (postgres-ops.ts). */
export function connectPostgres(url: string, max: number): postgres.Sql<PgTypes> {
  const target = driverTarget(url);
  return postgres(target.url, {
    ...target.options,
    max,
    // The driver's array-type lookup, sent first on every new connection, is a promise nobody
    // holds: a pool ended while one waited for it (the hub stopping, a silent pool replaced)
    // rejected it unhandled, and Node ended the hub; lost mid-way with a call waiting, the driver
    // reconnected at once, over and over, until the call's deadline. The operations pass lists as
    // JSON and read no arrays.
    fetch_types: false,
    backoff: reconnectBackoff,
    onnotice: () => {},
    types: {
      // Timestamps are ms since the epoch, far below 2^53; counts too.
      bigint: { to: 20, from: [20], serialize: (x: number) => String(x), parse: (x: string) => Number(x) },
      // JSON stays text both ways: the records were validated on the way in, and rows.ts parses.
      jsonText: { to: 114, from: [114, 3802], serialize: (x: string) => x, parse: (x: string) => x },
    },
  });
}

/**
 * The server takes no writes: a standby (in recovery), or `default_transaction_read_only` set for
 * the database or the user. The hub's first write failed with "cannot execute CREATE TABLE in a
 * read-only transaction", exit 1, which systemd restarted for ever.
 */
export class ReadOnlyDatabase extends Error {
  constructor(readonly standby: boolean) {
    super(standby ? "the server is a standby (in recovery)" : "default_transaction_read_only is on");
    this.name = "ReadOnlyDatabase";
  }
}

/**
 * A URL of several hosts where none answered as the primary: each refused, is a standby, or was
 * silent until the time to try each ran out (the driver goes round the list for ever).
 */
export class NoPrimary extends Error {
  constructor(
    readonly answers: HostAnswer[],
    seconds?: number,
  ) {
    super(
      `no primary among its hosts${seconds === undefined ? "" : ` within ${seconds} s`}: ${describeAnswers(answers)}`,
    );
    this.name = "NoPrimary";
  }
}

/** The first answer of the server the pool reached: may the hub write there? */
async function checkWritable(sql: postgres.Sql<PgTypes>, url: string): Promise<void> {
  const target = driverTarget(url);
  const several = target.options.target_session_attrs !== undefined;
  const connectSeconds = target.options.connect_timeout;
  // connect_timeout=0: the operator asked to wait for the server however long it takes.
  const seconds = connectSeconds === 0 ? undefined : connectSeconds * urlHosts(url).length + 5;
  const ask = sql`SELECT pg_is_in_recovery() AS standby, current_setting('transaction_read_only') AS ro`;
  const query = seconds === undefined ? ask : answerWithin(ask, seconds * 1000);
  let row: Row | undefined;
  if (!several) [row] = await query;
  else {
    // Each server asked alone beside the pool: once every one gave a certain "no", waiting
    // longer only repeats it.
    const survey = surveyHosts(url, connectSeconds);
    const certainNo = survey.verdict.then(async (none) => {
      if (none) throw new NoPrimary(await survey.answers);
      return new Promise<never>(() => {});
    });
    try {
      [row] = await Promise.race([query, certainNo]);
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      if (error instanceof DatabaseNoAnswer || code === "CONNECTION_DESTROYED")
        throw new NoPrimary(await survey.answers, seconds);
      throw error;
    } finally {
      survey.stop();
    }
  }
  if (row?.standby === true || row?.ro === "on") throw new ReadOnlyDatabase(row?.standby === true);
}

/**
 * No schema of the search_path exists (`?search_path=` or `options=-csearch_path=` naming one not
 * yet created): the hub had nowhere to create its tables, "no schema has been selected to create
 * in (3F000)", exit 1, and systemd started it again for ever.
 */
export class NoSchema extends Error {
  constructor(readonly searchPath: string) {
    super(`no schema of search_path ${searchPath} exists`);
    this.name = "NoSchema";
  }
}

/**
 * Refuses a database whose schema (where the hub creates its tables) is neither empty nor a hub's:
 * a hub's holds `schema_version` with an integer `version` of at least 1 and its first tables,
 * all written in one transaction. Tables an extension installed (PostGIS's) are not counted.
 */
async function checkHubDatabase(t: postgres.TransactionSql<PgTypes>): Promise<void> {
  const [where] = await t`SELECT current_schema() AS schema, current_setting('search_path') AS path`;
  if (where?.schema === null || where?.schema === undefined) throw new NoSchema(str(where?.path));
  const rows = await t`
    SELECT c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
      AND NOT EXISTS (SELECT 1 FROM pg_depend d
        WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')
    ORDER BY c.relname`;
  const tables = rows.map((r) => str(r.name));
  if (tables.length === 0 || (tables.length === 1 && tables[0] === "schema_version")) return;
  const [column] = await t`
    SELECT data_type AS type FROM information_schema.columns
    WHERE table_schema = current_schema() AND table_name = 'schema_version' AND column_name = 'version'`;
  const ours =
    column?.type === "integer" &&
    FIRST_TABLES.every((table) => tables.includes(table)) &&
    num((await t`SELECT COALESCE(MAX(version), 0) AS v FROM schema_version`)[0]?.v) >= 1;
  if (!ours) throw new NotHubDatabase(tables);
}

export async function migratePostgres(sql: postgres.Sql<PgTypes>): Promise<number> {
  return beginTx(sql, async (t) => {
    await t`SELECT pg_advisory_xact_lock(${MIGRATION_LOCK})`;
    await checkHubDatabase(t);
    await t`CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)`;
    const [row] = await t`SELECT COALESCE(MAX(version), 0) AS v FROM schema_version`;
    let current = num(row?.v);
    if (current > postgresMigrations.length) throw new SchemaTooNew(current, postgresMigrations.length);
    for (; current < postgresMigrations.length; current++) {
      await t.unsafe(postgresMigrations[current] as string).simple();
      await t`INSERT INTO schema_version (version) VALUES (${current + 1})`;
    }
    return current;
  });
}

export async function openPostgresStore(
  url: string,
  options: PostgresStoreOptions = {},
): Promise<PostgresStore> {
  const sql = connectPostgres(url, options.maxConnections ?? 10);
  try {
    await checkWritable(sql, url);
    await migratePostgres(sql);
  } catch (error) {
    // Going round a list of standbys, the driver has nothing to finish.
    await sql.end({ timeout: error instanceof NoPrimary ? 0 : 5 });
    throw error;
  }
  const answerMs = options.answerTimeoutMs ?? ANSWER_TIMEOUT_SECONDS * 1000;
  const core = new PostgresCore(
    sql,
    (probe) => connectPostgres(url, probe ? 1 : (options.maxConnections ?? 10)),
    options.artifactChunkBytes ?? 1 << 20,
    answerMs,
  );
  const bounded = <T>(work: Promise<T>) => core.answer(work);
  return {
    ...core.ops,
    tx: (fn) => core.tx(fn),
    close: (waitSeconds = 5) => core.close(waitSeconds),
    onConnectionsReplaced: (listener) => core.replaced.push(listener),
    writeArtifact: (body, upload) => core.writeArtifact(body, upload),
    getArtifactInfo: (sha256) => bounded(core.getArtifactInfo(sha256)),
    readArtifact: (sha256, range) => core.readArtifact(sha256, range),
    // Housekeeping on a timer that waits for its last run: a large delete may take its time.
    deleteUnusedArtifacts: (before) => core.deleteUnusedArtifacts(before),
    sweepAbandonedUploads: (before) => core.sweepAbandonedUploads(before),
    claimSecret: (fingerprint, claim) => bounded(core.claimSecret(fingerprint, claim)),
    renewHeartbeat: (hubId, timeoutMs) => bounded(core.renewHeartbeat(hubId, timeoutMs)),
    clock: () => bounded(core.clock()),
    clusterUpSince: (hubId, liveForMs) => bounded(core.clusterUpSince(hubId, liveForMs)),
    schemaKnown: postgresMigrations.length,
    retireHub: (hubId, at) => bounded(core.retireHub(hubId, at)),
    claimInstance: (agentId, instance, hubId, liveForMs, remote) =>
      bounded(core.claimInstance(agentId, instance, hubId, liveForMs, remote)),
  };
}

/**
 * Wraps every operation of `ops()` (looked up at each call: the pool may have been replaced):
 * `check` (is this handle usable here?) before it runs, and `bound` around it (how long its answer
 * may take).
 */
function checked(
  ops: () => StoreOps,
  check: (operation: string) => void,
  bound: (run: () => Promise<unknown>) => Promise<unknown>,
): StoreOps {
  return Object.fromEntries(
    Object.keys(ops()).map((name) => [
      name,
      async (...args: unknown[]) => {
        check(name);
        const fn = ops()[name as keyof StoreOps] as (...a: unknown[]) => Promise<unknown>;
        return bound(() => fn(...args));
      },
    ]),
  ) as unknown as StoreOps;
}

class PostgresCore {
  private readonly guard = new TxGuard();
  readonly ops: StoreOps;
  /** Called after the pool was replaced (replaceSilentPool), with how long the silence lasted. */
  readonly replaced: ((silentMs: number) => void)[] = [];
  private plain: StoreOps;
  // Replaced pools, each with the timer that cuts it (replaceSilentPool).
  private readonly retiring = new Map<postgres.Sql<PgTypes>, NodeJS.Timeout>();
  private replacing: Promise<void> | undefined;
  private probe: postgres.Sql<PgTypes> | undefined;
  private closed = false;

  constructor(
    private sql: postgres.Sql<PgTypes>,
    /** A pool like the first; `probe`: one connection that only asks "are you there?". */
    private readonly connect: (probe: boolean) => postgres.Sql<PgTypes>,
    private readonly chunkBytes: number,
    private readonly answerMs: number,
  ) {
    this.plain = postgresOps(sql, { alone: true });
    this.ops = checked(
      () => this.plain,
      (operation) => this.guard.outside(operation),
      (run) => this.answer(run()),
    );
  }

  tx<T>(fn: (t: StoreOps) => Promise<T>): Promise<T> {
    this.guard.outside("tx");
    return withTxRetry(() => {
      const watch = new TxAnswerWatch(this.answerMs);
      return this.noticeSilence(
        watch.bound(
          beginTx(this.sql, (t) => {
            const txOps = postgresOps(t);
            return this.guard.run((scope) =>
              fn(
                checked(
                  () => txOps,
                  (operation) => TxGuard.live(scope, operation),
                  (run) => watch.statement(run),
                ),
              ),
            );
          }) as Promise<T>,
        ),
      );
    });
  }

  answer<T>(work: Promise<T>): Promise<T> {
    return this.noticeSilence(answerWithin(work, this.answerMs));
  }

  private async noticeSilence<T>(work: Promise<T>): Promise<T> {
    // Calls already waiting on a pool replaced meanwhile say nothing of the new one.
    const pool = this.sql;
    try {
      return await work;
    } catch (error) {
      if (error instanceof DatabaseNoAnswer && pool === this.sql) this.replaceSilentPool();
      throw error;
    }
  }

  /**
   * A call went unanswered for the whole deadline. The database may be down or frozen (then a new
   * connection gets no answer either, and nothing changes), or only the path of the connections
   * already open is gone: a NAT or firewall on the way lost its state, a failover moved the address.
   * Those connections fail nothing (no reset comes), so the driver kept handing them queries
   * (with every connection open and busy it pipelines onto them) and every request waited out the
   * deadline for as long as the kernel kept them, about 15 min. When a new connection answers
   * within the deadline, it becomes the pool; the old one is ended once its queries had that long.
   */
  private replaceSilentPool(): void {
    if (this.replacing || this.closed) return;
    const silentMs = this.answerMs;
    this.replacing = (async () => {
      const probe = this.connect(true);
      this.probe = probe;
      let answered = false;
      try {
        await answerWithin(probe`SELECT 1`, this.answerMs);
        answered = true;
      } catch {
        // Still silent: the database itself (down, frozen, overloaded), which new connections do not help.
      } finally {
        this.probe = undefined;
        await probe.end({ timeout: answered ? 5 : 0 }).catch(() => {});
      }
      if (!answered || this.closed) return;
      const fresh = this.connect(false);
      const stale = this.sql;
      this.sql = fresh;
      this.plain = postgresOps(fresh, { alone: true });
      // Its queries still running get what any caller waits for an answer; then it is cut.
      this.retiring.set(stale, setTimeout(() => void this.retire(stale, 0), this.answerMs).unref());
      for (const listener of this.replaced) listener(silentMs);
    })().finally(() => {
      this.replacing = undefined;
    });
  }

  private async retire(stale: postgres.Sql<PgTypes>, waitSeconds: number): Promise<void> {
    clearTimeout(this.retiring.get(stale));
    this.retiring.delete(stale);
    await stale.end({ timeout: waitSeconds }).catch(() => {});
  }

  async close(waitSeconds: number): Promise<void> {
    this.closed = true;
    await this.probe?.end({ timeout: 0 }).catch(() => {});
    await this.replacing;
    await Promise.all([
      this.sql.end({ timeout: waitSeconds }),
      ...[...this.retiring.keys()].map((stale) => this.retire(stale, waitSeconds)),
    ]);
  }

  async writeArtifact(body: AsyncIterable<Uint8Array>, upload: ArtifactUpload): Promise<StoredArtifactInfo> {
    this.guard.outside("writeArtifact");
    const uploadId = randomUUID();
    const totals = newTotals();
    try {
      // One chunk per statement, outside any transaction: a long upload holds no locks and does
      // not hold back vacuum; the artifacts row makes it visible.
      let seq = 0;
      for await (const chunk of fixedChunks(body, this.chunkBytes, upload.maxBytes, totals))
        await this.answer(this.sql`INSERT INTO artifact_chunks (upload_id, seq, data, created)
          VALUES (${uploadId}, ${seq++}, ${chunk}, ${upload.created})`);
      const sha256 = totals.hash.digest("hex");
      checkExpected(upload.expectedSha256, sha256, totals.size);
      await upload.accept?.();
      // Already stored (same hash, same bytes): the first copy is kept, as uploaded now (so
      // deleteUnusedArtifacts leaves it to the release about to name it), unless its chunks are
      // gone (deleted by hand, left out of a restore): then this upload's chunks are the artifact,
      // as a file uploaded again replaces a missing one in the SQLite store; the old chunks left
      // are an abandoned upload's, which sweepAbandonedUploads removes.
      const [stored] = await this.answer(this
        .sql`INSERT INTO artifacts AS a (sha256, size, upload_id, chunk_bytes, created)
        VALUES (${sha256}, ${totals.size}, ${uploadId}, ${this.chunkBytes}, ${upload.created})
        ON CONFLICT (sha256) DO UPDATE SET created = GREATEST(a.created, excluded.created),
          (upload_id, chunk_bytes) = (SELECT CASE WHEN whole THEN a.upload_id ELSE excluded.upload_id END,
              CASE WHEN whole THEN a.chunk_bytes ELSE excluded.chunk_bytes END
            FROM (SELECT count(*) = (a.size + a.chunk_bytes - 1) / a.chunk_bytes AS whole
              FROM artifact_chunks c WHERE c.upload_id = a.upload_id) chunks)
        RETURNING upload_id`);
      if (str(stored?.upload_id) !== uploadId) await this.dropUpload(uploadId);
      return (await this.getArtifactInfo(sha256)) ?? { sha256, size: totals.size, created: upload.created };
    } catch (error) {
      await this.dropUpload(uploadId).catch(() => {});
      throw error;
    }
  }

  async deleteUnusedArtifacts(before: number): Promise<string[]> {
    this.guard.outside("deleteUnusedArtifacts");
    const gone: Row[] = await withTxRetry(() =>
      beginTx(this.sql, async (t) => {
        // A release being inserted is waited for (and then seen), and none is inserted until this
        // ends: the check and the delete see the same releases.
        await t`LOCK TABLE releases IN SHARE MODE`;
        return t`DELETE FROM artifacts a WHERE a.created < ${before}
          AND NOT EXISTS (SELECT 1 FROM releases r WHERE r.source->>'sha256' = a.sha256)
          RETURNING sha256, upload_id`;
      }),
    );
    // The chunks after the lock is gone (a big artifact is thousands of rows, and publishing
    // waits for the lock); a hub that stops before this leaves them to sweepAbandonedUploads.
    for (const a of gone) await this.dropUpload(str(a.upload_id));
    return gone.map((a) => str(a.sha256));
  }

  private async dropUpload(uploadId: string): Promise<void> {
    await this.sql`DELETE FROM artifact_chunks WHERE upload_id = ${uploadId}`;
  }

  async getArtifactInfo(sha256: string): Promise<StoredArtifactInfo | undefined> {
    this.guard.outside("getArtifactInfo");
    const [r] = await this.sql`SELECT sha256, size, created FROM artifacts WHERE sha256 = ${sha256}`;
    return r && { sha256: str(r.sha256), size: num(r.size), created: num(r.created) };
  }

  async readArtifact(
    sha256: string,
    range?: { start: number; end: number },
  ): Promise<AsyncIterable<Buffer> | undefined> {
    this.guard.outside("readArtifact");
    const [r] = await this.answer(
      this.sql`SELECT upload_id, size, chunk_bytes FROM artifacts WHERE sha256 = ${sha256}`,
    );
    if (!r) return undefined;
    const size = num(r.size);
    const start = Math.max(0, range?.start ?? 0);
    const end = Math.min(size, range?.end ?? size);
    const chunkBytes = num(r.chunk_bytes);
    // The range's chunks counted before the answer starts: chunks gone from under the row (deleted
    // by hand, left out of a restore) are no content to serve, the 404 the SQLite store answers
    // for a missing file; found while streaming, they cut a 200 already sent (a HEAD said 200).
    if (end > start) {
      const [first, last] = [Math.floor(start / chunkBytes), Math.floor((end - 1) / chunkBytes)];
      const [held] = await this.answer(this.sql`SELECT count(*)::int AS n FROM artifact_chunks
        WHERE upload_id = ${str(r.upload_id)} AND seq BETWEEN ${first} AND ${last}`);
      if (num(held?.n) !== last - first + 1) return undefined;
    }
    return Readable.from(this.chunksOf(str(r.upload_id), chunkBytes, start, end));
  }

  private async *chunksOf(
    uploadId: string,
    chunkBytes: number,
    start: number,
    end: number,
  ): AsyncGenerator<Buffer> {
    if (end <= start) return;
    const firstSeq = Math.floor(start / chunkBytes);
    const lastSeq = Math.floor((end - 1) / chunkBytes);
    for (let from = firstSeq; from <= lastSeq; from += CHUNKS_PER_READ) {
      const to = Math.min(lastSeq, from + CHUNKS_PER_READ - 1);
      const rows: Row[] = await this.answer(this.sql`SELECT seq, data FROM artifact_chunks
        WHERE upload_id = ${uploadId} AND seq BETWEEN ${from} AND ${to} ORDER BY seq`);
      if (rows.length !== to - from + 1) throw new Error(`artifact chunks ${from}..${to} missing`);
      for (const row of rows) {
        const offset = num(row.seq) * chunkBytes;
        const data = row.data as Buffer;
        yield data.subarray(Math.max(0, start - offset), Math.min(data.length, end - offset));
      }
    }
  }

  async claimSecret(fingerprint: string, claim: SecretClaim): Promise<SecretVerdict> {
    this.guard.outside("claimSecret");
    return withTxRetry(
      async () =>
        (await beginTx(this.sql, async (t): Promise<SecretVerdict> => {
          await t`SELECT pg_advisory_xact_lock(${SECRET_LOCK})`;
          const [row] = await t`SELECT fingerprint FROM cluster_secret`;
          const stored = row === undefined ? undefined : str(row.fingerprint);
          const differs = stored !== undefined && stored !== fingerprint;
          if (differs) {
            const [live] =
              await t`SELECT count(*)::int AS n, ${t.unsafe(DB_NOW_MS)} - max(heartbeat_at) AS ago
              FROM hubs WHERE id IN (${this.liveHubs(claim.liveForMs)}) AND id <> ${claim.hubId ?? ""}`;
            const liveHubs = num(live?.n);
            if (liveHubs > 0) return { matches: false, liveHubs, lastHeartbeatAgoMs: num(live?.ago) };
          }
          if (claim.hubId === undefined) return { matches: true, replaced: false };
          if (stored !== fingerprint)
            await t`INSERT INTO cluster_secret (one, fingerprint, hub_id, set_at)
              VALUES (true, ${fingerprint}, ${claim.hubId}, ${claim.at})
              ON CONFLICT (one) DO UPDATE SET fingerprint = excluded.fingerprint,
                hub_id = excluded.hub_id, set_at = excluded.set_at`;
          await t`INSERT INTO hubs (id, heartbeat_at, timeout_ms)
            VALUES (${claim.hubId}, ${t.unsafe(DB_NOW_MS)}, ${claim.liveForMs})
            ON CONFLICT (id) DO UPDATE SET heartbeat_at = excluded.heartbeat_at, timeout_ms = excluded.timeout_ms`;
          return { matches: true, replaced: differs };
        })) as SecretVerdict,
    );
  }

  async renewHeartbeat(
    hubId: string,
    timeoutMs: number,
  ): Promise<{ at: number; previous: number | undefined; schema: number }> {
    this.guard.outside("renewHeartbeat");
    // `before` reads the row as the statement's snapshot saw it, before the upsert changed it. A
    // row another hub's tick deleted (releasing this hub's agents) after that snapshot was taken
    // is still in `before`, while the upsert, having waited for that delete to commit, inserts:
    // the heartbeat must say there was no row, or this hub never learns its agents were released.
    // `xmax = 0` is how PostgreSQL tells an inserted row from an updated one in RETURNING.
    const [row] = await this.sql`WITH stamp AS (SELECT ${this.sql.unsafe(DB_NOW_MS)} AS at),
      before AS (SELECT heartbeat_at FROM hubs WHERE id = ${hubId}),
      beat AS (INSERT INTO hubs (id, heartbeat_at, timeout_ms) SELECT ${hubId}, at, ${timeoutMs} FROM stamp
        ON CONFLICT (id) DO UPDATE SET heartbeat_at = excluded.heartbeat_at, timeout_ms = excluded.timeout_ms
        WHERE hubs.heartbeat_at <> ${RETIRED}
        RETURNING xmax = 0 AS inserted)
      SELECT (SELECT at FROM stamp) AS at,
        CASE WHEN (SELECT inserted FROM beat) THEN NULL ELSE (SELECT heartbeat_at FROM before) END AS previous,
        (SELECT MAX(version) FROM schema_version) AS schema`;
    const previous = row?.previous === null || row?.previous === undefined ? undefined : num(row.previous);
    return { at: num(row?.at), previous, schema: num(row?.schema) };
  }

  async clock(): Promise<number> {
    this.guard.outside("clock");
    const [row] = await this.sql`SELECT ${this.sql.unsafe(DB_NOW_MS)} AS now`;
    return num(row?.now);
  }

  /**
   * The ids of the hubs running, by the database's clock: each heartbeated within the longer of
   * `liveForMs` and its own timeout, and holds its wake-up listener's connection, named after it.
   * A killed hub (SIGKILL, a power cut) leaves a row that looks live for its timeout, but its
   * connections went with it. While the database itself restarted within the timeout, listeners
   * may still be reconnecting: heartbeats decide then, as they do for a listener named by an
   * older ship-hub (no hub id in it).
   */
  private liveHubs(liveForMs: number) {
    const within = this.sql`GREATEST(${liveForMs}, COALESCE(h.timeout_ms, 0))`;
    return this.sql`SELECT h.id FROM hubs h
      WHERE h.heartbeat_at >= ${this.sql.unsafe(DB_NOW_MS)} - ${within}
        AND (EXISTS (SELECT 1 FROM pg_stat_activity a WHERE a.datname = current_database()
            AND a.application_name IN (${WAKEUP_APPLICATION_NAME}, ${`${WAKEUP_APPLICATION_NAME} `} || h.id))
          OR pg_postmaster_start_time() >= clock_timestamp() - make_interval(secs => ${within} / 1000.0))`;
  }

  async clusterUpSince(hubId: string, liveForMs: number): Promise<number> {
    this.guard.outside("clusterUpSince");
    // A cluster whose hubs were all killed and restarted within the hub timeout: the dead rows do
    // not count (liveHubs), else timeouts counted from before the crash, the downtime included.
    const [row] = await this
      .sql`WITH others AS (SELECT 1 FROM (${this.liveHubs(liveForMs)}) l WHERE l.id <> ${hubId}),
      up AS (INSERT INTO cluster_up (one, since) VALUES (true, ${this.sql.unsafe(DB_NOW_MS)})
        ON CONFLICT (one) DO UPDATE SET since = excluded.since WHERE NOT EXISTS (SELECT 1 FROM others)
        RETURNING since)
      SELECT COALESCE((SELECT since FROM up), (SELECT since FROM cluster_up)) AS since`;
    return num(row?.since);
  }

  async retireHub(hubId: string, at: number): Promise<string[]> {
    this.guard.outside("retireHub");
    // One statement: an agent that already said hello to another hub names that hub, not this one.
    const rows = await this.sql`WITH released AS (
        UPDATE agents SET online = false, last_seen = ${at} WHERE hub_id = ${hubId} AND online RETURNING id),
      recorded AS (INSERT INTO events (at, actor, kind, subject, data)
        SELECT ${at}, 'hub', 'agent.offline', r.id, json_build_object('reason', 'its hub stopped') FROM released r),
      retired AS (INSERT INTO hubs (id, heartbeat_at) VALUES (${hubId}, ${RETIRED})
        ON CONFLICT (id) DO UPDATE SET heartbeat_at = excluded.heartbeat_at)
      SELECT id FROM released`;
    return rows.map((r) => str(r.id)).sort();
  }

  async claimInstance(
    agentId: string,
    instance: string,
    hubId: string,
    liveForMs: number,
    remote?: string,
  ): Promise<{ heldBy: string; hostname: string | undefined; remote: string | undefined } | undefined> {
    this.guard.outside("claimInstance");
    // A killed hub does not hold its agents' processes (liveHubs): an agent whose host rebooted
    // with it was refused as a clone ("two hosts with one agent id?") until its row timed out.
    const live = this.liveHubs(liveForMs);
    // The process on record: the row's, else the first claim (a hello made the row, the process
    // was not recorded on it yet). Recorded here, the first claim is dropped.
    const taken = await this
      .sql`WITH claim AS (SELECT instance_id FROM agent_first_claims WHERE agent_id = ${agentId}),
      taken AS (UPDATE agents SET instance_id = ${instance}, instance_remote = ${remote ?? null}
        WHERE id = ${agentId}
        AND NOT (online AND COALESCE(instance_id, (SELECT instance_id FROM claim), ${instance}) <> ${instance}
          AND hub_id IS NOT NULL AND hub_id <> ${hubId} AND hub_id IN (${live}))
        RETURNING id),
      cleared AS (DELETE FROM agent_first_claims WHERE agent_id IN (SELECT id FROM taken))
      SELECT id FROM taken`;
    if (taken.length > 0) return undefined;
    // A process not recorded on the row yet (its first hello made the row; the recording follows)
    // is held by its first claim, whose address is the process's: the refusal named none, and
    // asked about two hosts where one host ran two agents.
    const [row] = await this.sql`SELECT a.hub_id, a.hostname,
        COALESCE(a.instance_remote, CASE WHEN a.instance_id IS NULL THEN c.remote END) AS instance_remote
      FROM agents a LEFT JOIN agent_first_claims c ON c.agent_id = a.id WHERE a.id = ${agentId}`;
    if (row !== undefined)
      return {
        heldBy: str(row.hub_id),
        hostname: str(row.hostname),
        remote: strOrNull(row.instance_remote) ?? undefined,
      };
    // Never seen: its hello creates the row. Two processes asking at once (two clones' very first
    // connections) cannot both be let in: the first claim holds for as long as a hello may take,
    // on a live hub, against any other process.
    const [first] = await this.sql`WITH mine AS (
        INSERT INTO agent_first_claims (agent_id, instance_id, hub_id, at, remote)
        VALUES (${agentId}, ${instance}, ${hubId}, ${this.sql.unsafe(DB_NOW_MS)}, ${remote ?? null})
        ON CONFLICT (agent_id) DO UPDATE SET instance_id = excluded.instance_id,
          hub_id = excluded.hub_id, at = excluded.at, remote = excluded.remote
        WHERE agent_first_claims.instance_id = excluded.instance_id
          OR agent_first_claims.at < excluded.at - ${FIRST_CLAIM_MS}
          OR agent_first_claims.hub_id NOT IN (${live})
        RETURNING agent_id)
      SELECT (SELECT count(*) FROM mine)::int AS taken,
        (SELECT hub_id FROM agent_first_claims WHERE agent_id = ${agentId}) AS held_by,
        (SELECT remote FROM agent_first_claims WHERE agent_id = ${agentId}) AS remote`;
    return first?.taken === 1 || first?.held_by === null || first?.held_by === undefined
      ? undefined
      : { heldBy: str(first.held_by), hostname: undefined, remote: strOrNull(first.remote) ?? undefined };
  }

  async sweepAbandonedUploads(before: number): Promise<number> {
    const result = await this.sql`DELETE FROM artifact_chunks c WHERE c.created < ${before}
      AND NOT EXISTS (SELECT 1 FROM artifacts a WHERE a.upload_id = c.upload_id)`;
    return result.count;
  }
}
