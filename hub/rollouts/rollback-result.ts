/** Sending a rollout's agents back, and what that achieved in the words `rollout show` and the dashboard use. */
import type { RolloutRecord } from "../store/store.js";
import { type EngineContext, recordEvent } from "./dispatch.js";
import { nextDeploymentState } from "./states.js";

/** Starts the error of a deployment the hub could not send back; the views count these. */
export const ROLLBACK_IMPOSSIBLE = "not rolled back";

export interface RollbackResult {
  sentBack: number;
  /** Agents the hub could not send back: it knows no previous release for them. */
  impossible: string[];
}

/** "rollback sent to 2 agent(s); 1 agent(s) NOT rolled back (no previous release known): a-3". */
export function describeRollback({ sentBack, impossible }: RollbackResult): string {
  const sent = `rollback sent to ${sentBack} agent(s)`;
  if (impossible.length === 0) return sent;
  const names = impossible.slice(0, 5).join(", ") + (impossible.length > 5 ? ", …" : "");
  return `${sent}; ${impossible.length} agent(s) NOT rolled back (no previous release known): ${names}`;
}

/**
 * Marks every agent this rollout touched for a return to its previous release. An agent whose
 * previous release the hub does not have cannot be sent back: it is named in the result, in an
 * event and in its deployment's error, so nobody reads "rolled back" where nothing was.
 */
export function markRollback(ctx: EngineContext, rollout: RolloutRecord, actor: string): RollbackResult {
  let sentBack = 0;
  const impossible: string[] = [];
  const now = ctx.now();
  for (const d of ctx.store.listDeployments({ rolloutId: rollout.id })) {
    const back = nextDeploymentState(d.state, "rollback");
    if (back === undefined) continue;
    if (d.previousRelease === null) {
      const error = `${ROLLBACK_IMPOSSIBLE}: the hub has no release of the version it ran before`;
      ctx.store.updateDeployment(d.id, { error, updatedAt: now });
      recordEvent(ctx, {
        actor,
        kind: "deployment.rollback_impossible",
        subject: d.id,
        data: { agent: d.agentId, error },
      });
      impossible.push(d.agentId);
      continue;
    }
    ctx.store.updateDeployment(d.id, { state: back, updatedAt: now });
    recordEvent(ctx, {
      actor,
      kind: `deployment.${back}`,
      subject: d.id,
      data: { agent: d.agentId },
    });
    sentBack++;
  }
  return { sentBack, impossible };
}
