import type { Deploy, HubMessage } from "../../shared/protocol/messages.js";
import { rollbackDeploymentId } from "../../shared/protocol/messages.js";
import type { DeploymentRecord, NewEvent, ReleaseRecord, Store } from "../store/store.js";
import { DeployEncoder } from "./deploy-encoder.js";
import { isRollbackDeliverable, nextDeploymentState } from "./states.js";

/** The live connections, as the engine sees them: a wake-up channel, never the source of truth. */
export interface AgentChannel {
  isOnline(agentId: string): boolean;
  /**
   * False when the agent is not connected or its connection was dropped as a slow reader.
   * `encoded`, when given, is `JSON.stringify(message)` computed more cheaply by the caller.
   */
  send(agentId: string, message: HubMessage, encoded?: string): boolean;
}

export interface EngineContext {
  store: Store;
  channel: AgentChannel;
  now: () => number;
}

export function recordEvent(ctx: EngineContext, event: Omit<NewEvent, "at">): void {
  ctx.store.appendEvent({ at: ctx.now(), ...event });
}

/**
 * Collects instructions while a transaction runs and sends them only after it committed, so an
 * agent never hears of a state the store rolled back. A state is marked `sent` when the agent is
 * connected; if the send then fails, the agent's next hello re-delivers it.
 */
export class Dispatch {
  private readonly outgoing: [string, Deploy, string][] = [];
  // A wave start sends one release to thousands of agents: read and serialize it once.
  private readonly encoders = new Map<string, DeployEncoder | undefined>();

  constructor(private readonly ctx: EngineContext) {}

  /** Queues the instruction `d` stands for when its agent is connected, marking a pending one sent. */
  deployment(d: DeploymentRecord, actor: string): void {
    if (!this.queue(d)) return;
    const sent = nextDeploymentState(d.state, "send");
    if (sent === undefined) return;
    this.ctx.store.updateDeployment(d.id, {
      state: sent,
      attempts: d.attempts + 1,
      updatedAt: this.ctx.now(),
    });
    this.recordSent(d, actor);
  }

  /** Whether an instruction queued now would reach a connection (it may still fail after commit). */
  canSend(agentId: string): boolean {
    return this.ctx.channel.isOnline(agentId);
  }

  /** Queues a deployment the caller stored as `sent` in this transaction; false if it cannot go. */
  sentOnInsert(d: DeploymentRecord, actor: string): boolean {
    if (!this.queue(d)) return false;
    this.recordSent(d, actor);
    return true;
  }

  private recordSent(d: DeploymentRecord, actor: string): void {
    recordEvent(this.ctx, { actor, kind: "deployment.sent", subject: d.id, data: { agent: d.agentId } });
  }

  private queue(d: DeploymentRecord): boolean {
    if (!this.ctx.channel.isOnline(d.agentId)) return false;
    const rollback = isRollbackDeliverable(d.state);
    const releaseId = rollback ? d.previousRelease : d.desiredRelease;
    const encoder = releaseId === null ? undefined : this.encoder(releaseId, rollback);
    if (!encoder) return false;
    const deploymentId = rollback ? rollbackDeploymentId(d.id) : d.id;
    this.outgoing.push([d.agentId, encoder.message(deploymentId), encoder.encode(deploymentId)]);
    return true;
  }

  private encoder(releaseId: string, rollback: boolean): DeployEncoder | undefined {
    const key = `${rollback ? "r" : "u"}:${releaseId}`;
    if (!this.encoders.has(key)) {
      const release: ReleaseRecord | undefined = this.ctx.store.getRelease(releaseId);
      this.encoders.set(key, release && new DeployEncoder(release, rollback));
    }
    return this.encoders.get(key);
  }

  flush(): void {
    for (const [agentId, message, encoded] of this.outgoing.splice(0))
      this.ctx.channel.send(agentId, message, encoded);
  }
}
