/**
 * The hub's asynchronous persistence interface: what several hubs sharing one PostgreSQL need, and
 * what the embedded SQLite store also offers (through an adapter), so callers are written once.
 * Every operation of the synchronous `Store` is here as a promise (derived from it, so the two
 * cannot drift), plus set-based operations for the hot paths and the primitives several hubs need:
 * row locks, a commit-ordered event cursor and artifact contents streamed in chunks.
 *
 * Transaction rules (docs/cluster.md):
 * - `tx(fn)` runs `fn` in one transaction and may run it AGAIN when the database reports a
 *   serialization failure or deadlock; `fn` must only touch the store through `t` and keep every
 *   other effect (sending to agents, acking) until `tx` resolved.
 * - Inside `fn`, use `t` only: the store itself is another connection (PostgreSQL) or waits for the
 *   transaction to end (SQLite), and both adapters refuse that misuse loudly.
 */
import type { AppStatus } from "../../shared/protocol/messages.js";
import type {
  AgentRecord,
  DeploymentRecord,
  DeploymentState,
  EventRecord,
  NewEvent,
  ReportRecord,
  RolloutRecord,
  Store,
} from "./store.js";

/** An artifact as any hub can serve it: no file path, the bytes live in the store. */
export interface StoredArtifactInfo {
  sha256: string;
  size: number;
  created: number;
}

type Promised<S> = {
  [K in keyof S]: S[K] extends (...args: infer A) => infer R ? (...args: A) => Promise<R> : never;
};

/** Operations that exist only in the synchronous, single-process world. */
type SyncOnly = "transaction" | "close" | "putArtifact" | "getArtifact";

/** Rollout states that hold their app: at most one rollout per app is in one of them (from the table). */
export { ACTIVE_ROLLOUT_STATES } from "../rollouts/states.js";

/** A second active rollout of an app; PostgreSQL enforces it with a unique partial index. */
export class ActiveRolloutConflict extends Error {
  constructor(
    readonly app: string,
    readonly existing: string | undefined,
  ) {
    super(`app ${app} already has an active rollout${existing ? ` (${existing})` : ""}`);
    this.name = "ActiveRolloutConflict";
  }
}

/** What one agent runs now of one app, from a report. */
export interface AppStatusUpdate {
  agentId: string;
  status: AppStatus;
}

/** A change to one deployment, applied with others in one statement. */
export interface DeploymentUpdate {
  id: string;
  state: DeploymentState;
  error: string | null;
  updatedAt: number;
  /** The report's warnings (an empty list clears them); absent: left as they are. */
  warnings?: string[];
  /**
   * The report is the result of a run the agent carried out (it names the run's steps): `started`
   * becomes at least 1. The run's "fetch started" progress may never have been counted (lost with
   * a connection, or past the hub's progress budget), and ATTEMPTS 0 beside a result is a lie.
   */
  ran?: boolean;
}

/**
 * Where an event stream stands. Opaque: on PostgreSQL it is (transaction id, event id), because
 * event ids are handed out before commit and a later-committing smaller id must not be skipped.
 */
export type EventCursor = string;

export interface StoreOps extends Promised<Omit<Store, SyncOnly>> {
  /** The rollout, locked against other transactions until this one ends (SELECT … FOR UPDATE). */
  lockRollout(id: string): Promise<RolloutRecord | undefined>;
  /**
   * Holds the app's releases against other writers until this transaction ends: a publish reads
   * the app's versions and inserts one, and `2.0.0` and `v2.0.0` (one version, two spellings the
   * UNIQUE (app, version) constraint tells apart) published at once on two hubs must not both
   * pass the check. PostgreSQL: a transaction-level advisory lock on the app; SQLite's write
   * transaction already excludes every other writer.
   */
  lockAppReleases(app: string): Promise<void>;
  /**
   * Orders a rollout's planning against agents' hellos until this transaction ends. `plan` (a
   * create, before it reads every agent) waits for the hellos in flight and holds new ones until it
   * commits; `join` (a hello, before it reads the active rollouts it may join) is shared among
   * hellos. Without it, on PostgreSQL's READ COMMITTED a hello and a create running at once each
   * missed the other's uncommitted write: the create planned without the agent, the hello found no
   * rollout to join, and the agent was left out of the rollout for good (an `everyone` wave with
   * nobody in it). PostgreSQL: a transaction-level advisory lock, exclusive or shared; SQLite's
   * write transaction already excludes every other.
   */
  lockFleet(mode: "plan" | "join"): Promise<void>;
  /**
   * Whether the artifact `sha256` is stored, as this transaction sees it. Asked after inserting the
   * release that names it: on PostgreSQL the insert waits for an unused-artifact sweep under way
   * (which holds the releases table in SHARE mode) and this read then sees what it deleted, and a
   * sweep that starts later waits for the insert and keeps the artifact; SQLite's transaction and
   * the sweep never interleave. A check before the transaction alone let a publish answer 201 for
   * an artifact a sweep had just removed.
   */
  hasArtifact(sha256: string): Promise<boolean>;
  /**
   * Inserts a rollout; throws ActiveRolloutConflict when its release's app already has one in an
   * ACTIVE_ROLLOUT_STATES state (and when an update would create a second one).
   */
  insertRollout(rollout: RolloutRecord): Promise<void>;

  /**
   * Inserts those whose (rollout, agent) pair is new, in chunks; returns how many it inserted.
   * With `sent`, each row it inserts in the state `send` leads to (`sent`: inserting it so is
   * sending it) gets a `sent.kind` event by `sent.actor` at `sent.at`, subject the deployment,
   * data `{"agent": agentId}`, written by the same statement.
   *
   * `ofNewRollout`: every row's rollout was inserted by this same transaction, so no other
   * transaction can hold a row of it, and the caller names each pair once across all of the
   * transaction's calls (`Dispatch.insertNew` keeps the first of each before it splits the rows
   * into statements): PostgreSQL then inserts without checking each row for a conflict first (a
   * 10,000-row wave start: ~20 % of the database's CPU for the insert every hub waits for). A
   * pair named twice is the unique index's error there; without `ofNewRollout`, inserted once.
   */
  insertDeployments(
    deployments: readonly DeploymentRecord[],
    sent?: { at: number; actor: string; kind: string },
    ofNewRollout?: boolean,
  ): Promise<number>;
  getDeployments(ids: readonly string[]): Promise<DeploymentRecord[]>;
  /** The agents of `ids` the store knows, in no particular order: a set read, not one per agent. */
  getAgents(ids: readonly string[]): Promise<AgentRecord[]>;
  /**
   * The rollout's deployments in one of `states` whose agent is among `agentIds` (in no particular
   * order): what one hub delivers to the agents connected to it. A hub of a cluster reads only its
   * own agents' rows, never the whole rollout (on a wake-up every hub would read all of it).
   */
  listDeploymentsOfAgents(filter: {
    rolloutId: string;
    agentIds: readonly string[];
    states: readonly DeploymentState[];
  }): Promise<DeploymentRecord[]>;
  /** The ids of the agents the store shows online (connected to any hub): presence for views. */
  listOnlineAgentIds(): Promise<string[]>;
  /**
   * What a hub's wake-up delivers, in one statement per chunk of agents and nothing read before
   * it: marks sent (attempts + 1, updated `sent.at`) the deployments whose agent is among
   * `agentIds` and that are due as the rollout is stored when the statement runs — it is running
   * and their wave is at most its current one — and whose state the table lets `send` move
   * (`pending`); writes for each a `sent.kind` event by `sent.actor` at `sent.at` whose subject is
   * the deployment and whose data is `{"agent": agentId}`; returns the rows as stored now. As with
   * `markDeploymentsSent`, of two hubs marking one row only one gets it.
   */
  markDueDeploymentsSent(
    filter: { rolloutId: string; agentIds: readonly string[] },
    sent: { at: number; actor: string; kind: string },
  ): Promise<DeploymentRecord[]>;
  /** Marks the `pending` ones among `ids` sent (attempts + 1), in chunks; returns them as stored now. */
  markDeploymentsSent(ids: readonly string[], at: number): Promise<DeploymentRecord[]>;
  /**
   * Moves the ones among `ids` whose state the table lets `redeliver` move (`timed_out`) back to
   * where it leads (`pending`, error cleared), in one conditional statement per chunk; returns them
   * as stored now. Of two hubs retrying one row only one gets it.
   */
  redeliverDeployments(ids: readonly string[], at: number): Promise<DeploymentRecord[]>;
  updateDeployments(updates: readonly DeploymentUpdate[]): Promise<void>;
  /** Stores new reports; returns the ids it stored (a resent id is not among them). */
  insertReports(reports: readonly ReportRecord[]): Promise<string[]>;
  appendEvents(events: readonly NewEvent[]): Promise<void>;
  /**
   * Applies, in order, each update's status to its agent: the agent's entry for that app is
   * replaced by it, placed last (as `setAgentApps` with the merged list would); unknown agents are
   * skipped. Set-based: a batch of reports costs a statement or two, not two per report.
   */
  setAppStatuses(updates: readonly AppStatusUpdate[]): Promise<void>;

  /**
   * Claims the periodic job `name` for this transaction when it is due at `now` and no other
   * transaction holds it (FOR UPDATE SKIP LOCKED: never waits). Its next due time, the first
   * multiple of the interval after the one claimed that is past `now` (`nextDueAt`: once per
   * interval whichever hub's timer fires first in it), commits with the job's work, so a tick
   * killed midway rolls back and another hub runs it.
   * (Only the very first claim of a name may wait: for another hub's first claim to commit.)
   */
  claimTick(name: string, hubId: string, now: number, intervalMs: number): Promise<boolean>;
  /** `hubId` holds the agent's connection from this hello on; the new epoch, or undefined if unknown. */
  claimAgent(agentId: string, hubId: string, at: number): Promise<number | undefined>;
  /**
   * A hello in one statement: stores the agent as it announced itself (created or updated,
   * online, seen `at`) and claims it for `hubId` (`claimAgent`): the new epoch, and whether it was
   * online before. A reconnect storm of thousands of agents costs one round trip per hello here,
   * not three (read, upsert, claim).
   */
  helloAgent(agent: AgentRecord, hubId: string, at: number): Promise<{ epoch: number; wasOnline: boolean }>;
  /** Marks the agent offline only while `hubId` still holds it at `epoch`: a stale socket changes nothing. */
  releaseAgent(agentId: string, hubId: string, epoch: number, at: number): Promise<boolean>;
  heartbeatHub(hubId: string, at: number): Promise<void>;
  /**
   * Marks offline the agents of hubs silent since before `before` and forgets those hubs; their
   * agent ids. Each is last seen when its hub last heartbeated (`before` for a hub with no row).
   */
  releaseSilentHubs(before: number): Promise<string[]>;

  /** Where a stream that wants only events committed from now on starts. */
  latestEventCursor(): Promise<EventCursor>;
  /**
   * Events committed after `cursor`, oldest first, and the cursor after them. Repeated calls see
   * every committed event exactly once, even one that committed after a higher id was read.
   */
  readEventsAfter(
    cursor: EventCursor,
    limit: number,
  ): Promise<{ events: EventRecord[]; cursor: EventCursor }>;
}

export interface ArtifactUpload {
  /** Refuse (ArtifactTooLarge) past this many bytes, before storing them. */
  maxBytes: number;
  /** When given, an upload hashing to anything else is refused (ArtifactHashMismatch). */
  expectedSha256?: string;
  created: number;
  /**
   * Runs once the upload is whole and hashed, before it is stored: when it throws, nothing of the
   * upload is kept (a token revoked while the bytes arrived left an artifact no release would name).
   */
  accept?: () => Promise<void>;
}

export interface AsyncStore extends StoreOps {
  /** Runs `fn` in one transaction, re-running it on serialization failure or deadlock. */
  tx<T>(fn: (t: StoreOps) => Promise<T>): Promise<T>;
  close(): Promise<void>;

  /** Streams an artifact in while hashing it; never holds it whole in memory. */
  writeArtifact(body: AsyncIterable<Uint8Array>, upload: ArtifactUpload): Promise<StoredArtifactInfo>;
  getArtifactInfo(sha256: string): Promise<StoredArtifactInfo | undefined>;
  /**
   * Removes the artifacts stored (or uploaded again) before `before` that no release names, and
   * returns their sha256s. Uploads that never became a release (refused, failed, or never
   * published) otherwise stayed on the hub's disk for good. Releases are never deleted, so an
   * artifact a release names is never removed; one a release is being published with at the time
   * is kept by the same check.
   */
  deleteUnusedArtifacts(before: number): Promise<string[]>;
  /** The artifact's bytes [start, end) (default: all), streamed; undefined when unknown. */
  readArtifact(
    sha256: string,
    range?: { start: number; end: number },
  ): Promise<AsyncIterable<Buffer> | undefined>;
}
