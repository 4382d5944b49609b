import type { RolloutRecord } from "../store/store.js";
import { type Untested, untestedWords } from "./accounting.js";
import type { Dispatch } from "./dispatch.js";

/**
 * An operator passing a wave that tested nothing (the hub held it: `needsDecision`) is an
 * operator's decision like a pause or an accepted failure, and the audit log names who made it:
 * the rollout's reason that said so is cleared by the pass, so nothing else keeps it.
 */

/** The event of such a pass (the dashboard's event list marks it as it marks `rollout.wave_empty`). */
export const UNTESTED_PASS_EVENT = "rollout.wave_untested";

/**
 * Records that `actor` passed (advanced past, or resumed to complete as it is) wave `wave`, which
 * tested nothing as `untested` says; returns the one line the API's answer warns with. The event
 * carries why as fields (`kind`, `counts`), so a script need not parse the line.
 */
export function recordUntestedPass(
  dispatch: Dispatch,
  rollout: RolloutRecord,
  wave: number,
  actor: string,
  how: "passed" | "completed as it is",
  untested: Untested,
): string {
  const message = untestedPassLine(how, actor, untested);
  const { kind, ...rest } = untested;
  const counts = Object.fromEntries(
    Object.entries(rest).filter((e): e is [string, number] => e[0] !== "wave" && typeof e[1] === "number"),
  );
  dispatch.record({
    actor,
    kind: UNTESTED_PASS_EVENT,
    subject: rollout.id,
    data: { wave, name: rollout.spec.waves[wave]?.name, message, untested: kind, counts },
  });
  return message;
}

/** "passed by operator:ana with nothing tested: wave 1 (canary) tested nothing: …" */
export function untestedPassLine(
  how: "passed" | "completed as it is",
  actor: string,
  untested: Untested,
): string {
  return `${how} by ${actor} with nothing tested: ${untestedWords(untested)}`;
}
