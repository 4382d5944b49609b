import Database from "better-sqlite3";
import type { AppStatus } from "../../shared/protocol/messages.js";
import { RESTORED_BY_HOST_ROW } from "../rollouts/rollback-result.js";
import { deploymentId } from "./deployment-id.js";
import { migrations } from "./migrations.js";
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
import { FIRST_TABLES, NotHubDatabase, SchemaTooNew } from "./schema-guard.js";
import { isSqliteBusy } from "./sqlite-lock-wait.js";
import type {
  AgentDeploymentPage,
  AgentRecord,
  ArtifactRecord,
  DeploymentCount,
  DeploymentRecord,
  DeploymentState,
  EventFilter,
  EventRecord,
  ForgetOutcome,
  NewEvent,
  ReleaseCursor,
  ReleaseRecord,
  ReportRecord,
  ReportsFrom,
  RolloutFilter,
  RolloutRecord,
  StaleDeployment,
  Store,
  TokenRecord,
} from "./store.js";
import { conditionSql, rollbackActsOnSql, type TakeOverDialect } from "./take-over-sql.js";

/** How SQLite finds a hub release among agent row `a`'s announced apps (a JSON array). */
const SQLITE_TAKE_OVER: TakeOverDialect = {
  agentRuns: (releaseId) =>
    `EXISTS (SELECT 1 FROM json_each(a.apps) e WHERE json_extract(e.value, '$.releaseId') = ${releaseId})`,
};

/**
 * Refuses, reading only, a database this hub must not migrate: one holding tables that are not a
 * hub's (a `--db` naming another application's database got the hub's tables written beside its
 * own, by `token list` too) or one a newer hub migrated. An empty database, or one holding only
 * `schema_version`, is a new hub's.
 */
export function checkSqliteSchema(db: Database.Database): void {
  const tables = (
    db
      .prepare(
        "SELECT name FROM sqlite_master WHERE type IN ('table', 'view') AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name",
      )
      .all() as { name: string }[]
  ).map((r) => r.name);
  if (tables.length === 0) return;
  const versioned =
    tables.includes("schema_version") &&
    (db.prepare("SELECT name FROM pragma_table_info('schema_version')").all() as { name: string }[]).some(
      (c) => c.name === "version",
    );
  const row = versioned
    ? (db.prepare("SELECT MAX(version) AS v FROM schema_version").get() as Row | undefined)
    : undefined;
  const version = row?.v === null || row?.v === undefined ? 0 : num(row.v);
  if (tables.length === 1 && versioned && version === 0) return;
  if (!versioned || version < 1 || !FIRST_TABLES.every((t) => tables.includes(t)))
    throw new NotHubDatabase(tables);
  if (version > migrations.length) throw new SchemaTooNew(version, migrations.length);
}

/** Applies pending migrations in one transaction each; returns the resulting schema version. */
export function migrate(db: Database.Database): number {
  checkSqliteSchema(db);
  db.exec("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)");
  const row = db.prepare("SELECT MAX(version) AS v FROM schema_version").get() as Row | undefined;
  let current = row?.v === null || row?.v === undefined ? 0 : num(row.v);
  for (; current < migrations.length; current++) {
    const sql = migrations[current]!;
    db.transaction(() => {
      db.exec(sql);
      db.prepare("INSERT INTO schema_version (version) VALUES (?)").run(current + 1);
    })();
  }
  return current;
}

export class SqliteStore implements Store {
  private readonly db: Database.Database;
  private readonly stmt: ReturnType<SqliteStore["prepareAll"]>;
  // db.transaction() builds four wrapper functions per call; a batch of reports makes thousands of
  // calls, so one wrapper runs them all (it still nests as a savepoint).
  private readonly inTransaction: (fn: () => unknown) => unknown;
  private readonly statements = new Map<string, Database.Statement>();

  constructor(file: string) {
    this.db = new Database(file);
    this.db.pragma("journal_mode = WAL");
    this.db.pragma("foreign_keys = ON");
    this.db.pragma("synchronous = NORMAL");
    // Opening waits inside the call (nothing is served yet); the hub's async store then waits on
    // timers instead (sqlite-lock-wait.ts).
    this.db.pragma("busy_timeout = 5000");
    migrate(this.db);
    this.stmt = this.prepareAll();
    this.inTransaction = this.db.transaction((fn: () => unknown) => fn());
  }

  private prepareAll() {
    const p = (sql: string) => this.db.prepare(sql);
    return {
      insertToken: p(`INSERT INTO tokens (jti, role, name, agent_id, created, expires, revoked, renewed_from)
        VALUES (@jti, @role, @name, @agentId, @created, @expires, @revoked, @renewedFrom)`),
      getToken: p("SELECT * FROM tokens WHERE jti = ?"),
      // The issued token `jti` belongs to (itself, or the one it renews) and every renewal of it.
      revokeToken: p(`WITH family(root) AS (SELECT COALESCE(renewed_from, jti) FROM tokens WHERE jti = @jti)
        UPDATE tokens SET revoked = @at WHERE revoked IS NULL
          AND (jti IN (SELECT root FROM family) OR renewed_from IN (SELECT root FROM family))
        RETURNING jti`),
      pruneRenewedTokens: p(`DELETE FROM tokens WHERE renewed_from IS NOT NULL AND expires <= ?
        AND EXISTS (SELECT 1 FROM tokens newer WHERE newer.renewed_from = tokens.renewed_from
          AND newer.expires > tokens.expires)`),
      listTokens: p("SELECT * FROM tokens ORDER BY created, jti"),
      revokedTokensInForce: p("SELECT jti FROM tokens WHERE revoked IS NOT NULL AND expires > ?"),
      putArtifact:
        p(`INSERT INTO artifacts (sha256, size, path, created) VALUES (@sha256, @size, @path, @created)
        ON CONFLICT (sha256) DO UPDATE SET size = excluded.size, path = excluded.path,
          created = max(artifacts.created, excluded.created)`),
      getArtifact: p("SELECT * FROM artifacts WHERE sha256 = ?"),
      insertRelease:
        p(`INSERT INTO releases (id, app, version, manifest, source, signature, created, created_by, warnings)
        VALUES (@id, @app, @version, @manifest, @source, @signature, @created, @createdBy, @warnings)`),
      getRelease: p("SELECT * FROM releases WHERE id = ?"),
      findRelease: p("SELECT * FROM releases WHERE app = ? AND version = ?"),
      releaseVersions: p("SELECT version FROM releases WHERE app = ?"),
      listReleases: p(
        `SELECT * FROM releases WHERE (@app IS NULL OR app = @app)
          AND (@afterCreated IS NULL OR created < @afterCreated OR (created = @afterCreated AND id > @afterId))
          ORDER BY created DESC, id LIMIT @limit`,
      ),
      upsertAgent: p(`INSERT INTO agents (id, hostname, labels, agent_version, apps, online, last_seen,
          allow_downgrade)
        VALUES (@id, @hostname, @labels, @agentVersion, @apps, @online, @lastSeen, @allowDowngrade)
        ON CONFLICT (id) DO UPDATE SET hostname = excluded.hostname, labels = excluded.labels,
          agent_version = excluded.agent_version, apps = excluded.apps, online = excluded.online,
          last_seen = excluded.last_seen, allow_downgrade = excluded.allow_downgrade, forgotten_at = NULL`),
      getAgent: p(`SELECT ${AGENT_SELECT} FROM agents WHERE id = ?`),
      listAgents: p(`SELECT ${AGENT_SELECT} FROM agents WHERE forgotten_at IS NULL ORDER BY id`),
      forgetAgent: p(
        "UPDATE agents SET forgotten_at = ? WHERE id = ? AND forgotten_at IS NULL AND online = 0",
      ),
      setAgentOnline: p("UPDATE agents SET online = ?, last_seen = ? WHERE id = ?"),
      setAgentApps: p("UPDATE agents SET apps = ? WHERE id = ?"),
      allOffline: p(`UPDATE agents SET online = 0, last_seen = MAX(last_seen,
          COALESCE((SELECT h.heartbeat_at FROM hubs h WHERE h.id = agents.hub_id), last_seen))
        WHERE online = 1`),
      forgetHubs: p("DELETE FROM hubs"),
      insertRollout:
        p(`INSERT INTO rollouts (id, release_id, spec, state, current_wave, wave_started_at, reason,
        failure_allowance, created, updated)
        VALUES (@id, @releaseId, @spec, @state, @currentWave, @waveStartedAt, @reason, @failureAllowance, @created, @updated)`),
      getRollout: p("SELECT * FROM rollouts WHERE id = ?"),
      findRollouts: p(`SELECT * FROM rollouts WHERE substr(lower(id), 1, length(@prefix)) = @prefix
        ORDER BY created DESC, id LIMIT @limit`),
      listRollouts: p(`SELECT * FROM rollouts
        WHERE (@states IS NULL OR state IN (SELECT value FROM json_each(@states)))
        AND (@app IS NULL OR release_id IN (SELECT id FROM releases WHERE app = @app))
        AND (@releaseId IS NULL OR release_id = @releaseId)
        AND (@afterCreated IS NULL OR created < @afterCreated OR (created = @afterCreated AND id > @afterId))
        ORDER BY created DESC, id`),
      updateRollout: p(`UPDATE rollouts SET state = COALESCE(@state, state),
        current_wave = COALESCE(@currentWave, current_wave), wave_started_at = COALESCE(@waveStartedAt, wave_started_at),
        reason = CASE WHEN @setReason THEN @reason ELSE reason END,
        failure_allowance = COALESCE(@failureAllowance, failure_allowance), updated = @updated WHERE id = @id`),
      insertDeployment:
        p(`INSERT INTO deployments (id, rollout_id, agent_id, wave, desired_release, previous_release,
        state, attempts, updated_at, error)
        VALUES (@id, @rolloutId, @agentId, @wave, @desiredRelease, @previousRelease, @state, @attempts, @updatedAt, @error)
        ON CONFLICT DO NOTHING`),
      getDeployment: p("SELECT * FROM deployments WHERE id = ?"),
      deploymentsOfRollout: p("SELECT * FROM deployments WHERE rollout_id = ? ORDER BY wave, agent_id"),
      deploymentsOfAgent: p("SELECT * FROM deployments WHERE agent_id = ? ORDER BY updated_at DESC, id"),
      agentDeploymentPage: p(`SELECT d.*, r.created AS rollout_created
        FROM deployments d JOIN rollouts r ON r.id = d.rollout_id
        WHERE d.agent_id = @agentId
        AND (@afterCreated IS NULL OR r.created < @afterCreated OR (r.created = @afterCreated AND d.id > @afterId))
        ORDER BY r.created DESC, d.id LIMIT @limit`),
      allDeployments: p("SELECT * FROM deployments"),
      updateDeployment:
        p(`UPDATE deployments SET state = COALESCE(@state, state), attempts = COALESCE(@attempts, attempts),
        started = MAX(COALESCE(@started, started), @ranAtLeast),
        error = CASE WHEN @setError THEN @error ELSE error END,
        warnings = CASE WHEN @setWarnings THEN @warnings ELSE warnings END, updated_at = @updatedAt WHERE id = @id`),
      // `np`: what a rollback would act on (`rollbackActsOn`), by the engine's own rule.
      countOfRollout: p(
        `SELECT d.wave AS wave, d.state AS state, COUNT(*) AS n,
        SUM(CASE WHEN ${rollbackActsOnSql(SQLITE_TAKE_OVER)} THEN 1 ELSE 0 END) AS np,
        SUM(CASE WHEN ${conditionSql(RESTORED_BY_HOST_ROW)} THEN 1 ELSE 0 END) AS nr,
        SUM(CASE WHEN d.attempts > 0 THEN 1 ELSE 0 END) AS ns,
        MAX(d.updated_at) AS last_updated
        FROM deployments d JOIN rollouts r ON r.id = d.rollout_id WHERE d.rollout_id = ? GROUP BY d.wave, d.state`,
      ),
      staleOfRollout: p(`SELECT d.*, a.last_seen AS agent_last_seen FROM deployments d
        JOIN agents a ON a.id = d.agent_id
        WHERE d.rollout_id = @rolloutId AND d.wave <= @maxWave
          AND d.state IN (SELECT value FROM json_each(@states)) AND a.last_seen <= @seenBefore
        ORDER BY d.wave, d.agent_id`),
      stalledOfRollout: p(`SELECT * FROM deployments
        WHERE rollout_id = @rolloutId AND wave <= @maxWave
          AND state IN (SELECT value FROM json_each(@states)) AND updated_at <= @updatedBefore
        ORDER BY wave, agent_id`),
      stuckIn: p(`SELECT * FROM deployments WHERE state = @state AND updated_at <= @updatedBefore
        ORDER BY updated_at, id LIMIT @limit`),
      insertReport: p(`INSERT INTO reports (id, agent_id, deployment_id, payload, received_at)
        VALUES (@id, @agentId, @deploymentId, @payload, @receivedAt) ON CONFLICT (id) DO NOTHING`),
      // Newest by arrival (rowid), not by stamp: stamps written before a clock was set back rank
      // above the reports that came after it (see Store.listReports).
      pruneReports: p(`DELETE FROM reports WHERE received_at < @olderThan OR rowid IN (
        SELECT rowid FROM (SELECT rowid, ROW_NUMBER() OVER (
          PARTITION BY agent_id ORDER BY rowid DESC) AS n FROM reports)
        WHERE n > @keepPerAgent)`),
      listReports: p("SELECT * FROM reports WHERE agent_id = ? ORDER BY rowid DESC LIMIT ? OFFSET ?"),
      listReportsBefore: p(`SELECT * FROM reports WHERE agent_id = @agentId
        AND rowid < (SELECT rowid FROM reports WHERE id = @before AND agent_id = @agentId)
        ORDER BY rowid DESC LIMIT @limit`),
      hasReport: p("SELECT 1 FROM reports WHERE id = ? AND agent_id = ?"),
      appendEvent: p(
        "INSERT INTO events (at, actor, kind, subject, data) VALUES (@at, @actor, @kind, @subject, @data)",
      ),
      listEvents:
        p(`SELECT * FROM events WHERE (@before IS NULL OR id < @before) AND (@subject IS NULL OR subject = @subject
          OR (@parts = 1 AND substr(subject, 1, length(@subject) + 1) = @subject || ':'))
          AND (@kinds IS NULL OR kind IN (SELECT value FROM json_each(@kinds)))
        ORDER BY id DESC LIMIT @limit`),
      countOnline: p("SELECT COUNT(*) AS n FROM agents WHERE online = 1"),
      rolloutsByState: p("SELECT state, COUNT(*) AS n FROM rollouts GROUP BY state"),
      deploymentsByState: p("SELECT state, COUNT(*) AS n FROM deployments GROUP BY state"),
    };
  }

  transaction<T>(fn: () => T): T {
    return this.inTransaction(fn) as T;
  }

  close(): void {
    if (!this.db.open) return;
    this.db.pragma("wal_checkpoint(TRUNCATE)");
    this.db.close();
  }

  // For the async adapter, whose transactions span awaits and so cannot use db.transaction().
  // IMMEDIATE takes the write lock at once: a transaction never fails half-way on a busy database.
  begin(): void {
    this.db.exec("BEGIN IMMEDIATE");
  }
  commit(): void {
    this.db.exec("COMMIT");
  }
  rollback(): void {
    if (this.db.inTransaction) this.db.exec("ROLLBACK");
  }
  /** The database file, for messages. */
  get file(): string {
    return this.db.name;
  }
  /** How long a statement waits inside the call for a lock another process holds (0: not at all). */
  busyTimeout(ms: number): void {
    this.db.pragma(`busy_timeout = ${Math.max(0, Math.trunc(ms))}`);
  }
  /** Whether the write lock can be had now: taken and let go at once, never waited for. */
  writableNow(): boolean {
    if (this.db.inTransaction) return true;
    try {
      this.db.exec("BEGIN IMMEDIATE");
    } catch (error) {
      if (isSqliteBusy(error)) return false;
      throw error;
    }
    this.db.exec("ROLLBACK");
    return true;
  }
  /** A prepared statement, made once: for the async adapter's operations the sync Store lacks. */
  statement(sql: string): Database.Statement {
    let stmt = this.statements.get(sql);
    if (!stmt) {
      stmt = this.db.prepare(sql);
      this.statements.set(sql, stmt);
    }
    return stmt;
  }

  insertToken(t: TokenRecord): void {
    this.stmt.insertToken.run(t);
  }
  getToken(jti: string): TokenRecord | undefined {
    const r = this.stmt.getToken.get(jti) as Row | undefined;
    return r && toToken(r);
  }
  revokeToken(jti: string, at: number): string[] {
    return (this.stmt.revokeToken.all({ at, jti }) as Row[]).map((r) => str(r.jti)).sort();
  }
  pruneRenewedTokens(now: number): number {
    return this.stmt.pruneRenewedTokens.run(now).changes;
  }
  revokedTokensInForce(now: number): string[] {
    return (this.stmt.revokedTokensInForce.all(now) as Row[]).map((r) => str(r.jti));
  }
  listTokens(): TokenRecord[] {
    return (this.stmt.listTokens.all() as Row[]).map(toToken);
  }

  putArtifact(a: ArtifactRecord): void {
    this.stmt.putArtifact.run(a);
  }
  getArtifact(sha256: string): ArtifactRecord | undefined {
    const r = this.stmt.getArtifact.get(sha256) as Row | undefined;
    return r && { sha256: str(r.sha256), size: num(r.size), path: str(r.path), created: num(r.created) };
  }

  insertRelease(r: ReleaseRecord): void {
    this.stmt.insertRelease.run({
      ...r,
      source: JSON.stringify(r.source),
      warnings: r.warnings === undefined ? null : JSON.stringify(r.warnings),
    });
  }
  getRelease(id: string): ReleaseRecord | undefined {
    const r = this.stmt.getRelease.get(id) as Row | undefined;
    return r && toRelease(r);
  }
  findRelease(app: string, version: string): ReleaseRecord | undefined {
    const r = this.stmt.findRelease.get(app, version) as Row | undefined;
    return r && toRelease(r);
  }
  releaseVersions(app: string): string[] {
    return (this.stmt.releaseVersions.all(app) as Row[]).map((r) => str(r.version));
  }
  listReleases(filter: { app?: string; limit: number; after?: ReleaseCursor }): ReleaseRecord[] {
    const rows = this.stmt.listReleases.all({
      app: filter.app ?? null,
      limit: filter.limit,
      afterCreated: filter.after?.created ?? null,
      afterId: filter.after?.id ?? null,
    }) as Row[];
    return rows.map(toRelease);
  }

  upsertAgent(a: AgentRecord): void {
    this.stmt.upsertAgent.run({
      ...a,
      labels: JSON.stringify(a.labels),
      apps: JSON.stringify(a.apps),
      online: a.online ? 1 : 0,
      allowDowngrade: a.allowDowngrade === undefined ? null : a.allowDowngrade ? 1 : 0,
    });
  }
  getAgent(id: string): AgentRecord | undefined {
    const r = this.stmt.getAgent.get(id) as Row | undefined;
    return r && toAgent(r);
  }
  listAgents(): AgentRecord[] {
    return (this.stmt.listAgents.all() as Row[]).map(toAgent);
  }
  forgetAgent(id: string, at: number): ForgetOutcome {
    // One writer at a time: the read and the conditional update cannot interleave with a hello.
    return this.transaction(() => {
      if (this.stmt.forgetAgent.run(at, id).changes > 0) return "forgotten";
      const agent = this.getAgent(id);
      return agent && agent.forgottenAt === undefined ? "online" : "unknown";
    });
  }
  setAgentOnline(id: string, online: boolean, at: number): void {
    this.stmt.setAgentOnline.run(online ? 1 : 0, at, id);
  }
  setAgentApps(id: string, apps: AppStatus[]): void {
    this.stmt.setAgentApps.run(JSON.stringify(apps), id);
  }
  markAllAgentsOffline(): void {
    this.db.transaction(() => {
      this.stmt.allOffline.run();
      this.stmt.forgetHubs.run();
    })();
  }

  insertRollout(r: RolloutRecord): void {
    this.stmt.insertRollout.run({ ...r, spec: JSON.stringify(r.spec) });
  }
  getRollout(id: string): RolloutRecord | undefined {
    const r = this.stmt.getRollout.get(id) as Row | undefined;
    return r && toRollout(r);
  }
  findRollouts(prefix: string, limit: number): RolloutRecord[] {
    const rows = this.stmt.findRollouts.all({ prefix: prefix.toLowerCase(), limit }) as Row[];
    return rows.map(toRollout);
  }
  listRollouts(filter: RolloutFilter): RolloutRecord[] {
    const params = {
      states: filter.states ? JSON.stringify(filter.states) : null,
      app: filter.app ?? null,
      releaseId: filter.releaseId ?? null,
      afterCreated: filter.after?.created ?? null,
      afterId: filter.after?.id ?? null,
    };
    // The limit is applied here: SQLite's ORDER BY … LIMIT costs ~20x more on a near-empty table,
    // and every agent hello asks for the active rollouts.
    const rollouts: RolloutRecord[] = [];
    for (const row of this.stmt.listRollouts.iterate(params) as IterableIterator<Row>) {
      if (rollouts.length >= filter.limit) break;
      rollouts.push(toRollout(row));
    }
    return rollouts;
  }
  updateRollout(
    id: string,
    patch: Partial<
      Pick<RolloutRecord, "state" | "currentWave" | "waveStartedAt" | "reason" | "failureAllowance">
    > & {
      updated: number;
    },
  ): void {
    this.stmt.updateRollout.run({
      id,
      state: patch.state ?? null,
      currentWave: patch.currentWave ?? null,
      waveStartedAt: patch.waveStartedAt ?? null,
      failureAllowance: patch.failureAllowance ?? null,
      setReason: "reason" in patch ? 1 : 0,
      reason: patch.reason ?? null,
      updated: patch.updated,
    });
  }

  insertDeployment(d: DeploymentRecord): boolean {
    const { warnings: _, ...row } = d;
    // Under its pair's id whatever it was given, as PostgreSQL writes it (its CHECK holds the id).
    return this.stmt.insertDeployment.run({ ...row, id: deploymentId(d.rolloutId, d.agentId) }).changes > 0;
  }
  getDeployment(id: string): DeploymentRecord | undefined {
    const r = this.stmt.getDeployment.get(id) as Row | undefined;
    return r && toDeployment(r);
  }
  listDeployments(filter: { rolloutId?: string; agentId?: string }): DeploymentRecord[] {
    let rows: Row[];
    if (filter.rolloutId !== undefined) rows = this.stmt.deploymentsOfRollout.all(filter.rolloutId) as Row[];
    else if (filter.agentId !== undefined) rows = this.stmt.deploymentsOfAgent.all(filter.agentId) as Row[];
    else rows = this.stmt.allDeployments.all() as Row[];
    const all = rows.map(toDeployment);
    return filter.rolloutId !== undefined && filter.agentId !== undefined
      ? all.filter((d) => d.agentId === filter.agentId)
      : all;
  }
  pageAgentDeployments(filter: {
    agentId: string;
    after?: ReleaseCursor;
    limit: number;
  }): AgentDeploymentPage {
    const rows = this.stmt.agentDeploymentPage.all({
      agentId: filter.agentId,
      afterCreated: filter.after?.created ?? null,
      afterId: filter.after?.id ?? null,
      limit: filter.limit + 1,
    }) as Row[];
    return toAgentDeploymentPage(rows, filter.limit);
  }
  updateDeployment(
    id: string,
    patch: Partial<Pick<DeploymentRecord, "state" | "attempts" | "started" | "error" | "warnings">> & {
      updatedAt: number;
      ran?: boolean;
    },
  ): void {
    this.stmt.updateDeployment.run({
      id,
      state: patch.state ?? null,
      attempts: patch.attempts ?? null,
      started: patch.started ?? null,
      ranAtLeast: patch.ran === true ? 1 : 0,
      setError: "error" in patch ? 1 : 0,
      error: patch.error ?? null,
      setWarnings: patch.warnings === undefined ? 0 : 1,
      warnings: patch.warnings === undefined ? null : JSON.stringify(patch.warnings),
      updatedAt: patch.updatedAt,
    });
  }

  countDeploymentsOfRollout(rolloutId: string): DeploymentCount[] {
    return (this.stmt.countOfRollout.all(rolloutId) as Row[]).map((r) => ({
      wave: num(r.wave),
      state: str(r.state) as DeploymentState,
      count: num(r.n),
      rollbackable: num(r.np),
      sent: num(r.ns),
      restored: num(r.nr),
      lastUpdated: num(r.last_updated),
    }));
  }
  listStaleDeployments(filter: {
    rolloutId: string;
    maxWave: number;
    states: readonly DeploymentState[];
    seenBefore: number;
  }): StaleDeployment[] {
    const rows = this.stmt.staleOfRollout.all({ ...filter, states: JSON.stringify(filter.states) }) as Row[];
    return rows.map((r) => ({ ...toDeployment(r), agentLastSeen: num(r.agent_last_seen) }));
  }

  listStalledDeployments(filter: {
    rolloutId: string;
    maxWave: number;
    states: readonly DeploymentState[];
    updatedBefore: number;
  }): DeploymentRecord[] {
    const rows = this.stmt.stalledOfRollout.all({
      ...filter,
      states: JSON.stringify(filter.states),
    }) as Row[];
    return rows.map(toDeployment);
  }

  listDeploymentsStuckIn(filter: {
    state: DeploymentState;
    updatedBefore: number;
    limit: number;
  }): DeploymentRecord[] {
    return (this.stmt.stuckIn.all(filter) as Row[]).map(toDeployment);
  }

  insertReport(r: ReportRecord): boolean {
    return this.stmt.insertReport.run({ ...r, payload: JSON.stringify(r.payload) }).changes > 0;
  }
  pruneReports(keepPerAgent: number, olderThan: number): number {
    return this.stmt.pruneReports.run({ keepPerAgent, olderThan }).changes;
  }
  listReports(agentId: string, limit: number, from: ReportsFrom = { offset: 0 }): ReportRecord[] {
    const rows =
      "before" in from
        ? this.stmt.listReportsBefore.all({ agentId, before: from.before, limit })
        : this.stmt.listReports.all(agentId, limit, from.offset);
    return (rows as Row[]).map(toReport);
  }
  hasReport(agentId: string, id: string): boolean {
    return this.stmt.hasReport.get(id, agentId) !== undefined;
  }

  appendEvent(e: NewEvent): void {
    this.stmt.appendEvent.run({ ...e, data: JSON.stringify(e.data ?? null) });
  }
  listEvents(filter: EventFilter): EventRecord[] {
    const rows = this.stmt.listEvents.all({
      before: filter.before ?? null,
      subject: filter.subject ?? null,
      parts: filter.withParts === true ? 1 : 0,
      kinds: filter.kinds === undefined ? null : JSON.stringify(filter.kinds),
      limit: filter.limit,
    }) as Row[];
    return rows.map(toEvent);
  }

  /** Oldest first, after `afterId`: one writer commits ids in order, so an id cursor misses nothing. */
  listEventsAfter(afterId: number, limit: number): EventRecord[] {
    const rows = this.db
      .prepare("SELECT * FROM events WHERE id > ? ORDER BY id LIMIT ?")
      .all(afterId, limit) as Row[];
    return rows.map(toEvent);
  }
  lastEventId(): number {
    return num((this.db.prepare("SELECT COALESCE(MAX(id), 0) AS id FROM events").get() as Row).id);
  }

  lastReportReceivedAt(): number | undefined {
    const row = this.db.prepare("SELECT received_at FROM reports ORDER BY rowid DESC LIMIT 1").get();
    return row === undefined ? undefined : num((row as Row).received_at);
  }

  countAgentsOnline(): number {
    return num((this.stmt.countOnline.get() as Row).n);
  }
  countForgottenAgents(): number {
    const row = this.db.prepare("SELECT COUNT(*) AS n FROM agents WHERE forgotten_at IS NOT NULL").get();
    return num((row as Row).n);
  }
  countRolloutsByState(): Record<string, number> {
    return Object.fromEntries(
      (this.stmt.rolloutsByState.all() as Row[]).map((r) => [str(r.state), num(r.n)]),
    );
  }
  countDeploymentsByState(): Record<string, number> {
    return Object.fromEntries(
      (this.stmt.deploymentsByState.all() as Row[]).map((r) => [str(r.state), num(r.n)]),
    );
  }
}
