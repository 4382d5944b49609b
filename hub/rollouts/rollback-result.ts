/** Sending a rollout's agents back, and what that achieved in the words `rollout show` and the dashboard use. */
import type { DeploymentUpdate } from "../store/async-store.js";
import type { DeploymentRecord, RolloutRecord } from "../store/store.js";
import type { Dispatch } from "./dispatch.js";
import { nextDeploymentState, REDELIVERABLE_DEPLOYMENT_STATES } from "./states.js";

/** Starts the error of a deployment the hub could not send back; the views count these. */
export const ROLLBACK_IMPOSSIBLE = "not rolled back";

/**
 * Starts the error of a failed update whose host put its previous release back by itself (its
 * report's outcome `rolled_back`): still a failure, and counted as `restored` by the stores (SQL) and
 * the views, so the rollout list, the rollout page, the CLI and the API say the same figure.
 */
export const RESTORED_BY_HOST = "rolled back";

export function restoredByHost(d: Pick<DeploymentRecord, "error">): boolean {
  return (d.error ?? "").startsWith(RESTORED_BY_HOST);
}

/**
 * Timed out before it was ever handed to its agent (no attempt): the agent cannot have installed the
 * release, so there is nothing to take back; it stays a failure to start, not "rolled back". The
 * stores count the same rule in SQL (`rollbackable`), from these states.
 */
export const NEVER_SENT_STATES = REDELIVERABLE_DEPLOYMENT_STATES;

/**
 * A rollback acts on the deployment: sends it back (its previous release is known), or records, once,
 * that it cannot (a second rollback has nothing new to say about it). Never one that timed out
 * before it was sent.
 */
export function rollbackActsOn(
  d: Pick<DeploymentRecord, "previousRelease" | "error" | "state" | "attempts">,
): boolean {
  if (d.attempts === 0 && NEVER_SENT_STATES.includes(d.state)) return false;
  return d.previousRelease !== null || !(d.error ?? "").startsWith(ROLLBACK_IMPOSSIBLE);
}

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
export async function markRollback(
  dispatch: Dispatch,
  rollout: RolloutRecord,
  actor: string,
): Promise<RollbackResult> {
  let sentBack = 0;
  const impossible: string[] = [];
  const now = dispatch.now;
  const updates: DeploymentUpdate[] = [];
  for (const d of await dispatch.t.listDeployments({ rolloutId: rollout.id })) {
    const back = nextDeploymentState(d.state, "rollback");
    if (back === undefined || !rollbackActsOn(d)) continue;
    if (d.previousRelease === null) {
      const error = `${ROLLBACK_IMPOSSIBLE}: the hub has no release of the version it ran before`;
      updates.push({ id: d.id, state: d.state, error, updatedAt: now });
      dispatch.record({
        actor,
        kind: "deployment.rollback_impossible",
        subject: d.id,
        data: { agent: d.agentId, error },
      });
      impossible.push(d.agentId);
      continue;
    }
    updates.push({ id: d.id, state: back, error: d.error, updatedAt: now });
    dispatch.record({
      actor,
      kind: `deployment.${back}`,
      subject: d.id,
      data: { agent: d.agentId },
    });
    sentBack++;
  }
  // One statement per chunk: an auto-rollback of a 10,000-agent rollout is not 10,000 round trips.
  if (updates.length > 0) await dispatch.t.updateDeployments(updates);
  return { sentBack, impossible };
}
