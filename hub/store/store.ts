/**
 * The hub's persistence interface as its callers use it today. Everything the hub knows lives
 * behind it. Calls are synchronous (better-sqlite3); `transaction` groups writes so a state change
 * and its audit event land together or not at all. Its async twin, `AsyncStore` (async-store.ts),
 * derives every operation from this one and has a SQLite and a PostgreSQL implementation.
 */
import type { RolloutSpec } from "../../shared/api/bodies.js";
import type { AppStatus, ReleaseSourceRef } from "../../shared/protocol/messages.js";

export const roles = ["ci", "operator", "agent"] as const;
export type Role = (typeof roles)[number];

export interface TokenRecord {
  jti: string;
  role: Role;
  name: string;
  agentId: string | null;
  created: number;
  expires: number;
  revoked: number | null;
  /**
   * For a token the agent channel issued in renewal: the token the operator issued, never another
   * renewal (so a connection renewed for years leaves no chain). Revoking any token of that family
   * revokes them all; renewals past their expiry are pruned.
   */
  renewedFrom: string | null;
}

export interface ArtifactRecord {
  sha256: string;
  size: number;
  path: string;
  created: number;
}

/** Where a page of the release (or rollout, or an agent's deployments) listing ended: its last row's `created` (a deployment's: its rollout's) and id. */
export interface ReleaseCursor {
  created: number;
  id: string;
}

/**
 * A page of one agent's deployments, newest rollout first (the rollout's `created`, then the
 * deployment's id): a deployment that reports keeps its place, so paging on with `next` reads each
 * deployment once (by `updatedAt` it moved to the front between two pages and was read twice, and
 * the row it pushed back never).
 */
export interface AgentDeploymentPage {
  deployments: DeploymentRecord[];
  /** Set when older ones exist: the `after` of the next page. */
  next?: ReleaseCursor;
}

/** What `listRollouts` reads: newest first (`created`, then id), at most `limit`. */
export interface RolloutFilter {
  states?: readonly RolloutState[];
  /** Only the rollouts of that app's releases. */
  app?: string;
  /** Only the rollouts of this release. */
  releaseId?: string;
  /** Only those after this one in the order (the next page of a listing). */
  after?: ReleaseCursor;
  limit: number;
}

export interface ReleaseRecord {
  id: string;
  app: string;
  version: string;
  manifest: string;
  source: ReleaseSourceRef;
  signature: string | null;
  created: number;
  createdBy: string;
  /**
   * What the manifest's reader warned about at publish, one line each ([] when nothing): stored
   * with the release so no listing parses its manifest again. Absent for a release stored before
   * the column (round 56): its view computes them once (hub/api/release-view.ts).
   */
  warnings?: string[];
}

export interface AgentRecord {
  id: string;
  hostname: string;
  labels: Record<string, string>;
  agentVersion: string;
  apps: AppStatus[];
  online: boolean;
  lastSeen: number;
  /** Its hello's `allowDowngrade` ([trust] allow_downgrade); absent when it never said (older agent). */
  allowDowngrade?: boolean;
  /** When an operator forgot it (`agents forget`); absent while it is in the fleet. */
  forgottenAt?: number;
}

/** What `forgetAgent` did: forgot it, or why not. */
export type ForgetOutcome = "forgotten" | "online" | "unknown";

// The states and their transitions live in the state machine's table; records carry them.
import type { DeploymentState, RolloutState } from "../rollouts/states.js";

export {
  type DeploymentState,
  deploymentStates,
  type RolloutState,
  rolloutStates,
} from "../rollouts/states.js";

export interface RolloutRecord {
  id: string;
  releaseId: string;
  spec: RolloutSpec;
  state: RolloutState;
  currentWave: number;
  waveStartedAt: number;
  /** Why the rollout halted or ended, for people reading `rollout show`. */
  reason: string | null;
  /** Failures an operator accepted by resuming after a halt; the threshold counts only newer ones. */
  failureAllowance: number;
  created: number;
  updated: number;
}

export interface DeploymentRecord {
  id: string;
  rolloutId: string;
  agentId: string;
  wave: number;
  desiredRelease: string;
  previousRelease: string | null;
  state: DeploymentState;
  /** How many times the instruction was handed to the agent's socket (a re-send after a timeout too). */
  attempts: number;
  /**
   * How many times the agent started the update, as it told the hub (its progress "fetch
   * started", once per run: a host restarted mid-update starts it again). The API's `attempts`.
   * Absent before it is stored: 0.
   */
  started?: number;
  updatedAt: number;
  /** Why it failed or is not done: never a warning of a run that succeeded (`warnings` holds those). */
  error: string | null;
  /**
   * What the agent's last report of it warned about (a `warn` conditional, a file ship had not
   * installed replaced), up to WARNINGS_KEPT and a line saying how many more; absent when none.
   */
  warnings?: string[];
}

export interface ReportRecord {
  /** `<agent id>/<report id>`: agents choose report ids, so they are unique per agent only. */
  id: string;
  agentId: string;
  deploymentId: string | null;
  payload: unknown;
  receivedAt: number;
}

/** Where a page of an agent's reports starts (Store.listReports): after a report, or at an offset. */
export type ReportsFrom = { before: string } | { offset: number };

export interface EventRecord {
  id: number;
  at: number;
  actor: string;
  kind: string;
  subject: string;
  data: unknown;
}

export type NewEvent = Omit<EventRecord, "id">;

/** How many of a rollout's deployments are in one wave and state. */
export interface DeploymentCount {
  wave: number;
  state: DeploymentState;
  count: number;
  /**
   * Of those, how many a rollback would act on: their agent's previous release is known (it is sent
   * back), or it is not and no rollback said so yet (its error does not start with
   * ROLLBACK_IMPOSSIBLE, hub/rollouts/rollback-result.ts).
   */
  rollbackable: number;
  /**
   * Of those, how many were ever handed to their agent (attempts > 0): one planned succeeded, or
   * found on the release, before it was sent tested nothing.
   */
  sent: number;
  /** Of those, how many failed updates their host restored by itself (error starts RESTORED_BY_HOST). */
  restored: number;
  /** When the newest of them last changed (ms): a rollout's `updated` moves with its agents' reports. */
  lastUpdated: number;
}

/** An unfinished deployment whose agent has not been seen since `seenBefore`. */
export interface StaleDeployment extends DeploymentRecord {
  agentLastSeen: number;
}

export interface EventFilter {
  before?: number;
  subject?: string;
  withParts?: boolean;
  /**
   * Only events of these kinds: what the engine looks for (a rollout's last resume, its pauses) is
   * asked of the store, not found among the newest N of a subject whose other events (waiting,
   * advanced, untested passes…) may be many.
   */
  kinds?: readonly string[];
  limit: number;
}

export interface Store {
  transaction<T>(fn: () => T): T;
  /** Checkpoints the write-ahead log and closes; the store is unusable afterwards. */
  close(): void;

  insertToken(token: TokenRecord): void;
  getToken(jti: string): TokenRecord | undefined;
  /**
   * Revokes the token and its family: the token the operator issued and every renewal of it
   * (whichever of them `jti` names). The jtis it revoked now, none when none was still in force.
   */
  revokeToken(jti: string, at: number): string[];
  /**
   * Deletes renewals expired at `now` that a newer renewal of the same token replaced (the operator's
   * own tokens stay listed); how many went. The newest is what its agent holds: expired by a clock
   * that ran ahead, it would be valid again once the clock is put right.
   */
  pruneRenewedTokens(now: number): number;
  /**
   * jtis revoked that have not expired by `now` (ms): live sessions poll this to end revoked
   * connections (an expired one ends them anyway). Not by when they were revoked: that stamp is
   * the clock of the host that ran `token revoke`, which may run behind the hub's.
   */
  revokedTokensInForce(now: number): string[];
  listTokens(): TokenRecord[];

  putArtifact(artifact: ArtifactRecord): void;
  getArtifact(sha256: string): ArtifactRecord | undefined;

  insertRelease(release: ReleaseRecord): void;
  getRelease(id: string): ReleaseRecord | undefined;
  findRelease(app: string, version: string): ReleaseRecord | undefined;
  /** Every version published for `app`: equal-comparing versions (`v2.0.0`, `2.0.0`) are one. */
  releaseVersions(app: string): string[];
  /**
   * Newest first (by `created`, then by id), at most `limit`; with `after`, only those that come
   * after that release in this order (the next page of a listing).
   */
  listReleases(filter: { app?: string; limit: number; after?: ReleaseCursor }): ReleaseRecord[];

  upsertAgent(agent: AgentRecord): void;
  getAgent(id: string): AgentRecord | undefined;
  /** The fleet: every agent but those forgotten (`forgetAgent`) and not back since. */
  listAgents(): AgentRecord[];
  /**
   * Takes an offline agent out of the fleet (listAgents, new rollouts) until its next hello, which
   * brings it back with its id and history. Its row stays: deployments of past rollouts name it.
   * An agent online now is left as it is ("online"); an id never seen or forgotten already is "unknown".
   */
  forgetAgent(id: string, at: number): ForgetOutcome;
  setAgentOnline(id: string, online: boolean, at: number): void;
  setAgentApps(id: string, apps: AppStatus[]): void;
  /**
   * At a lone hub's start: no connection survives a restart. Each agent still marked online was
   * seen until its hub last heartbeated, when that is later than its hello (a hub killed outright
   * wrote nothing else); the heartbeats are removed, as no hub of theirs runs now.
   */
  markAllAgentsOffline(): void;

  insertRollout(rollout: RolloutRecord): void;
  getRollout(id: string): RolloutRecord | undefined;
  /**
   * The rollouts whose id, in lower case, starts with `prefix` (lower case), newest first, at most
   * `limit`: a short id's lookup reads its matches only, not every rollout of the hub.
   */
  findRollouts(prefix: string, limit: number): RolloutRecord[];
  listRollouts(filter: RolloutFilter): RolloutRecord[];
  updateRollout(
    id: string,
    patch: Partial<
      Pick<RolloutRecord, "state" | "currentWave" | "waveStartedAt" | "reason" | "failureAllowance">
    > & {
      updated: number;
    },
  ): void;

  /**
   * Inserts unless the (rollout, agent) pair exists; returns whether it inserted. The row's id is
   * its pair's (`deploymentId`), whatever `id` says: the only id a deployment ever had, which the
   * PostgreSQL store's primary key relies on for one row per pair.
   */
  insertDeployment(deployment: DeploymentRecord): boolean;
  getDeployment(id: string): DeploymentRecord | undefined;
  listDeployments(filter: { rolloutId?: string; agentId?: string }): DeploymentRecord[];
  pageAgentDeployments(filter: {
    agentId: string;
    after?: ReleaseCursor;
    limit: number;
  }): AgentDeploymentPage;
  updateDeployment(
    id: string,
    patch: Partial<Pick<DeploymentRecord, "state" | "attempts" | "started" | "error" | "warnings">> & {
      updatedAt: number;
      /** A result of a run the agent carried out: `started` becomes at least 1 (see DeploymentUpdate). */
      ran?: boolean;
    },
  ): void;

  /**
   * Per wave and state, counted by the database: the tick must not load 10,000 rows to count them.
   * (No index on state on purpose: every report changes a state, and such an index cost a third
   * of report ingestion, while this count reads a 10,000-agent rollout in ~5 ms.)
   */
  countDeploymentsOfRollout(rolloutId: string): DeploymentCount[];
  /** Deployments of waves ≤ maxWave in one of `states` whose agent was last seen at or before `seenBefore`. */
  listStaleDeployments(filter: {
    rolloutId: string;
    maxWave: number;
    states: readonly DeploymentState[];
    seenBefore: number;
  }): StaleDeployment[];

  /** Deployments of waves ≤ maxWave in one of `states` not updated since `updatedBefore`. */
  listStalledDeployments(filter: {
    rolloutId: string;
    maxWave: number;
    states: readonly DeploymentState[];
    updatedBefore: number;
  }): DeploymentRecord[];

  /**
   * Deployments of any rollout in `state` not updated since `updatedBefore`, at most `limit`: what
   * a timeout watches after its rollout stopped being evaluated (unanswered rollback instructions).
   * A partial index covers the one state asked for, so this never reads the rest of the table
   * (`rollback_pending`, the one the tick asks for: PostgreSQL indexes no other).
   */
  listDeploymentsStuckIn(filter: {
    state: DeploymentState;
    updatedBefore: number;
    limit: number;
  }): DeploymentRecord[];

  /** Stores a report once; false when its id was already stored (a resend). */
  insertReport(report: ReportRecord): boolean;
  /**
   * An agent's reports, newest first (the order they arrived in, not their stamps: those written
   * before the hub's clock was set back read later than the reports after it). `from` pages to
   * older ones: `before`, the id of the last report of the page before (those that arrive while a
   * caller pages leave its place alone; none when the agent has no report of that id, pruned or
   * never its own), or an `offset` (which they shift).
   */
  listReports(agentId: string, limit: number, from?: ReportsFrom): ReportRecord[];
  /** Whether the agent has a stored report of this id (`<agent id>/<report id>`). */
  hasReport(agentId: string, id: string): boolean;
  /** Deletes reports received before `olderThan` and all but each agent's newest `keepPerAgent` (by arrival). */
  pruneReports(keepPerAgent: number, olderThan: number): number;
  /** When the report that arrived last was received (its stamp); undefined when none is stored. */
  lastReportReceivedAt(): number | undefined;

  appendEvent(event: NewEvent): void;
  /**
   * Newest first; `before` is an event id for paging. `withParts`: also the events of `subject`'s
   * parts (`SUBJECT:…`, a rollout's deployments), so a rollout's log holds what happened to its agents.
   */
  listEvents(filter: EventFilter): EventRecord[];

  countAgentsOnline(): number;
  /** Agents an operator forgot (`forgetAgent`) and not back since: out of `listAgents`. */
  countForgottenAgents(): number;
  countRolloutsByState(): Record<string, number>;
  countDeploymentsByState(): Record<string, number>;
}
