import type { RolloutRecord } from "../store/store.js";
import type { Dispatch } from "./dispatch.js";

/**
 * An operator passing a wave that tested nothing (the hub held it: `needsDecision`) is an
 * operator's decision like a pause or an accepted failure, and the audit log names who made it:
 * the rollout's reason that said so is cleared by the pass, so nothing else keeps it.
 */

/** The event of such a pass (the dashboard's event list marks it as it marks `rollout.wave_empty`). */
export const UNTESTED_PASS_EVENT = "rollout.wave_untested";

/**
 * What the hub's waiting reason said, as the record of passing it: "wave 1 (canary) tested
 * nothing: its 1 agent(s) ran the release already and were sent nothing", without "waiting for an
 * operator: " and the choices offered ("; advance or abort", "; resume to complete …, or abort").
 */
export function untestedText(waitingReason: string): string {
  const said = waitingReason.replace(/^waiting for an operator: /, "");
  return said.replace(/; (advance or abort|resume to ).*$/s, "");
}

/**
 * Records that `actor` passed (advanced past, or resumed to complete as it is) wave `wave`, which
 * tested nothing as `waitingReason` says; returns the one line the API's answer warns with.
 */
export function recordUntestedPass(
  dispatch: Dispatch,
  rollout: RolloutRecord,
  wave: number,
  actor: string,
  how: "passed" | "completed as it is",
  waitingReason: string,
): string {
  const message = untestedPassLine(how, actor, waitingReason);
  dispatch.record({
    actor,
    kind: UNTESTED_PASS_EVENT,
    subject: rollout.id,
    data: { wave, name: rollout.spec.waves[wave]?.name, message },
  });
  return message;
}

/** "passed by operator:ana with nothing tested: wave 1 (canary) tested nothing: …" */
export function untestedPassLine(
  how: "passed" | "completed as it is",
  actor: string,
  waitingReason: string,
): string {
  return `${how} by ${actor} with nothing tested: ${untestedText(waitingReason)}`;
}
