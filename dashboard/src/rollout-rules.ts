/**
 * What a rollout's spec asks of its waves, in the one wording `ship-hub rollout show` and the
 * rollout page both print: who a wave takes, when it lets the rollout go on, and when the rollout
 * halts. Each kept its own copy, which a change to one would have left saying something else.
 * Dependency-free, because the dashboard's bundle cannot reach shared/: the hub CLI imports it here.
 */

/**
 * The base the engine counts a wave's success rate and a percent failure threshold over
 * (hub/rollouts/accounting.ts `successRate`, `thresholdCrossed`): an agent on the release already
 * was sent nothing and tested nothing, so it counts neither way. Said in every rule, since "≥ 75 %
 * succeeded" read as of every agent of the wave, the base the engine counted before.
 */
export const UPDATED_BASE = "of the agents it updates";

/** A percent threshold's base, as the engine counts it: see `UPDATED_BASE`. */
export const THRESHOLD_BASE = `${UPDATED_BASE} in the waves started`;

/** The spec fields these sentences read (the API's RolloutSpec, as the CLI and dashboard type it). */
export interface WaveRuleSpec {
  percent?: number;
  labels?: Readonly<Record<string, string>>;
  agents?: readonly string[];
  waitMinutes?: number;
  minSuccessRate?: number;
}

export interface PolicySpec {
  failureThreshold: { count: number } | { percent: number };
  autoAdvance: boolean;
  autoRollback: boolean;
}

/**
 * A wave's percent as its buckets hold it (whole hundredths: shared/rollout/bucket.ts rounds to
 * them). A rollout stored by a hub from before percents came in steps of 0.01 may hold a finer one:
 * 12.345 took 12.35 % and 5e-324 took none, and were shown as written.
 */
function percentRule(percent: number): string {
  const held = Math.round(percent * 100) / 100;
  const rule = `${held} % of the fleet, cumulative`;
  return held === percent
    ? rule
    : `${rule} (created as ${percent} % by an older hub: a wave takes whole 0.01 % steps)`;
}

/**
 * Who a wave takes. `pairsText`: its labels as each side quotes them for its forms (the CLI's and
 * the page's, held alike by tests/unit/hub/label-pairs.test.ts). A labels wave naming no label
 * (`labels: {}`, which the API and `--spec` take on purpose) takes every agent left.
 */
export function waveRule(
  wave: WaveRuleSpec | undefined,
  pairsText: (labels: Readonly<Record<string, string>>) => string[],
): string {
  if (wave === undefined) return "";
  if (wave.percent !== undefined) return percentRule(wave.percent);
  if (wave.labels !== undefined)
    return Object.keys(wave.labels).length === 0
      ? "every agent left (labels {})"
      : `labels ${pairsText(wave.labels).join(", ")}`;
  return `agents ${(wave.agents ?? []).join(", ")}`;
}

/** A fraction as the hub says a rate (0.995 → "99.5 %"). */
function ratePercent(rate: number): string {
  return `${Math.round(rate * 10_000) / 100} %`;
}

/**
 * When a wave lets the rollout go on, from its `waitMinutes` and `minSuccessRate`: without it an
 * operator could not tell what the hub waited for. The last wave passes to nothing (it completes
 * once its agents finished, whatever its figures): undefined.
 */
export function wavePassRule(
  wave: WaveRuleSpec | undefined,
  autoAdvance: boolean,
  last: boolean,
): string | undefined {
  if (wave === undefined || last) return undefined;
  const wait = wave.waitMinutes ?? 0;
  const rate = wave.minSuccessRate ?? 1;
  const values = `waitMinutes ${wait}, minSuccessRate ${ratePercent(rate)}`;
  // Without autoAdvance neither value acts: an operator reading "30 min" would wait for nothing.
  if (!autoAdvance)
    return wait === 0 && rate === 1
      ? "passes on an operator's advance (auto-advance off)"
      : `passes on an operator's advance (auto-advance off: its ${values} do not act)`;
  const after = wait > 0 ? `, not before ${wait} min after it started` : "";
  return `passes by itself once finished with ≥ ${ratePercent(rate)} ${UPDATED_BASE} succeeded${after} (${values})`;
}

/**
 * The figures the engine counts, for an operator to check a rule against: the agents it updates,
 * those of them that succeeded or failed, and those on the release already left out (the detail
 * view's `counted`, per wave and over the waves started).
 */
export interface CountedFigures {
  /**
   * The agents the rollout updates (not `updated`: the API names a point in time so, and a count
   * under that name read as one).
   */
  toUpdate: number;
  succeeded: number;
  failed: number;
  alreadyOn: number;
  /** Over the waves started: failures an operator accepted on a resume (the threshold counts on from them). */
  accepted?: number;
}

function leftOut(figures: CountedFigures, version: string): string {
  return figures.alreadyOn === 0 ? "" : `; ${figures.alreadyOn} already on ${version}, not counted`;
}

/** A wave's figures for its pass rule: "1 of 1 updated succeeded; 3 already on 2.0.0, not counted". */
export function waveCountedText(figures: CountedFigures, version: string): string {
  return `${figures.succeeded} of ${figures.toUpdate} updated succeeded${leftOut(figures, version)}`;
}

/** The waves started's figures for a failure threshold: "1 of 1 updated failed; 3 already on …". */
export function thresholdCountedText(figures: CountedFigures, version: string): string {
  const accepted = figures.accepted ?? 0;
  const counted = accepted === 0 ? "" : ` (${accepted} accepted on a resume, not counted)`;
  return `${figures.failed} of ${figures.toUpdate} updated failed in the waves started${counted}${leftOut(figures, version)}`;
}

/**
 * When the rollout halts and what it does by itself. A percent threshold is of the agents the
 * rollout updates in the waves started so far, not of the whole rollout: 50 % halts on 5 failures
 * of a 10-agent canary in a 100-agent rollout (those on the release already left out), and any
 * percent needs at least one failure (0 %: the first).
 */
export function policyText(spec: PolicySpec): string {
  const threshold = spec.failureThreshold;
  // "halt at 0 % failed" read as a rollout that halts with nothing failed, or never: it halts on
  // the first failure, as any percent needs one.
  const halt =
    "count" in threshold
      ? `${threshold.count} failure(s)`
      : threshold.percent === 0
        ? `the first failure (0 % ${THRESHOLD_BASE})`
        : `${threshold.percent} % failed ${THRESHOLD_BASE}`;
  return `halt at ${halt}; auto-advance ${spec.autoAdvance ? "on" : "off"}; auto-rollback ${spec.autoRollback ? "on" : "off"}`;
}
