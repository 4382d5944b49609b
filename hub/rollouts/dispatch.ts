import type { Deploy, HubMessage } from "../../shared/protocol/messages.js";
import { rollbackDeploymentId } from "../../shared/protocol/messages.js";
import type { AsyncStore, StoreOps } from "../store/async-store.js";
import type { DeploymentRecord, NewEvent } from "../store/store.js";
import { DeployEncoder } from "./deploy-encoder.js";
import { isRollbackDeliverable, nextDeploymentState } from "./states.js";

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

/** Which release, and which way (update or rollback), the instruction for `d` carries. */
function encoderKey(d: DeploymentRecord): string {
  return isRollbackDeliverable(d.state) ? `r:${d.previousRelease}` : `u:${d.desiredRelease}`;
}

export interface EngineContext {
  store: AsyncStore;
  channel: AgentChannel;
  now: () => number;
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
  /** Deployments this transaction wrote as `sent` itself (`sendOnInsert`, `sentByThis`). */
  private readonly writtenSent = new Map<string, { d: DeploymentRecord; actor: string }>();
  private readonly outgoing: [string, Deploy, string][] = [];
  private readonly reads = new Map<string, Promise<unknown>>();
  /** Rollouts to evaluate once the transaction's other work is done (a batch of failures: once). */
  readonly toEvaluate = new Set<string>();
  // A wave start sends one release to thousands of agents: read and serialize it once.
  private readonly encoders = new Map<string, DeployEncoder | undefined>();

  constructor(
    private readonly ctx: EngineContext,
    readonly t: StoreOps,
  ) {}

  get now(): number {
    return this.ctx.now();
  }

  /** Records an audit event; it is written with the transaction. */
  record(event: Omit<NewEvent, "at">): void {
    this.events.push({ at: this.ctx.now(), ...event });
  }

  /** Delivers the instruction `d` stands for after commit when its agent is connected to this hub. */
  deployment(d: DeploymentRecord, actor: string): void {
    if (!this.ctx.channel.isOnline(d.agentId)) return;
    this.candidates.set(d.id, { d, actor });
  }

  /**
   * `d` as this transaction inserts it when its agent is connected here: already `sent` (no other
   * transaction can have seen a row this one inserts, so there is nothing to mark), recorded and
   * delivered after commit like a marked one. Saves a wave start writing thousands of rows twice.
   */
  sendOnInsert(d: DeploymentRecord, actor: string): DeploymentRecord {
    const state = nextDeploymentState(d.state, "send");
    if (state === undefined || !this.ctx.channel.isOnline(d.agentId)) return d;
    const sent = { ...d, state, attempts: d.attempts + 1, updatedAt: this.now };
    this.writtenSent.set(sent.id, { d: sent, actor });
    return sent;
  }

  /**
   * Rows this transaction already marked sent (`markDueDeploymentsSent`: the store returned them,
   * so no other hub did): recorded and delivered after commit like those `deployment()` marks (an
   * agent gone meanwhile gets it on its next hello, as when a send fails).
   */
  sentByThis(marked: readonly DeploymentRecord[], actor: string): void {
    for (const d of marked) this.writtenSent.set(d.id, { d, actor });
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
    for (const [id, { d, actor }] of this.writtenSent) {
      actors.set(id, actor);
      marked.push(d);
    }
    this.writtenSent.clear();
    const deliver = [...chosen.filter(({ d }) => !actors.has(d.id)).map(({ d }) => d), ...marked];
    for (const d of marked)
      this.record({
        actor: actors.get(d.id) ?? "hub",
        kind: "deployment.sent",
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
    this.outgoing.push([d.agentId, encoder.message(deploymentId), encoder.encode(deploymentId)]);
  }

  /** The encoder of the release `d` sends (read once per transaction); undefined when there is none. */
  private async encoderOf(d: DeploymentRecord): Promise<DeployEncoder | undefined> {
    const key = encoderKey(d);
    if (!this.encoders.has(key)) {
      const rollback = isRollbackDeliverable(d.state);
      const releaseId = rollback ? d.previousRelease : d.desiredRelease;
      const release = releaseId === null ? undefined : await this.t.getRelease(releaseId);
      this.encoders.set(key, release && new DeployEncoder(release, rollback));
    }
    return this.encoders.get(key);
  }

  /** After commit: hands every prepared instruction to the agents' connections. */
  flush(): void {
    for (const [agentId, message, encoded] of this.outgoing.splice(0))
      this.ctx.channel.send(agentId, message, encoded);
  }
}
