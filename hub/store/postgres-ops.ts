/**
 * The store's operations as PostgreSQL statements, over a pool or a transaction alike. Batches
 * travel as one JSON parameter expanded by json_to_recordset, or (a rollout's deployments, whose
 * values are flat) one array literal per column read by unnest: one statement per chunk, whatever
 * the batch size, and no limit on bind parameters.
 */
import type postgres from "postgres";
import { MAX_APPS } from "../../shared/protocol/messages.js";
import { RESTORED_BY_HOST_ROW } from "../rollouts/rollback-result.js";
import {
  deploymentStep,
  REDELIVERABLE_DEPLOYMENT_STATES,
  ROLLBACK_TIMEOUT_STATES,
  RUNNING_ROLLOUT_STATES,
  SENT_DEPLOYMENT_STATES,
  UNSENT_DEPLOYMENT_STATES,
} from "../rollouts/states.js";
import { arrayLiteral } from "./array-literal.js";
import {
  ACTIVE_ROLLOUT_STATES,
  ActiveRolloutConflict,
  type AppStatusUpdate,
  type DeploymentUpdate,
  type EventCursor,
  type StoreOps,
} from "./async-store.js";
import { deploymentId } from "./deployment-id.js";
import {
  AGENT_SELECT,
  num,
  type Row,
  str,
  toAgent,
  toAgentDeploymentPage,
  toDeployment,
  toEvent,
  toRelease,
  toReport,
  toRollout,
  toToken,
} from "./rows.js";
import type { DeploymentRecord, DeploymentState } from "./store.js";
import { conditionSql, rollbackActsOnSql } from "./take-over-sql.js";
import { nextDueAt } from "./tick-schedule.js";

/** How the store's connection parses: int8 as number (ms timestamps), JSON as its text. */
export interface PgTypes extends Record<string, unknown> {
  bigint: number;
  jsonText: string;
}
export type Db = postgres.ISql<PgTypes>;

/** Rows per statement in batch operations: big enough to amortize a round trip, small enough to stream. */
export const BATCH_ROWS = 1000;
/** The database's clock in ms since the epoch, as SQL: heartbeats are stamped and compared with it. */
export const DB_NOW_MS = "(extract(epoch from clock_timestamp()) * 1000)::bigint";

const ACTIVE = JSON.stringify(ACTIVE_ROLLOUT_STATES);
// What a rollback would act on, and the failures whose host restored itself: the engine's rules.
const ACTS_ON = rollbackActsOnSql({
  agentRuns: (releaseId) => `a.apps @> jsonb_build_array(jsonb_build_object('releaseId', ${releaseId}))`,
});
const RESTORED = conditionSql(RESTORED_BY_HOST_ROW);
const RUNNING = JSON.stringify(RUNNING_ROLLOUT_STATES);
// What `redeliver` leaves and where it leads (one state each in the table).
const REDELIVERABLE = JSON.stringify(REDELIVERABLE_DEPLOYMENT_STATES);
// What `send` leaves and where it leads: one state, which the statements set for every row they mark.
const UNSENT = JSON.stringify(UNSENT_DEPLOYMENT_STATES);
const SENT = oneState(SENT_DEPLOYMENT_STATES, "send");
const UNSENT_ONE = oneState(UNSENT_DEPLOYMENT_STATES, "send from");
// Migration 24's generated columns name these states: a state machine that moved them needs another.
const ROLLBACK_WAIT = oneState(ROLLBACK_TIMEOUT_STATES, "rollback-timeout from");
if (UNSENT_ONE !== "pending" || SENT !== "sent" || ROLLBACK_WAIT !== "rollback_pending")
  throw new Error(
    "deployment state machine: migration 24's counted_state and rollback_since name pending, sent and rollback_pending",
  );

/** The one state `event` leads to: a statement sets one value for every row it moves. */
function oneState(states: readonly DeploymentState[], event: string): DeploymentState {
  const [only, ...more] = states;
  if (only === undefined || more.length > 0)
    throw new Error(`deployment state machine: "${event}" must lead to one state, not ${states.join(", ")}`);
  return only;
}
const REDELIVERED = oneState(
  [...new Set(REDELIVERABLE_DEPLOYMENT_STATES.map((s) => deploymentStep(s, "redeliver")))],
  "redeliver",
);
const UNIQUE_VIOLATION = "23505";
const ONE_ACTIVE_INDEX = "rollouts_one_active_per_app";

const j = (value: unknown): string => JSON.stringify(value ?? null);

/**
 * A list of ids as one `text[]` parameter (an array literal), matched with
 * `= ANY(${textArray(ids)}::text[])`. Not `= ANY(ARRAY(SELECT json_array_elements_text(…)))`:
 * that array exists only once the statement runs, so where the planner applies it as a filter it
 * compares every row with every id, and it does so for a rollout inserted a moment ago, which the
 * statistics put at a few rows: a bitmap of its rows AND its `pending` ones (deployments_state,
 * dropped in migration 24) then looked cheaper than probing (rollout_id, agent_id), and each 250-agent statement of a woken
 * hub compared 250 ids with each of the rollout's pending rows (round 43, docs/cluster.md). A
 * parameter is a constant in a custom plan, which PostgreSQL hashes and counts; a generic plan
 * probes the unique index.
 */
function textArray(values: readonly string[]): string {
  return arrayLiteral(values);
}

/**
 * The rows of a rollout's agents, by primary key: `rowsOf` is `id = ANY(…)` over their ids, and
 * the rollout compared as `(rollout_id || '')`, a guard no index holds. Named by `rollout_id = $1
 * AND agent_id = ANY(…)`, a rollout inserted a moment ago (the statistics put it at a few rows) got
 * a custom plan (a connection's first five runs) that read all of the rollout's entries of
 * (rollout_id, agent_id) and filtered its rows by the ids: a woken hub's 14 marks of 3,333 agents
 * of a 10,000-row rollout read ~110,000 entries (round 52). The ids' count is the planner's estimate.
 */
function rowsOfAgents(db: Db, rolloutId: string, agentIds: readonly string[]) {
  return db`id = ANY(${textArray(agentIds.map((a) => deploymentId(rolloutId, a)))}::text[])
    AND (rollout_id || '') = ${rolloutId}`;
}

/**
 * Every row of a rollout, as a range of the primary key: a deployment's id is `rollout:agent`
 * (enforced by a CHECK since migration 26, and compared byte by byte: the column is COLLATE "C"),
 * so a rollout's rows are the ids between `rollout:` and `rollout;` (';' follows ':'). No index
 * leads with rollout_id any more: the (rollout_id, agent_id) index said what the primary key says
 * and cost every inserted row an entry (~19 ms of the database's CPU per 10,000-row wave start,
 * round 54). `rollout_id =` keeps out the rows of a rollout whose own id extends this one's with
 * a ':'. `alias`: the table's alias in the statement, if any.
 */
function rowsOfRollout(db: Db, rolloutId: string, alias: "" | "d." = "") {
  const col = db.unsafe(alias);
  return db`${col}id >= ${`${rolloutId}:`} AND ${col}id < ${`${rolloutId};`} AND ${col}rollout_id = ${rolloutId}`;
}

/*
 * Statements that name their rows (by id, or a rollout's rows by agent id) compare the state as
 * `(state || '')`: the same value, which no index can hold, so an index on state never drives them
 * (deployments_state did until migration 24 dropped it; no index names state since).
 * The driver prepares each statement once per connection, and after five runs PostgreSQL may keep
 * a generic plan, costed with the statistics of that moment: for a rollout they do not know yet
 * (a few rows) that plan took the bitmap of the rollout's rows AND the state's entries and applied
 * the ids as a filter it cannot hash, and kept it for the connection's life — every 250-agent mark
 * of a woken hub, and the 3 s resync that finds nothing pending, then compared each of the
 * rollout's rows (and each entry the state index still lists: marks are non-HOT updates, and dead
 * versions stay listed until vacuum) with every id (round 44, docs/benchmarks-history.md). Without
 * such an index, plans probe the primary key or (rollout_id, agent_id) with the ids.
 */
const first = (rows: readonly Row[]): Row | undefined => rows[0];

function chunks<T>(items: readonly T[], size = BATCH_ROWS): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/**
 * An update as json_to_recordset reads it: its warnings as JSON text, or null to keep the stored
 * ones; `ran` true or false.
 */
function withWarningsText(u: DeploymentUpdate) {
  return {
    ...u,
    warnings: u.warnings === undefined ? null : JSON.stringify(u.warnings),
    ran: u.ran === true,
  };
}

function isOneActiveViolation(error: unknown): boolean {
  const e = error as { code?: unknown; constraint_name?: unknown };
  return e?.code === UNIQUE_VIOLATION && e.constraint_name === ONE_ACTIVE_INDEX;
}

/**
 * Splits status updates into rounds in which each agent appears once, keeping only the last update
 * per agent and app, in the order those last updates came: applying the rounds in turn gives the
 * same apps, in the same order, as applying every update one by one.
 */
export function appStatusRounds(updates: readonly AppStatusUpdate[]): AppStatusUpdate[][] {
  const last = new Map<string, AppStatusUpdate>();
  for (const u of updates) {
    const key = JSON.stringify([u.agentId, u.status.app]);
    last.delete(key);
    last.set(key, u);
  }
  const rounds: AppStatusUpdate[][] = [];
  const seen = new Map<string, number>();
  for (const u of last.values()) {
    const n = seen.get(u.agentId) ?? 0;
    seen.set(u.agentId, n + 1);
    const round = rounds[n] ?? [];
    round.push(u);
    rounds[n] = round;
  }
  return rounds;
}

/** Event cursors are `<transaction id>:<event id>` (see the events table in the migrations). */
/**
 * The event stream's cursor: the snapshot the events read so far were seen in (`from`), and while
 * a batch is read page by page, the snapshot the batch is of (`to`) and the last event read. Not the
 * oldest running transaction's id (`pg_snapshot_xmin`): that is server-wide, so a transaction left
 * open in another database of the server (another application's) held every hub's stream back.
 */
export interface EventPosition {
  from: string;
  to: string | null;
  tx: string;
  id: string;
}

const SNAPSHOT = String.raw`\d+:\d+:(?:\d+(?:,\d+)*)?`;
const CURSOR = new RegExp(`^(${SNAPSHOT})(?:/(${SNAPSHOT})/(\\d+):(\\d+))?$`);

function frontierCursor(snapshot: string): EventCursor {
  return snapshot;
}
function pagedCursor(from: string, to: string, tx: string, id: string): EventCursor {
  return `${from}/${to}/${tx}:${id}`;
}

export function parseCursor(cursor: EventCursor): EventPosition {
  const m = CURSOR.exec(cursor);
  if (!m) throw new Error(`event cursor ${JSON.stringify(cursor)} is not <snapshot>[/<snapshot>/<tx>:<id>]`);
  return { from: m[1] as string, to: m[2] ?? null, tx: m[3] ?? "0", id: m[4] ?? "0" };
}

/**
 * `alone`: `db` is the pool, not a transaction, so each statement commits by itself when it
 * returns (what markDueDeploymentsSent's commit may relax rests on that).
 */
export function postgresOps(db: Db, { alone = false }: { alone?: boolean } = {}): StoreOps {
  const byState = (rows: readonly Row[]) => Object.fromEntries(rows.map((r) => [str(r.state), num(r.n)]));
  const activeOfApp = async (releaseId: string) =>
    first(
      await db`SELECT rel.app, r.id FROM releases rel
        LEFT JOIN rollouts r ON r.app = rel.app AND r.state IN (SELECT json_array_elements_text(${ACTIVE}::json))
        WHERE rel.id = ${releaseId}`,
    );
  const refuseConflict = async <T>(releaseId: string, write: () => Promise<T>): Promise<T> => {
    try {
      return await write();
    } catch (error) {
      if (!isOneActiveViolation(error)) throw error;
      // The transaction is aborted now; the app is named from the release without another query.
      const detail = String((error as { detail?: unknown }).detail ?? "");
      throw new ActiveRolloutConflict(/\(app\)=\((.*)\)/.exec(detail)?.[1] ?? releaseId, undefined);
    }
  };

  return {
    async insertToken(t) {
      await db`INSERT INTO tokens (jti, role, name, agent_id, created, expires, revoked, renewed_from)
        VALUES (${t.jti}, ${t.role}, ${t.name}, ${t.agentId}, ${t.created}, ${t.expires}, ${t.revoked},
          ${t.renewedFrom})`;
    },
    async getToken(jti) {
      const r = first(await db`SELECT * FROM tokens WHERE jti = ${jti}`);
      return r && toToken(r);
    },
    async revokeToken(jti, at) {
      // The issued token `jti` belongs to (itself, or the one it renews) and every renewal of it.
      const rows =
        await db`WITH family(root) AS (SELECT COALESCE(renewed_from, jti) FROM tokens WHERE jti = ${jti})
          UPDATE tokens SET revoked = ${at} WHERE revoked IS NULL
            AND (jti IN (SELECT root FROM family) OR renewed_from IN (SELECT root FROM family))
          RETURNING jti`;
      return rows.map((r) => String(r.jti)).sort();
    },
    async pruneRenewedTokens(now) {
      return (
        await db`DELETE FROM tokens WHERE renewed_from IS NOT NULL AND expires <= ${now}
          AND EXISTS (SELECT 1 FROM tokens newer WHERE newer.renewed_from = tokens.renewed_from
            AND newer.expires > tokens.expires)`
      ).count;
    },
    async revokedTokensInForce(now) {
      return (await db`SELECT jti FROM tokens WHERE revoked IS NOT NULL AND expires > ${now}`).map((r) =>
        String(r.jti),
      );
    },
    async listTokens() {
      return (await db`SELECT * FROM tokens ORDER BY created, jti`).map(toToken);
    },

    async insertRelease(r) {
      await db`INSERT INTO releases (id, app, version, manifest, source, signature, created, created_by, warnings)
        VALUES (${r.id}, ${r.app}, ${r.version}, ${r.manifest}, ${j(r.source)}::json, ${r.signature},
          ${r.created}, ${r.createdBy}, ${r.warnings === undefined ? null : j(r.warnings)}::json)`;
    },
    async getRelease(id) {
      const r = first(await db`SELECT * FROM releases WHERE id = ${id}`);
      return r && toRelease(r);
    },
    async findRelease(app, version) {
      const r = first(await db`SELECT * FROM releases WHERE app = ${app} AND version = ${version}`);
      return r && toRelease(r);
    },
    async lockAppReleases(app) {
      // A 64-bit hash of a name of our own: a clash only makes two apps publish one at a time.
      await db`SELECT pg_advisory_xact_lock(hashtextextended(${`ship.releases:${app}`}, 0))`;
    },
    async lockFleet(mode) {
      if (mode === "plan") await db`SELECT pg_advisory_xact_lock(hashtextextended('ship.fleet', 0))`;
      else await db`SELECT pg_advisory_xact_lock_shared(hashtextextended('ship.fleet', 0))`;
    },
    async hasArtifact(sha256) {
      return (await db`SELECT 1 FROM artifacts WHERE sha256 = ${sha256}`).length > 0;
    },
    async releaseVersions(app) {
      return (await db`SELECT version FROM releases WHERE app = ${app}`).map((r) => String(r.version));
    },
    async listReleases({ app, limit, after }) {
      const rows =
        await db`SELECT * FROM releases WHERE (${app ?? null}::text IS NULL OR app = ${app ?? null})
        AND (${after?.created ?? null}::bigint IS NULL OR created < ${after?.created ?? null}
          OR (created = ${after?.created ?? null} AND id > ${after?.id ?? null}))
        ORDER BY created DESC, id LIMIT ${limit}`;
      return rows.map(toRelease);
    },

    async upsertAgent(a) {
      await db`INSERT INTO agents (id, hostname, labels, agent_version, apps, online, last_seen, allow_downgrade)
        VALUES (${a.id}, ${a.hostname}, ${j(a.labels)}::jsonb, ${a.agentVersion}, ${j(a.apps)}::jsonb,
          ${a.online}, ${a.lastSeen}, ${a.allowDowngrade ?? null})
        ON CONFLICT (id) DO UPDATE SET hostname = excluded.hostname, labels = excluded.labels,
          agent_version = excluded.agent_version, apps = excluded.apps, online = excluded.online,
          last_seen = excluded.last_seen, allow_downgrade = excluded.allow_downgrade, forgotten_at = NULL`;
    },
    async getAgent(id) {
      const r = first(await db`SELECT ${db.unsafe(AGENT_SELECT)} FROM agents WHERE id = ${id}`);
      return r && toAgent(r);
    },
    async getAgents(ids) {
      const rows = await Promise.all(
        chunks(ids).map(
          (chunk) =>
            db`SELECT ${db.unsafe(AGENT_SELECT)} FROM agents WHERE id = ANY(${textArray(chunk)}::text[])`,
        ),
      );
      return rows.flat().map(toAgent);
    },
    async listAgents() {
      // COLLATE "C": byte order, as SQLite sorts, whatever the database's locale.
      return (
        await db`SELECT ${db.unsafe(AGENT_SELECT)} FROM agents WHERE forgotten_at IS NULL ORDER BY id COLLATE "C"`
      ).map(toAgent);
    },
    async forgetAgent(id, at) {
      // Conditional on the row as it is when the UPDATE locks it: a hello committing first wins
      // ("online"), one committing after brings the agent back, as any later hello does.
      const forgot = await db`UPDATE agents SET forgotten_at = ${at}
        WHERE id = ${id} AND forgotten_at IS NULL AND NOT online RETURNING id`;
      if (forgot.length > 0) return "forgotten";
      const r = first(await db`SELECT forgotten_at FROM agents WHERE id = ${id}`);
      return r && (r.forgotten_at === null || r.forgotten_at === undefined) ? "online" : "unknown";
    },
    async listOnlineAgentIds() {
      return (await db`SELECT id FROM agents WHERE online`).map((r) => str(r.id));
    },
    async setAgentOnline(id, online, at) {
      await db`UPDATE agents SET online = ${online}, last_seen = ${at} WHERE id = ${id}`;
    },
    async setAppStatuses(updates) {
      // Per agent and app only the last status counts; an agent with several apps changed gets
      // them in successive rounds (an UPDATE … FROM changes each row once), in their order.
      for (const round of appStatusRounds(updates))
        for (const chunk of chunks(round))
          await db`UPDATE agents a SET apps = COALESCE((
              SELECT jsonb_agg(e.value ORDER BY e.ordinality) FROM jsonb_array_elements(a.apps)
                WITH ORDINALITY AS e WHERE e.value->>'app' IS DISTINCT FROM x.status->>'app'
            ), '[]'::jsonb) || jsonb_build_array(x.status)
            FROM json_to_recordset(${j(chunk)}::json) AS x("agentId" text, status jsonb)
            WHERE a.id = x."agentId" AND (jsonb_array_length(a.apps) < ${MAX_APPS}
              OR EXISTS (SELECT 1 FROM jsonb_array_elements(a.apps) e WHERE e.value->>'app' = x.status->>'app'))`;
    },
    async setAgentApps(id, apps) {
      await db`UPDATE agents SET apps = ${j(apps)}::jsonb WHERE id = ${id}`;
    },
    async markAllAgentsOffline() {
      await db`UPDATE agents a SET online = false, last_seen = GREATEST(a.last_seen,
          COALESCE((SELECT h.heartbeat_at FROM hubs h WHERE h.id = a.hub_id), a.last_seen))
        WHERE online`;
      await db`DELETE FROM hubs`;
    },

    async insertRollout(r) {
      if (ACTIVE_ROLLOUT_STATES.includes(r.state)) {
        const busy = await activeOfApp(r.releaseId);
        if (busy?.id) throw new ActiveRolloutConflict(str(busy.app), str(busy.id));
      }
      await refuseConflict(r.releaseId, async () => {
        await db`INSERT INTO rollouts (id, release_id, app, spec, state, current_wave, wave_started_at,
            reason, failure_allowance, created, updated)
          VALUES (${r.id}, ${r.releaseId}, (SELECT app FROM releases WHERE id = ${r.releaseId}),
            ${j(r.spec)}::json, ${r.state}, ${r.currentWave}, ${r.waveStartedAt}, ${r.reason},
            ${r.failureAllowance}, ${r.created}, ${r.updated})`;
      });
    },
    async getRollout(id) {
      const r = first(await db`SELECT * FROM rollouts WHERE id = ${id}`);
      return r && toRollout(r);
    },
    async lockRollout(id) {
      const r = first(await db`SELECT * FROM rollouts WHERE id = ${id} FOR UPDATE`);
      return r && toRollout(r);
    },
    async findRollouts(prefix, limit) {
      const wanted = prefix.toLowerCase();
      const rows =
        await db`SELECT * FROM rollouts WHERE left(lower(id), length(${wanted}::text)) = ${wanted}::text
        ORDER BY created DESC, id LIMIT ${limit}`;
      return rows.map(toRollout);
    },
    async listRollouts({ states, app, releaseId, after, limit }) {
      const wanted = states ? j(states) : null;
      const afterCreated = after?.created ?? null;
      const rows = await db`SELECT * FROM rollouts
        WHERE (${wanted}::json IS NULL OR state IN (SELECT json_array_elements_text(${wanted}::json)))
        AND (${app ?? null}::text IS NULL OR release_id IN (SELECT id FROM releases WHERE app = ${app ?? null}))
        AND (${releaseId ?? null}::text IS NULL OR release_id = ${releaseId ?? null})
        AND (${afterCreated}::bigint IS NULL OR created < ${afterCreated}
          OR (created = ${afterCreated} AND id > ${after?.id ?? null}))
        ORDER BY created DESC, id LIMIT ${limit}`;
      return rows.map(toRollout);
    },
    async updateRollout(id, patch) {
      const current = first(await db`SELECT release_id FROM rollouts WHERE id = ${id}`);
      await refuseConflict(current ? str(current.release_id) : id, async () => {
        await db`UPDATE rollouts SET state = COALESCE(${patch.state ?? null}, state),
          current_wave = COALESCE(${patch.currentWave ?? null}::integer, current_wave),
          wave_started_at = COALESCE(${patch.waveStartedAt ?? null}::bigint, wave_started_at),
          reason = CASE WHEN ${"reason" in patch}::boolean THEN ${patch.reason ?? null} ELSE reason END,
          failure_allowance = COALESCE(${patch.failureAllowance ?? null}::integer, failure_allowance),
          updated = ${patch.updated}
          WHERE id = ${id}`;
      });
    },

    async insertDeployment(d) {
      return (await insertDeploymentRows(db, [d], undefined, false)) > 0;
    },
    insertDeployments: async (ds, sent, ofNewRollout = false) => {
      // Issued together: in a transaction they are pipelined on its connection (the next chunk is
      // encoded and on its way while the database inserts this one); the order does not matter.
      const counts = await Promise.all(
        chunks(ds).map((chunk) => insertDeploymentRows(db, chunk, sent, ofNewRollout)),
      );
      return counts.reduce((a, b) => a + b, 0);
    },
    async getDeployment(id) {
      const r = first(await db`SELECT * FROM deployments WHERE id = ${id}`);
      return r && toDeployment(r);
    },
    async getDeployments(ids) {
      const out: DeploymentRecord[] = [];
      for (const chunk of chunks(ids))
        for (const r of await db`SELECT * FROM deployments
          WHERE id = ANY(${textArray(chunk)}::text[])`)
          out.push(toDeployment(r));
      return out;
    },
    async listDeploymentsOfAgents({ rolloutId, agentIds, states }) {
      // By primary key (rowsOfAgents): never every row of the rollout against the ids. `= ANY`,
      // not `IN (SELECT …)`: a rollout inserted a moment ago is not in the planner's statistics
      // yet, and for IN it then picks a nested loop comparing every row of the rollout with every
      // id (1.5 s for 1,000 of 6,000 agents, measured). Chunks issued together (pipelined in a
      // transaction), as in insertDeployments.
      const rows = await Promise.all(
        chunks(agentIds).map(
          (chunk) => db`SELECT * FROM deployments WHERE ${rowsOfAgents(db, rolloutId, chunk)}
            AND (state || '') = ANY(ARRAY(SELECT json_array_elements_text(${j(states)}::json)))`,
        ),
      );
      return rows.flat().map(toDeployment);
    },
    async listDeployments({ rolloutId, agentId }) {
      if (rolloutId !== undefined)
        return (
          await db`SELECT * FROM deployments WHERE ${rowsOfRollout(db, rolloutId)}
            AND (${agentId ?? null}::text IS NULL OR agent_id = ${agentId ?? null})
            ORDER BY wave, agent_id COLLATE "C"`
        ).map(toDeployment);
      if (agentId !== undefined)
        return (
          await db`SELECT * FROM deployments WHERE agent_id = ${agentId} ORDER BY updated_at DESC, id`
        ).map(toDeployment);
      return (await db`SELECT * FROM deployments`).map(toDeployment);
    },
    async pageAgentDeployments({ agentId, after, limit }) {
      // By deployments_agent (the agent's rows), each joined to its rollout by primary key.
      const afterCreated = after?.created ?? null;
      const rows = await db`SELECT d.*, r.created AS rollout_created
        FROM deployments d JOIN rollouts r ON r.id = d.rollout_id
        WHERE d.agent_id = ${agentId}
        AND (${afterCreated}::bigint IS NULL OR r.created < ${afterCreated}
          OR (r.created = ${afterCreated} AND d.id > ${after?.id ?? null}))
        ORDER BY r.created DESC, d.id LIMIT ${limit + 1}`;
      return toAgentDeploymentPage(rows, limit);
    },
    async updateDeployment(id, patch) {
      await db`UPDATE deployments SET state = COALESCE(${patch.state ?? null}, state),
        attempts = COALESCE(${patch.attempts ?? null}::integer, attempts),
        started = GREATEST(COALESCE(${patch.started ?? null}::integer, started), ${patch.ran === true ? 1 : 0}::integer),
        error = CASE WHEN ${"error" in patch}::boolean THEN ${patch.error ?? null} ELSE error END,
        warnings = COALESCE(${patch.warnings === undefined ? null : JSON.stringify(patch.warnings)}::text, warnings),
        updated_at = ${patch.updatedAt}
        WHERE id = ${id}`;
    },
    async markDueDeploymentsSent({ rolloutId, agentIds }, sent) {
      // Probes of the primary key (rowsOfAgents), never the whole rollout's rows against the
      // ids, nor an index of state (see textArray). The plan decides the order rows are
      // locked in, so two statements marking overlapping agents may deadlock, and the wake-up
      // retries the loser (each hub marks its own connected agents: overlaps are rare; rule 4).
      // The wave limit is the rollout's as the statement sees it (NULL, so nothing, unless it is
      // running), and the events go in with the marks: under load every round trip of a wake-up
      // costs tens of milliseconds. Chunks are pipelined in a transaction.
      //
      // Committed alone (a wake-up's statement on the pool), it does not wait for the WAL flush
      // (synchronous_commit off for its own transaction only; every other commit still waits):
      // a woken hub's 14 statements per 3,333 agents each waited an fsync before their chunk was
      // sent (round 45, docs/benchmarks-history.md). Safe because a mark is only a promise to
      // send: a database crash that loses it leaves its rows `pending` as before, with no event,
      // and the resync or the agent's hello sends them again (a repeated instruction is a no-op on
      // an agent that got it, and a report counts in `pending` as in `sent`). It cannot outlive what
      // follows from it: the WAL is flushed in order, so any later synchronous commit (the
      // agent's report, acked after commit) makes the mark durable first. In a caller's
      // transaction the caller's commit decides, unchanged.
      //
      // No index names a column it sets (migration 24): each row is a HOT update on its own page
      // (fillfactor 50: room for two woken hubs' marks at once), one new row version and no index
      // entry.
      const rows = await Promise.all(
        chunks([...agentIds].sort()).map(
          (chunk) => db`WITH unflushed AS (SELECT CASE WHEN ${alone}::boolean
                THEN set_config('synchronous_commit', 'off', true) END),
            marked AS (
              UPDATE deployments SET state = ${SENT}, attempts = attempts + 1, updated_at = ${sent.at}
              WHERE ${rowsOfAgents(db, rolloutId, chunk)}
                AND wave <= (SELECT current_wave FROM rollouts WHERE id = ${rolloutId}
                  AND state = ANY(ARRAY(SELECT json_array_elements_text(${RUNNING}::json))))
                AND (state || '') = ANY(ARRAY(SELECT json_array_elements_text(${UNSENT}::json)))
              RETURNING *),
            recorded AS (INSERT INTO events (at, actor, kind, subject, data)
              SELECT ${sent.at}, ${sent.actor}, ${sent.kind}, m.id, json_build_object('agent', m.agent_id)
              FROM marked m)
            SELECT m.* FROM marked m, unflushed`,
        ),
      );
      return rows.flat().map(toDeployment);
    },
    async markDeploymentsSent(ids, at) {
      const out: DeploymentRecord[] = [];
      // Sorted, so two hubs marking overlapping sets lock rows in one order and cannot deadlock.
      for (const chunk of chunks([...ids].sort()))
        for (const r of await db`UPDATE deployments SET state = ${SENT}, attempts = attempts + 1, updated_at = ${at}
          WHERE id = ANY(${textArray(chunk)}::text[])
            AND (state || '') = ANY(ARRAY(SELECT json_array_elements_text(${UNSENT}::json)))
          RETURNING *`)
          out.push(toDeployment(r));
      return out;
    },
    async redeliverDeployments(ids, at) {
      const out: DeploymentRecord[] = [];
      for (const chunk of chunks([...ids].sort()))
        for (const r of await db`UPDATE deployments SET state = ${REDELIVERED}, error = NULL, updated_at = ${at}
          WHERE id = ANY(${textArray(chunk)}::text[])
            AND (state || '') = ANY(ARRAY(SELECT json_array_elements_text(${REDELIVERABLE}::json)))
          RETURNING *`)
          out.push(toDeployment(r));
      return out;
    },
    async updateDeployments(updates) {
      // One row per id (the last update wins, as applying them in order would).
      const last = [...new Map(updates.map((u) => [u.id, u] as [string, DeploymentUpdate])).values()];
      // The rows named by primary key as well (`id = ANY(…)`, whose length the planner counts):
      // joined only to the JSON records, which it puts at 100 rows whatever the batch, a rollout
      // inserted a moment ago into a table no ANALYZE had seen got a hash join over a sequential
      // scan, the whole table read per batch of reports (the bench's report storm: 20 batches of
      // 500 read 200,000 rows of a 10,000-row table; round 53, docs/benchmarks-history.md).
      for (const chunk of chunks(last.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))))
        await db`UPDATE deployments d SET state = x.state, error = x.error, updated_at = x."updatedAt",
            warnings = CASE WHEN x.warnings IS NULL THEN d.warnings ELSE x.warnings::text END,
            started = CASE WHEN x.ran THEN GREATEST(d.started, 1) ELSE d.started END
          FROM json_to_recordset(${j(chunk.map(withWarningsText))}::json)
            AS x(id text, state text, error text, "updatedAt" bigint, warnings text, ran boolean)
          WHERE d.id = ANY(${textArray(chunk.map((u) => u.id))}::text[]) AND d.id = x.id`;
    },

    async countDeploymentsOfRollout(rolloutId) {
      // `np`: what a rollback would act on (`rollbackActsOn`), by the engine's own rule.
      const rows = await db`SELECT d.wave, d.state, COUNT(*) AS n,
          COUNT(*) FILTER (WHERE ${db.unsafe(ACTS_ON)}) AS np,
          COUNT(*) FILTER (WHERE ${db.unsafe(RESTORED)}) AS nr,
          COUNT(*) FILTER (WHERE d.attempts > 0) AS ns,
          MAX(d.updated_at) AS last_updated
        FROM deployments d JOIN rollouts r ON r.id = d.rollout_id WHERE ${rowsOfRollout(db, rolloutId, "d.")}
        GROUP BY d.wave, d.state`;
      return rows.map((r) => ({
        wave: num(r.wave),
        state: str(r.state) as DeploymentState,
        count: num(r.n),
        rollbackable: num(r.np),
        sent: num(r.ns),
        restored: num(r.nr),
        lastUpdated: num(r.last_updated),
      }));
    },
    async listStaleDeployments({ rolloutId, maxWave, states, seenBefore }) {
      const rows = await db`SELECT d.*, a.last_seen AS agent_last_seen FROM deployments d
        JOIN agents a ON a.id = d.agent_id
        WHERE ${rowsOfRollout(db, rolloutId, "d.")} AND d.wave <= ${maxWave}
          AND d.state IN (SELECT json_array_elements_text(${j(states)}::json)) AND a.last_seen <= ${seenBefore}
        ORDER BY d.wave, d.agent_id COLLATE "C"`;
      return rows.map((r) => ({ ...toDeployment(r), agentLastSeen: num(r.agent_last_seen) }));
    },
    async listStalledDeployments({ rolloutId, maxWave, states, updatedBefore }) {
      const rows = await db`SELECT * FROM deployments
        WHERE ${rowsOfRollout(db, rolloutId)} AND wave <= ${maxWave}
          AND state IN (SELECT json_array_elements_text(${j(states)}::json)) AND updated_at <= ${updatedBefore}
        ORDER BY wave, agent_id COLLATE "C"`;
      return rows.map(toDeployment);
    },

    async listDeploymentsStuckIn({ state, updatedBefore, limit }) {
      // `rollback_since` is the updated_at of the one state the tick asks about, indexed (a
      // partial index of an unanswered rollback's rows); no index names state (migration 24).
      if (state !== ROLLBACK_WAIT) throw new Error(`listDeploymentsStuckIn: no index of ${state} rows`);
      const rows = await db`SELECT * FROM deployments
        WHERE rollback_since IS NOT NULL AND rollback_since <= ${updatedBefore}
        ORDER BY rollback_since, id COLLATE "C" LIMIT ${limit}`;
      return rows.map(toDeployment);
    },

    async insertReport(r) {
      return (await insertReportRows(db, [r])).length > 0;
    },
    async insertReports(reports) {
      const ids: string[] = [];
      for (const chunk of chunks(reports)) ids.push(...(await insertReportRows(db, chunk)));
      return ids;
    },
    async pruneReports(keepPerAgent, olderThan) {
      // Newest by arrival (seq), not by stamp, as in SQLite (Store.listReports).
      const result = await db`DELETE FROM reports WHERE received_at < ${olderThan} OR seq IN (
        SELECT seq FROM (SELECT seq, ROW_NUMBER() OVER (
          PARTITION BY agent_id ORDER BY seq DESC) AS n FROM reports) AS ranked
        WHERE n > ${keepPerAgent})`;
      return result.count;
    },
    async lastReportReceivedAt() {
      const row = first(await db`SELECT received_at FROM reports ORDER BY seq DESC LIMIT 1`);
      return row === undefined ? undefined : num(row.received_at);
    },
    async listReports(agentId, limit, from = { offset: 0 }) {
      const rows =
        "before" in from
          ? await db`SELECT * FROM reports WHERE agent_id = ${agentId}
              AND seq < (SELECT seq FROM reports WHERE id = ${from.before} AND agent_id = ${agentId})
              ORDER BY seq DESC LIMIT ${limit}`
          : await db`SELECT * FROM reports WHERE agent_id = ${agentId}
              ORDER BY seq DESC LIMIT ${limit} OFFSET ${from.offset}`;
      return rows.map(toReport);
    },
    async hasReport(agentId, id) {
      return (await db`SELECT 1 FROM reports WHERE id = ${id} AND agent_id = ${agentId}`).length > 0;
    },

    async appendEvent(e) {
      await db`INSERT INTO events (at, actor, kind, subject, data)
        VALUES (${e.at}, ${e.actor}, ${e.kind}, ${e.subject}, ${j(e.data)}::json)`;
    },
    async appendEvents(events) {
      for (const chunk of chunks(events))
        await db`INSERT INTO events (at, actor, kind, subject, data)
          SELECT x.at, x.actor, x.kind, x.subject, COALESCE(x.data, 'null'::json)
          FROM json_to_recordset(${j(chunk.map((e) => ({ ...e, data: e.data ?? null })))}::json)
            AS x(at bigint, actor text, kind text, subject text, data json)`;
    },
    async listEvents({ before, subject, withParts, kinds, limit }) {
      // A part's subject is `SUBJECT:…`: compared by its first characters, not LIKE (an id may hold
      // `%` or `_`) nor a range (a locale's collation may order `:` anywhere).
      const parts = withParts === true && subject !== undefined ? `${subject}:` : null;
      const rows = await db`SELECT * FROM events
        WHERE (${before ?? null}::bigint IS NULL OR id < ${before ?? null})
          AND (${subject ?? null}::text IS NULL OR subject = ${subject ?? null}
            OR (${parts}::text IS NOT NULL AND left(subject, length(${parts}::text)) = ${parts}::text))
          AND (${kinds === undefined}::boolean
            OR kind = ANY(ARRAY(SELECT json_array_elements_text(${j(kinds ?? [])}::json))))
        ORDER BY id DESC LIMIT ${limit}`;
      return rows.map(toEvent);
    },
    async claimTick(name, hubId, now, intervalMs) {
      const due = first(
        await db`SELECT due_at FROM ticks WHERE name = ${name} AND due_at <= ${now} FOR UPDATE SKIP LOCKED`,
      );
      if (due) {
        const next = nextDueAt(num(due.due_at), now, intervalMs);
        await db`UPDATE ticks SET due_at = ${next}, hub_id = ${hubId} WHERE name = ${name}`;
        return true;
      }
      // Not due, or held by another transaction (skipped), or never claimed: only the last inserts.
      // (No INSERT … ON CONFLICT up front: it would wait on the row another hub is updating.)
      if ((await db`SELECT 1 FROM ticks WHERE name = ${name}`).length > 0) return false;
      const inserted =
        await db`INSERT INTO ticks (name, due_at, hub_id) VALUES (${name}, ${now + intervalMs}, ${hubId})
        ON CONFLICT DO NOTHING RETURNING name`;
      return inserted.length > 0;
    },
    async claimAgent(agentId, hubId, at) {
      const r = first(
        await db`UPDATE agents SET online = true, hub_id = ${hubId}, epoch = epoch + 1,
        last_seen = ${at} WHERE id = ${agentId} RETURNING epoch`,
      );
      return r && num(r.epoch);
    },
    async helloAgent(a, hubId, at) {
      // `before` reads the row as it was when the statement started (the snapshot), the upsert
      // then changes it: one round trip for what a hello needs to know and write.
      const r = first(
        await db`WITH before AS (SELECT online FROM agents WHERE id = ${a.id})
        INSERT INTO agents (id, hostname, labels, agent_version, apps, online, last_seen, hub_id, epoch,
          allow_downgrade)
        VALUES (${a.id}, ${a.hostname}, ${j(a.labels)}::jsonb, ${a.agentVersion}, ${j(a.apps)}::jsonb,
          true, ${at}, ${hubId}, 1, ${a.allowDowngrade ?? null})
        ON CONFLICT (id) DO UPDATE SET hostname = excluded.hostname, labels = excluded.labels,
          agent_version = excluded.agent_version, apps = excluded.apps, online = true,
          allow_downgrade = excluded.allow_downgrade, forgotten_at = NULL,
          last_seen = excluded.last_seen, hub_id = excluded.hub_id, epoch = agents.epoch + 1
        RETURNING epoch, COALESCE((SELECT online FROM before), false) AS was_online`,
      );
      return { epoch: num(r?.epoch), wasOnline: r?.was_online === true };
    },
    async releaseAgent(agentId, hubId, epoch, at) {
      const result = await db`UPDATE agents SET online = false, last_seen = ${at}
        WHERE id = ${agentId} AND hub_id = ${hubId} AND epoch = ${epoch} AND online`;
      return result.count > 0;
    },
    async heartbeatHub(hubId, at) {
      await db`INSERT INTO hubs (id, heartbeat_at) VALUES (${hubId}, ${at})
        ON CONFLICT (id) DO UPDATE SET heartbeat_at = excluded.heartbeat_at`;
    },
    async releaseSilentHubs(before) {
      // One statement, releasing the agents of exactly the rows it deletes: a heartbeat that
      // commits meanwhile keeps its row (the DELETE re-checks it) and so its hub's agents. Two
      // statements released those agents and then kept the row, so the hub never learnt it.
      // Agents naming a hub with no row at all (deleted before) are released too. Each is last seen
      // when its hub last heartbeated (else at the cut-off), as a closing socket marks it: its hello
      // may be hours old, and its offline timeout would have run out at once.
      // A hub is silent past its own timeout too (timeout_ms), however short the caller's.
      const rows = await db`WITH dead AS (DELETE FROM hubs WHERE heartbeat_at < ${before}
          AND heartbeat_at < ${db.unsafe(DB_NOW_MS)} - COALESCE(timeout_ms, 0)
          RETURNING id, heartbeat_at)
        UPDATE agents a SET online = false, last_seen = GREATEST(a.last_seen,
            COALESCE((SELECT d.heartbeat_at FROM dead d WHERE d.id = a.hub_id), ${before}))
          WHERE online AND hub_id IS NOT NULL
          AND (hub_id IN (SELECT id FROM dead) OR hub_id NOT IN (SELECT id FROM hubs))
        RETURNING id`;
      return rows.map((r) => str(r.id)).sort();
    },

    async latestEventCursor() {
      // Every event visible now is in the past.
      const r = first(await db`SELECT pg_current_snapshot()::text AS snapshot`);
      return frontierCursor(str(r?.snapshot));
    },
    async readEventsAfter(cursor, limit) {
      const at = parseCursor(cursor);
      // The events `to` sees that `from` did not, in (tx, id) order: a transaction that was running
      // at `from` (its xip) or began after it (xmax on) and has committed since. `to` is this
      // statement's own snapshot, or, while a batch is paged, the snapshot its first page read.
      const rows = await db`SELECT s.snap::text AS snapshot, e.* FROM
          (SELECT COALESCE(${at.to}::pg_snapshot, pg_current_snapshot()) AS snap) s
        LEFT JOIN LATERAL (SELECT * FROM events
          WHERE (tx >= pg_snapshot_xmax(${at.from}::pg_snapshot)
              OR tx IN (SELECT pg_snapshot_xip(${at.from}::pg_snapshot)))
            AND pg_visible_in_snapshot(tx, s.snap)
            AND (tx, id) > (${at.tx}::xid8, ${at.id}::bigint)
          ORDER BY tx, id LIMIT ${limit}) e ON true`;
      const to = str(rows[0]?.snapshot);
      const found = rows.filter((r) => r.id !== null);
      const last = found.at(-1);
      // A full page may have more behind it: the next read pages on in the same `to`. A short one
      // read all of it, and `to` is where the next read starts.
      const next =
        last !== undefined && found.length >= limit
          ? pagedCursor(at.from, to, str(last.tx), str(last.id))
          : frontierCursor(to);
      return { events: found.map(toEvent), cursor: next };
    },

    async countAgentsOnline() {
      return num(first(await db`SELECT COUNT(*) AS n FROM agents WHERE online`)?.n);
    },
    async countForgottenAgents() {
      return num(first(await db`SELECT COUNT(*) AS n FROM agents WHERE forgotten_at IS NOT NULL`)?.n);
    },
    async countRolloutsByState() {
      return byState(await db`SELECT state, COUNT(*) AS n FROM rollouts GROUP BY state`);
    },
    async countDeploymentsByState() {
      // From the counted_state index, which holds `pending` and `sent` as one (a mark leaves it as
      // it was: a HOT update, migration 24); those rows alone are read to tell the two apart.
      return byState(
        await db`SELECT counted_state AS state, COUNT(*) AS n FROM deployments
          WHERE counted_state <> ${UNSENT_ONE} GROUP BY counted_state
        UNION ALL SELECT state, COUNT(*) AS n FROM deployments
          WHERE counted_state = ${UNSENT_ONE} GROUP BY state`,
      );
    },
  };
}

async function insertDeploymentRows(
  db: Db,
  ds: readonly DeploymentRecord[],
  sent: { at: number; actor: string; kind: string } | undefined,
  ofNewRollout: boolean,
): Promise<number> {
  // One array per column, read back in rows by `unnest`, not a JSON record per row: each row's
  // values once (176 bytes a row against 286 with its ten keys), less for the hub to write and the
  // database to parse before the commit every hub waits for (a 10,000-agent rollout: ~10 ms less of
  // each's CPU; round 48, docs/benchmarks-history.md).
  // The id is not sent: it is the rollout and the agent (deploymentId, which the CHECK of
  // migration 26 holds every row to), ~50 of a row's ~176 bytes.
  const rows = db`SELECT x.rollout_id || ':' || x.agent_id, x.*
    FROM unnest(${arrayLiteral(ds.map((d) => d.rolloutId))}::text[], ${arrayLiteral(ds.map((d) => d.agentId))}::text[],
      ${arrayLiteral(ds.map((d) => d.wave))}::int[], ${arrayLiteral(ds.map((d) => d.desiredRelease))}::text[],
      ${arrayLiteral(ds.map((d) => d.previousRelease))}::text[], ${arrayLiteral(ds.map((d) => d.state))}::text[],
      ${arrayLiteral(ds.map((d) => d.attempts))}::int[], ${arrayLiteral(ds.map((d) => d.updatedAt))}::bigint[],
      ${arrayLiteral(ds.map((d) => d.error))}::text[])
    AS x(rollout_id, agent_id, wave, desired_release, previous_release, state, attempts, updated_at, error)`;
  // ON CONFLICT makes the database probe both unique indexes for each row before inserting it
  // (and insert speculatively): ~20 % of the insert's CPU, measured on a 10,000-row wave start
  // (docs/benchmarks-history.md, round 50). A new rollout's rows can conflict with nothing.
  const skipExisting = db.unsafe(ofNewRollout ? "" : "ON CONFLICT DO NOTHING");
  if (!sent) {
    const result = await db`INSERT INTO deployments (id, rollout_id, agent_id, wave, desired_release,
        previous_release, state, attempts, updated_at, error)
      ${rows}
      ${skipExisting}`;
    return result.count;
  }
  // The rows inserted `sent` and their events in one statement (see markDueDeploymentsSent).
  const [row] = await db`WITH added AS (
      INSERT INTO deployments (id, rollout_id, agent_id, wave, desired_release, previous_release, state,
        attempts, updated_at, error)
      ${rows}
      ${skipExisting}
      RETURNING id, agent_id, state),
    recorded AS (INSERT INTO events (at, actor, kind, subject, data)
      SELECT ${sent.at}, ${sent.actor}, ${sent.kind}, a.id, json_build_object('agent', a.agent_id)
      FROM added a WHERE a.state = ${SENT})
    SELECT count(*)::int AS n FROM added`;
  return num(row?.n);
}

async function insertReportRows(
  db: Db,
  reports: readonly {
    id: string;
    agentId: string;
    deploymentId: string | null;
    payload: unknown;
    receivedAt: number;
  }[],
): Promise<string[]> {
  const rows = await db`INSERT INTO reports (id, agent_id, deployment_id, payload, received_at)
    SELECT x.id, x."agentId", x."deploymentId", COALESCE(x.payload, 'null'::json), x."receivedAt"
    FROM json_to_recordset(${j(reports.map((r) => ({ ...r, payload: r.payload ?? null })))}::json)
      AS x(id text, "agentId" text, "deploymentId" text, payload json, "receivedAt" bigint)
    ON CONFLICT (id) DO NOTHING
    RETURNING id`;
  return rows.map((r) => str(r.id));
}
