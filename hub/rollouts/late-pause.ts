import { HubRequestError } from "../errors.js";
import type { DeploymentCount, RolloutRecord } from "../store/store.js";
import { PROGRESS_GROUP, type ProgressGroup } from "./states.js";

/** The wave a caller decided on: its index as it saw it, and when it decided (hub clock). */
export interface SeenWave {
  wave?: number;
  decidedAt?: number;
}

/** `wave 2 (all)`: numbered from 1, as `rollout show` and the dashboard number them. */
export function waveLabel(rollout: RolloutRecord, n: number): string {
  const name = rollout.spec.waves[n]?.name;
  return name === undefined ? `wave ${n + 1}` : `wave ${n + 1} (${name})`;
}

/**
 * The wave a caller names (fromWave, counted from 0) must be one the rollout has and has reached:
 * 400 for a wave it never had, 409 for one not reached yet. Advance, pause and abort check alike.
 */
export function refuseUnknownWave(rollout: RolloutRecord, wave: number): void {
  const count = rollout.spec.waves.length;
  if (wave >= count)
    throw new HubRequestError(
      400,
      `body.fromWave: rollout ${rollout.id} has ${count} wave(s), ${waveLabel(rollout, 0)} to ${waveLabel(rollout, count - 1)} (fromWave ${wave} would be wave ${wave + 1})`,
    );
  if (wave > rollout.currentWave)
    throw new HubRequestError(
      409,
      `rollout ${rollout.id} is in ${waveLabel(rollout, rollout.currentWave)}: it has not reached ${waveLabel(rollout, wave)}`,
    );
}

/**
 * A pause (or an abort: `action`) is never refused for coming late: stopping sends is always safe, and refusing it would
 * leave the rollout going. But a pause decided in one wave that lands after the rollout moved on
 * (auto-advance, another operator) stops a wave whose agents were already sent the release, which
 * the operator did not see: the words returned say so, for the reason and the answer. A wave the
 * rollout never had, or has not reached, is refused as advance refuses it.
 */
export function latePauseText(
  rollout: RolloutRecord,
  seen: SeenWave,
  counts: readonly DeploymentCount[],
  action: "pause" | "abort" = "pause",
): string | undefined {
  if (seen.wave !== undefined) refuseUnknownWave(rollout, seen.wave);
  // A wave named is the one decided on; else the wave current when the caller decided.
  const late =
    seen.wave === undefined
      ? rollout.currentWave > 0 && seen.decidedAt !== undefined && rollout.waveStartedAt > seen.decidedAt
      : seen.wave < rollout.currentWave;
  if (!late) return undefined;
  const from = seen.wave ?? rollout.currentWave - 1;
  let sent = 0;
  for (const c of counts)
    if (c.wave === rollout.currentWave && !NOT_SENT.has(PROGRESS_GROUP[c.state])) sent += c.count;
  return `in ${waveLabel(rollout, rollout.currentWave)}, not ${waveLabel(rollout, from)}: the rollout moved on before the ${action} arrived (advanced by itself or by another operator), and ${sent} agent(s) of ${waveLabel(rollout, rollout.currentWave)} were already sent the release (they finish their update)`;
}

/** The agents the release did not go out to, as the views group them. */
const NOT_SENT: ReadonlySet<ProgressGroup> = new Set(["pending", "cancelled", "not-applicable", "forgotten"]);
