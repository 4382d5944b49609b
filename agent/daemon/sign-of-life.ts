import type { Progress } from "../../shared/protocol/messages.js";
import type { DesiredStateStore } from "./desired-state.js";

/**
 * Tells the hub the running instruction, and those queued behind it, are in hand. It times out a
 * deployment with no progress for progress_timeout_seconds (an hour by default), and a step sends
 * none while it runs (a long migration, a slow hook, tests with retries), nor does an instruction
 * waiting for another app's update here: a host working fine was counted failed and its wave
 * halted, its success coming in too late. Not for an instruction waiting to be retried (the hub
 * away, its artifact not reachable): that one must still time out.
 */
export async function signsOfLife(
  running: { app: string; deploymentId: string; step: string } | undefined,
  wanted: ReadonlySet<string>,
  desired: DesiredStateStore,
): Promise<Progress[]> {
  if (running === undefined) return [];
  const { deploymentId, step } = running;
  const messages: Progress[] = [{ type: "progress", v: 1, deploymentId, step, message: "still working" }];
  for (const app of wanted) {
    const queued = await desired.get(app).catch(() => undefined);
    if (queued === undefined || queued.finished !== undefined || app === running.app) continue;
    messages.push({
      type: "progress",
      v: 1,
      deploymentId: queued.instruction.deploymentId,
      step: "waiting",
      message: `waiting for ${running.app}'s update on this host to finish`,
    });
  }
  return messages;
}
