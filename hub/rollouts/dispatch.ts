import type { HubMessage } from "../../shared/protocol/messages.js";
import { rollbackDeploymentId } from "../../shared/protocol/messages.js";
import type { DeploymentRecord, NewEvent, ReleaseRecord, Store } from "../store/store.js";

/** The live connections, as the engine sees them: a wake-up channel, never the source of truth. */
export interface AgentChannel {
  isOnline(agentId: string): boolean;
  /** False when the agent is not connected or its connection was dropped as a slow reader. */
  send(agentId: string, message: HubMessage): boolean;
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
  private readonly outgoing: [string, HubMessage][] = [];
  // A wave start sends one release to thousands of agents: read it once.
  private readonly releases = new Map<string, ReleaseRecord | undefined>();

  constructor(private readonly ctx: EngineContext) {}

  deployment(d: DeploymentRecord, actor: string): void {
    if (!this.ctx.channel.isOnline(d.agentId)) return;
    const rollback = d.state === "rollback_pending";
    const releaseId = rollback ? d.previousRelease : d.desiredRelease;
    const release = releaseId === null ? undefined : this.release(releaseId);
    if (!release) return;
    this.outgoing.push([
      d.agentId,
      {
        type: "deploy",
        v: 1,
        deploymentId: rollback ? rollbackDeploymentId(d.id) : d.id,
        app: release.app,
        release: {
          id: release.id,
          app: release.app,
          version: release.version,
          manifest: release.manifest,
          source: release.source,
          ...(release.signature === null ? {} : { signature: release.signature }),
        },
        rollback,
      },
    ]);
    if (d.state === "pending") {
      this.ctx.store.updateDeployment(d.id, {
        state: "sent",
        attempts: d.attempts + 1,
        updatedAt: this.ctx.now(),
      });
      recordEvent(this.ctx, { actor, kind: "deployment.sent", subject: d.id, data: { agent: d.agentId } });
    }
  }

  private release(id: string): ReleaseRecord | undefined {
    if (!this.releases.has(id)) this.releases.set(id, this.ctx.store.getRelease(id));
    return this.releases.get(id);
  }

  flush(): void {
    for (const [agentId, message] of this.outgoing.splice(0)) this.ctx.channel.send(agentId, message);
  }
}
