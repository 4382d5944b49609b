/**
 * Deliveries the database holds as sent that no socket may have carried. A hub marks rows `sent`
 * and hands them to its agents' sockets once the statement (or transaction) returned; when the
 * connection drops after the COMMIT but before its answer arrives, the rows are `sent` and the hub,
 * seeing an error, sends nothing. A retry marks only `pending` rows, so nothing sent them again: the
 * agent waited until it reconnected, or until the progress timeout counted it failed (and could
 * halt the rollout) for a release it was never told of. The resync re-sends them: a repeated
 * instruction is a no-op on the agent (it re-sends its report when it finished that deployment).
 */
import type { RolloutRecord } from "../store/store.js";
import type { Dispatch } from "./dispatch.js";
import { SENT_DEPLOYMENT_STATES } from "./states.js";

/**
 * How long a row stays `sent` with no word from its connected agent before the resync sends it
 * again: an agent that got it answers within moments (its progress moves the row on); one busy with
 * another app's update answers later and is only re-sent the instruction, at most once per period.
 */
export const UNANSWERED_SEND_MS = 10_000;

export class UnansweredSends {
  /** When this hub last re-sent each deployment: one busy agent is not re-sent it every resync. */
  private readonly resentAt = new Map<string, number>();

  /**
   * Queues on `dispatch` the due deployments of `rollout` that are `sent` to an agent connected to
   * this hub and unanswered for UNANSWERED_SEND_MS; how many.
   */
  async resend(dispatch: Dispatch, rollout: RolloutRecord, actor: string): Promise<number> {
    const now = dispatch.now;
    for (const [id, at] of this.resentAt) if (at <= now - UNANSWERED_SEND_MS) this.resentAt.delete(id);
    const unanswered = await dispatch.t.listStalledDeployments({
      rolloutId: rollout.id,
      maxWave: rollout.currentWave,
      states: SENT_DEPLOYMENT_STATES,
      updatedBefore: now - UNANSWERED_SEND_MS,
    });
    let sent = 0;
    for (const d of unanswered) {
      if (!dispatch.canSend(d.agentId) || this.resentAt.has(d.id)) continue;
      this.resentAt.set(d.id, now);
      dispatch.deployment(d, actor);
      sent++;
    }
    return sent;
  }
}
