import { setImmediate } from "node:timers/promises";
import type { Deploy, HubMessage } from "../../shared/protocol/messages.js";
import { rollbackDeploymentId } from "../../shared/protocol/messages.js";
import type { AsyncStore, StoreOps } from "../store/async-store.js";
import type { DeploymentRecord, NewEvent, ReleaseRecord } from "../store/store.js";
import { DeployEncoder } from "./deploy-encoder.js";
import { isRedeliverable, isRollbackDeliverable, nextDeploymentState } from "./states.js";

/** The live connections, as the engine sees them: a wake-up channel, never the source of truth. */
export interface AgentChannel {
  isOnline(agentId: string): boolean;
  /** Every agent connected to this hub: whose deployments this hub reads to deliver. */
  connectedAgentIds(): string[];
  /**
   * False when the agent is not connected or its connection was dropped as a slow reader.
   * `encoded`, when given, is `JSON.stringify(message)` computed more cheaply by the caller.
   */
  send(agentId: string, message: HubMessage, encoded?: string): boolean;
}

/** The audit event of an instruction handed to an agent's connection. */
const SENT_EVENT = "deployment.sent";

/** Which release, and which way (update or rollback), the instruction for `d` carries. */
function encoderKey(d: DeploymentRecord): string {
  return isRollbackDeliverable(d.state) ? `r:${d.previousRelease}` : `u:${d.desiredRelease}`;
}

export interface EngineContext {
  store: AsyncStore;
  channel: AgentChannel;
  now: () => number;
  /**
   * Hubs share the agents' presence through the store (a cluster): an agent this hub does not hold
   * may be connected to another. One hub alone: its own connections are the truth, and the store's
   * `online` column lags a close by a write.
   */
  sharedPresence?: boolean;
}

/**
 * One transaction's work: the handle `t`, the audit events it records (written together, in one
 * statement, just before commit) and the instructions it sends, which leave only after the commit
 * so an agent never hears of a state the store rolled back. A transaction the store retries gets a
 * fresh Dispatch: nothing from an attempt that rolled back is kept.
 *
 * Pending deployments handed to `deployment()` are marked sent with one `markDeploymentsSent` per
 * chunk just before commit, and exactly the rows that call returns are sent: when two hubs deliver
 * the same deployment at once, the one whose UPDATE changed the row sends it, the other sees it
 * already `sent`. If the send then fails, the agent's next hello re-delivers it.
 */
export class Dispatch {
  private readonly events: NewEvent[] = [];
  /** Deployments to deliver, by id (hello and a wave start may both name one). */
  private readonly candidates = new Map<string, { d: DeploymentRecord; actor: string }>();
  /** Deployments written sent, with their events, by the store (`markDueSent`, `insertNew`): to deliver only. */
  private readonly alreadyRecorded: DeploymentRecord[] = [];
  private readonly outgoing: [string, Deploy, string][] = [];
  /** What is said about this transaction's work (log lines): only once it committed, once. */
  private readonly toSay: (() => void)[] = [];
  private readonly reads = new Map<string, Promise<unknown>>();
  /** Rollouts to evaluate once the transaction's other work is done (a batch of failures: once). */
  readonly toEvaluate = new Set<string>();
  // A wave start sends one release to thousands of agents: read and serialize it once.
  private readonly encoders = new Map<string, DeployEncoder | undefined>();
  private readonly preparing = new Map<string, Promise<DeployEncoder | undefined>>();

  /**
   * `readRelease`: where releases are read from when not from `t` (a cache: a release never
   * changes once published, so a wake-up need not read it again on every wave).
   */
  constructor(
    private readonly ctx: EngineContext,
    readonly t: StoreOps,
    private readonly readRelease: (id: string) => Promise<ReleaseRecord | undefined> = (id) =>
      t.getRelease(id),
  ) {}

  get now(): number {
    return this.ctx.now();
  }

  /** Whether an agent not connected here may be connected to another hub (EngineContext). */
  get sharedPresence(): boolean {
    return this.ctx.sharedPresence === true;
  }

  /** Records an audit event; it is written with the transaction. */
  record(event: Omit<NewEvent, "at">): void {
    this.events.push({ at: this.ctx.now(), ...event });
  }

  /**
   * Runs `say` after commit: a line logged inside the transaction was logged for work a rollback
   * undid, and twice for work the store or a message batch applied again.
   */
  afterCommit(say: () => void): void {
    this.toSay.push(say);
  }

  /** Delivers the instruction `d` stands for after commit when its agent is connected to this hub. */
  deployment(d: DeploymentRecord, actor: string): void {
    if (!this.ctx.channel.isOnline(d.agentId)) return;
    this.candidates.set(d.id, { d, actor });
  }

  /**
   * Inserts the planned deployments of the rollout this transaction inserted; those `due` whose
   * agent is connected here go in already `sent` (no other transaction can have seen a row this
   * one inserts, so there is nothing to mark: a wave start does not write thousands of rows
   * twice), their `deployment.sent` events written by the same statement, and are delivered after
   * commit like marked ones. Returns the rows as inserted.
   *
   * The rows that write no event (other hubs' agents, the later waves) go to the database first,
   * and `meanwhile` runs while it inserts them (one that yields to the event loop now and then
   * lets the driver write what the socket's buffers did not take): the create computes its
   * warnings there and records
   * its `rollout.created` event, work that otherwise held up the insert the commit waits for (on
   * PostgreSQL; SQLite inserts in this thread anyway). The events recorded by then are written
   * next and the `sent` rows with their events last, so the audit log keeps its order. A pair
   * named twice is planned once, as first named (what `ON CONFLICT DO NOTHING` would have kept).
   */
  async insertNew(
    planned: readonly DeploymentRecord[],
    actor: string,
    due: (d: DeploymentRecord) => boolean,
    meanwhile: () => Promise<void> | void = () => {},
  ): Promise<DeploymentRecord[]> {
    const at = this.now;
    const sent: DeploymentRecord[] = [];
    const unsent: DeploymentRecord[] = [];
    // Each pair once, before the rows are split into statements: the store inserts them without
    // looking for a conflict, and a pair whose copies fell in two statements broke the unique index.
    const rows = firstOfEachPair(planned).map((d) => {
      const state = due(d) ? nextDeploymentState(d.state, "send") : undefined;
      if (state === undefined || !this.ctx.channel.isOnline(d.agentId)) {
        unsent.push(d);
        return d;
      }
      const row = { ...d, state, attempts: d.attempts + 1, updatedAt: at };
      sent.push(row);
      return row;
    });
    const event = { at, actor, kind: SENT_EVENT };
    // Called right after the rollout's insert, in its transaction: no row of it existed before.
    // One row first, awaited: PostgreSQL's driver has a statement new to the connection described
    // before it runs, and holds the transaction's later statements until that is answered, which
    // a synchronous stretch of `meanwhile` would delay until it ended — the database idle meanwhile.
    const [head, ...rest] = unsent;
    if (head) await this.t.insertDeployments([head], undefined, true);
    const quiet = rest.length > 0 ? this.t.insertDeployments(rest, undefined, true) : undefined;
    try {
      // The driver writes a statement a few promise turns after it is issued: let them go out.
      if (quiet) await setImmediate();
      await meanwhile();
    } catch (error) {
      await quiet?.catch(() => {});
      throw error;
    }
    const earlier = this.events.splice(0);
    await Promise.all([
      quiet,
      earlier.length > 0 ? this.t.appendEvents(earlier) : undefined,
      sent.length > 0 ? this.t.insertDeployments(sent, event, true) : undefined,
    ]);
    this.alreadyRecorded.push(...sent);
    return rows;
  }

  /**
   * Marks sent the due pending deployments of these agents of a rollout, with their events, in
   * one store call (`markDueDeploymentsSent`: nothing read first; the store returns exactly the
   * rows it changed, so no other hub sends them), and delivers them after commit like those
   * `deployment()` marks (an agent gone meanwhile gets it on its next hello, as when a send fails).
   */
  async markDueSent(rolloutId: string, agentIds: readonly string[], actor: string): Promise<number> {
    const marked = await this.t.markDueDeploymentsSent(
      { rolloutId, agentIds },
      { at: this.now, actor, kind: SENT_EVENT },
    );
    this.alreadyRecorded.push(...marked);
    return marked.length;
  }

  /**
   * Makes timed-out deployments due again (`redeliver`: back to pending, each with an event saying
   * it is a retry and why it had timed out). Those whose agent is connected to this hub are sent
   * after commit like any due pending one; the others by their own hub (its wake-up, their hello).
   * The store moves only rows still timed out, so of two hubs only one retries a row. Returns the
   * moved ones as they were before (their `updatedAt` is when they timed out).
   */
  async redeliver(ds: readonly DeploymentRecord[], actor: string): Promise<DeploymentRecord[]> {
    const before = new Map(ds.filter((d) => isRedeliverable(d.state)).map((d) => [d.id, d]));
    if (before.size === 0) return [];
    const moved = await this.t.redeliverDeployments([...before.keys()], this.now);
    for (const d of moved) {
      const was = before.get(d.id);
      this.record({
        actor,
        kind: `deployment.${d.state}`,
        subject: d.id,
        data: { agent: d.agentId, retry: was?.state, error: was?.error },
      });
      this.deployment(d, actor);
    }
    return moved.flatMap((d) => before.get(d.id) ?? []);
  }

  /**
   * `read()` once per transaction under `key`, shared by every caller (concurrent ones too): a
   * batch of hundreds of hellos asks for the same active rollouts. Only for what the transaction's
   * own work cannot change before the last caller reads it.
   */
  once<T>(key: string, read: () => Promise<T>): Promise<T> {
    let value = this.reads.get(key) as Promise<T> | undefined;
    if (!value) {
      value = read();
      this.reads.set(key, value);
    }
    return value;
  }

  /** Whether an instruction queued now would reach a connection (it may still fail after commit). */
  canSend(agentId: string): boolean {
    return this.ctx.channel.isOnline(agentId);
  }

  /** Evaluates the rollout at the end of this transaction, once however many reports asked for it. */
  evaluateLater(rolloutId: string): void {
    this.toEvaluate.add(rolloutId);
  }

  /** Marks the pending deliveries sent, prepares every message and writes the events; inside the tx. */
  async beforeCommit(): Promise<void> {
    const chosen = [...this.candidates.values()];
    this.candidates.clear();
    // Those the table lets "send" move (pending → sent) are marked; the others are re-sends.
    const pending = chosen.filter(({ d }) => nextDeploymentState(d.state, "send") !== undefined);
    const actors = new Map(pending.map(({ d, actor }) => [d.id, actor]));
    const marked = pending.length === 0 ? [] : await this.t.markDeploymentsSent([...actors.keys()], this.now);
    const deliver = [
      ...chosen.filter(({ d }) => !actors.has(d.id)).map(({ d }) => d),
      ...marked,
      ...this.alreadyRecorded.splice(0),
    ];
    for (const d of marked)
      this.record({
        actor: actors.get(d.id) ?? "hub",
        kind: SENT_EVENT,
        subject: d.id,
        data: { agent: d.agentId },
      });
    // Each release read and serialized once, then thousands of messages queued without an await each.
    for (const d of new Map(deliver.map((d) => [encoderKey(d), d])).values()) await this.encoderOf(d);
    for (const d of deliver) this.queue(d);
    if (this.events.length > 0) await this.t.appendEvents(this.events.splice(0));
  }

  private queue(d: DeploymentRecord): void {
    const rollback = isRollbackDeliverable(d.state);
    const encoder = this.encoders.get(encoderKey(d));
    if (!encoder) return;
    const deploymentId = rollback ? rollbackDeploymentId(d.id) : d.id;
    // Which sending of the update this is, echoed in the agent's report (found-declined-record.ts).
    const attempt = rollback || d.attempts === 0 ? undefined : d.attempts;
    this.outgoing.push([
      d.agentId,
      encoder.message(deploymentId, attempt),
      encoder.encode(deploymentId, attempt),
    ]);
  }

  /** The encoder of the release `d` sends (read once per transaction); undefined when there is none. */
  private encoderOf(d: DeploymentRecord): Promise<DeployEncoder | undefined> {
    const rollback = isRollbackDeliverable(d.state);
    const releaseId = rollback ? d.previousRelease : d.desiredRelease;
    return releaseId === null ? Promise.resolve(undefined) : this.prepareRelease(releaseId, rollback);
  }

  /** A release the caller already read: its update instruction is serialized from it, not read again. */
  useRelease(release: ReleaseRecord): void {
    const key = `u:${release.id}`;
    const encoder = new DeployEncoder(release, false);
    this.encoders.set(key, encoder);
    this.preparing.set(key, Promise.resolve(encoder));
  }

  /**
   * Reads and serializes a release's instruction once per transaction; a caller that knows which
   * release it will send can start the read early, alongside its other statements.
   */
  prepareRelease(releaseId: string, rollback = false): Promise<DeployEncoder | undefined> {
    const key = `${rollback ? "r" : "u"}:${releaseId}`;
    let pending = this.preparing.get(key);
    if (!pending) {
      pending = this.readRelease(releaseId).then((release) => {
        const encoder = release && new DeployEncoder(release, rollback);
        this.encoders.set(key, encoder);
        return encoder;
      });
      this.preparing.set(key, pending);
    }
    return pending;
  }

  /** After commit: hands every prepared instruction to the agents' connections, then says its lines. */
  flush(): void {
    for (const [agentId, message, encoded] of this.outgoing.splice(0))
      this.ctx.channel.send(agentId, message, encoded);
    for (const say of this.toSay.splice(0)) say();
  }
}

/**
 * Each deployment once, the first named: what `ON CONFLICT DO NOTHING` would have kept of rows
 * that are all new. By id alone: `deploymentId` makes every id from its rollout and agent, so one
 * id is one pair (a second Set of the pairs cost ~5 ms more of a 10,000-agent create).
 */
function firstOfEachPair(ds: readonly DeploymentRecord[]): DeploymentRecord[] {
  const ids = new Set<string>();
  return ds.filter((d) => {
    if (ids.has(d.id)) return false;
    ids.add(d.id);
    return true;
  });
}
