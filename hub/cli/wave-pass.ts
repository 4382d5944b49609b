/**
 * When a wave lets the rollout go on, from its `waitMinutes` and `minSuccessRate`: `rollout show`
 * and the dashboard said only who a wave takes, so a canary's soak and its success bar were read
 * in --json's spec or not at all, and an operator could not tell what the hub waited for. Said in
 * the dashboard's words too (dashboard/src/format.ts wavePassRule). The last wave passes to
 * nothing: it completes once its agents finished, whatever its figures.
 */
export interface WavePassSpec {
  waitMinutes?: number;
  minSuccessRate?: number;
}

/** A fraction as the hub says a rate (0.995 → "99.5 %"). */
function ratePercent(rate: number): string {
  return `${Math.round(rate * 10_000) / 100} %`;
}

export function wavePassRule(wave: WavePassSpec, autoAdvance: boolean, last: boolean): string | undefined {
  if (last) return undefined;
  const wait = wave.waitMinutes ?? 0;
  const rate = wave.minSuccessRate ?? 1;
  const values = `waitMinutes ${wait}, minSuccessRate ${ratePercent(rate)}`;
  // Without autoAdvance neither value acts: an operator reading "30 min" would wait for nothing.
  if (!autoAdvance)
    return wait === 0 && rate === 1
      ? "on an operator's advance (auto-advance off)"
      : `on an operator's advance (auto-advance off: its ${values} do not act)`;
  const after = wait > 0 ? `, not before ${wait} min after it started` : "";
  return `by itself once finished with ≥ ${ratePercent(rate)} succeeded${after} (${values})`;
}
