/** Pure arithmetic over deployment states: what a wave looks like and whether to halt or advance. */

import { UPDATED_BASE } from "../../dashboard/src/rollout-rules.js";
import type { FailureThreshold, Wave } from "../../shared/api/bodies.js";
import type { DeploymentCount, DeploymentRecord, DeploymentState } from "../store/store.js";
import { rollbackActsOn } from "./rollback-result.js";
import {
  ANSWERED_DEPLOYMENT_STATES,
  DELIVERABLE_DEPLOYMENT_STATES,
  FAILED_DEPLOYMENT_STATES,
  FINISHED_DEPLOYMENT_STATES,
  FORGOTTEN_DEPLOYMENT_STATES,
  NOT_APPLICABLE_DEPLOYMENT_STATES,
  ROLLBACK_FROM_STATES,
  SUCCEEDED_DEPLOYMENT_STATES,
  UNANSWERED_DEPLOYMENT_STATES,
} from "./states.js";

// Sets: these are asked once per deployment (or per count row) on every evaluation.
const FINISHED: ReadonlySet<DeploymentState> = new Set(FINISHED_DEPLOYMENT_STATES);
const FAILED: ReadonlySet<DeploymentState> = new Set(FAILED_DEPLOYMENT_STATES);
const SUCCEEDED: ReadonlySet<DeploymentState> = new Set(SUCCEEDED_DEPLOYMENT_STATES);
const NOT_APPLICABLE: ReadonlySet<DeploymentState> = new Set(NOT_APPLICABLE_DEPLOYMENT_STATES);
const FORGOTTEN: ReadonlySet<DeploymentState> = new Set(FORGOTTEN_DEPLOYMENT_STATES);
const ANSWERED: ReadonlySet<DeploymentState> = new Set(ANSWERED_DEPLOYMENT_STATES);
const UNANSWERED: ReadonlySet<DeploymentState> = new Set(UNANSWERED_DEPLOYMENT_STATES);

/**
 * `members` leaves out the agents that no longer take the app (`notApplicable`) and those an
 * operator forgot before they took the release (`forgotten`): their refusal or silence would be no
 * test of the release, so they weigh neither in the success rate nor in a percent threshold.
 */
export interface WaveStats {
  members: number;
  finished: number;
  succeeded: number;
  failed: number;
  notApplicable: number;
  forgotten: number;
  /**
   * Of `forgotten`, those sent the release before the operator forgot them: their hosts may run it
   * (they never reported on it), so the words must not say they never took it.
   */
  forgottenSent: number;
  /**
   * Of `notApplicable`, those sent the release before they left the app or the selector: an agent
   * relabelled out of it still carries out the instruction it has, so neither are they "not sent".
   */
  notApplicableSent: number;
  /**
   * Members sent the release that answered it with a report (succeeded or failed): the only ones
   * that tested it. The others of a finished wave ran it already (`alreadyOn`), never answered
   * (`unanswered`: offline or silent past a timeout), or were counted failed without being sent it
   * (broken on the release already).
   */
  tested: number;
  /** Members planned succeeded, or found on the release, before anything was sent to them. */
  alreadyOn: number;
  /** Members timed out: sent or not, the agent never answered. */
  unanswered: number;
}

/** A wave with no deployment yet: every count 0. */
export const noStats = (): WaveStats => ({
  members: 0,
  finished: 0,
  succeeded: 0,
  failed: 0,
  notApplicable: 0,
  forgotten: 0,
  forgottenSent: 0,
  notApplicableSent: 0,
  tested: 0,
  alreadyOn: 0,
  unanswered: 0,
});

export function waveStats(deployments: readonly DeploymentRecord[]): WaveStats {
  const stats = noStats();
  for (const d of deployments) addState(stats, d.state, 1, d.attempts > 0 ? 1 : 0);
  return stats;
}

/** `sent`: of the `count`, those ever handed to their agent. */
function addState(stats: WaveStats, state: DeploymentState, count: number, sent: number): void {
  if (NOT_APPLICABLE.has(state)) {
    stats.notApplicable += count;
    stats.notApplicableSent += sent;
    return;
  }
  if (FORGOTTEN.has(state)) {
    stats.forgotten += count;
    stats.forgottenSent += sent;
    return;
  }
  stats.members += count;
  if (FINISHED.has(state)) stats.finished += count;
  if (SUCCEEDED.has(state)) stats.succeeded += count;
  if (FAILED.has(state)) stats.failed += count;
  if (ANSWERED.has(state)) stats.tested += sent;
  if (SUCCEEDED.has(state)) stats.alreadyOn += count - sent;
  if (UNANSWERED.has(state)) stats.unanswered += count;
}

/** The same figures from per-wave counts the store computed, for the waves `include` accepts. */
/** What the engine's judgements read of a count (`DeploymentCount`): per wave and state, how many, how many sent. */
export type WaveCount = Pick<DeploymentCount, "wave" | "state" | "count" | "sent">;

/** The counts of deployments in hand, as the store's `countDeploymentsOfRollout` gives them. */
export function waveCountsOf(deployments: readonly DeploymentRecord[]): WaveCount[] {
  const byKey = new Map<string, WaveCount>();
  for (const d of deployments) {
    const key = `${d.wave}:${d.state}`;
    const c = byKey.get(key) ?? { wave: d.wave, state: d.state, count: 0, sent: 0 };
    c.count++;
    if (d.attempts > 0) c.sent++;
    byKey.set(key, c);
  }
  return [...byKey.values()];
}

export function waveStatsOfCounts(
  counts: readonly WaveCount[],
  include: (wave: number) => boolean,
): WaveStats {
  const stats = noStats();
  for (const { wave, state, count, sent } of counts) if (include(wave)) addState(stats, state, count, sent);
  return stats;
}

/**
 * Failures beyond the operator's allowance reach the threshold (count: ≥ n; percent: ≥ p % of the
 * members the rollout updates, less those accepted). A member on the release already was sent
 * nothing and cannot fail it: counted in the percent's base, 15 such hosts beside 5 updated ones
 * that all failed read 25 % and a 30 % threshold never halted (as `successRate` leaves them out of
 * the success rate). An accepted failure leaves the base as it leaves the count: kept in the base,
 * a 100 % threshold was out of reach after a resume (a canary's 1 accepted, then 3 of 3 more failing
 * read 3 of 4) and the rollout completed with every agent failed.
 */
export function thresholdCrossed(
  stats: Pick<WaveStats, "members" | "failed" | "alreadyOn">,
  threshold: FailureThreshold,
  allowance: number,
): boolean {
  const failures = stats.failed - allowance;
  if (failures <= 0) return false;
  if ("count" in threshold) return failures >= threshold.count;
  const of = stats.members - stats.alreadyOn - allowance;
  return of > 0 && failures >= failuresAtPercent(threshold.percent, of);
}

/**
 * How many of `members` failing are `percent` % of them (at least one): p × members / 100 rounded
 * up. Not the ratio × 100, which binary floating point puts just below p when they are equal
 * (29 of 50 read 57.99999999999999 %, so a 58 % threshold let the rollout run on at exactly 58 %).
 * The slack is far below one failure and far above the product's rounding error.
 */
function failuresAtPercent(percent: number, members: number): number {
  return Math.max(1, Math.ceil((percent * members) / 100 - 1e-9));
}

/**
 * A finished wave whose success rate is high enough and whose wait has passed. `later`: the
 * agents of the waves after it still to be sent the release; a wave that tested nothing
 * (`testedNothing`) is never passed by itself.
 */
export function mayAutoAdvance(
  stats: WaveStats,
  wave: Wave,
  waveStartedAt: number,
  now: number,
  later: number,
): boolean {
  if (stats.finished < stats.members || testedNothing(stats, later)) return false;
  return successRate(stats).rate >= wave.minSuccessRate && now - waveStartedAt >= wave.waitMinutes * 60_000;
}

/**
 * A finished wave's success rate, over the members the rollout had to update: one that ran the
 * release already (`alreadyOn`) was sent nothing and tested nothing, so it is neither a success nor
 * a failure here. Counted as successes, hosts on the release already carried a wave whose every
 * updated host failed past its minSuccessRate (3 on it, 1 failed: 75 %), and the release went on to
 * the next wave. A timed-out member stays in, as the failure the threshold counts it.
 */
export function successRate(stats: Pick<WaveStats, "members" | "succeeded" | "alreadyOn">): {
  rate: number;
  succeeded: number;
  of: number;
} {
  const of = stats.members - stats.alreadyOn;
  const succeeded = stats.succeeded - stats.alreadyOn;
  return { rate: of <= 0 ? 1 : succeeded / of, succeeded, of };
}

/**
 * The figures `successRate` and `thresholdCrossed` count, as the detail view shows them beside the
 * rules (dashboard/src/rollout-rules.ts words them): from the same stats, so what an operator
 * checks a rule against is what the engine judged it by.
 */
export function countedFigures(stats: Pick<WaveStats, "members" | "succeeded" | "failed" | "alreadyOn">): {
  toUpdate: number;
  succeeded: number;
  failed: number;
  alreadyOn: number;
} {
  const { succeeded, of } = successRate(stats);
  return { toUpdate: of, succeeded, failed: stats.failed, alreadyOn: stats.alreadyOn };
}

const WAITING_REASON_START = "waiting for an operator: ";

/** How every halt's reason starts: a paused rollout whose reason does has halted already. */
export const HALT_REASON_START = "failure threshold (";

export function isHaltReason(reason: string | null): boolean {
  return reason?.startsWith(HALT_REASON_START) ?? false;
}

/**
 * A wave that tests nothing the rollout still has to test. With no member: left empty (its agents
 * disabled or removed the app, were relabelled out of the selector, or were forgotten by an
 * operator) it tested nothing wherever it sits: passed, a one-agent fleet's canary or a single
 * wave "passed" with no agent on the release. Empty from the start (a label or agents canary nobody
 * matches; warned of at create too) it holds only while later waves hold agents: after waves that
 * took every agent, passing it sends nothing untested. An agent that joins it fills it again.
 * Finished with members none of which answered the release (they ran it already, stayed away past
 * their timeout, or were counted failed without being sent it): the same as empty from the start —
 * it holds while later waves still have agents to send the release to (a canary of hosts already on
 * it "passed" at once and handed the release on untested); after them there is nothing to protect.
 */
function testedNothing(stats: WaveStats, later: number): boolean {
  if (stats.members === 0) return later > 0 || leftOut(stats) > 0;
  return stats.finished === stats.members && stats.tested === 0 && later > 0;
}

const leftOut = (stats: Pick<WaveStats, "notApplicable" | "forgotten">): number =>
  stats.notApplicable + stats.forgotten;

/**
 * Why a rollout whose last wave finished must not complete by itself, or undefined: its last wave
 * was left empty (it tested nothing), or no agent of the whole rollout is a member any more (none
 * took the release: "completed" would say the fleet runs it). `total`: every wave's figures. Only
 * an operator's resume completes it as it is (see `RolloutEngine.resume`).
 */
export function emptyCompletionReason(
  total: WaveStats,
  last: WaveStats,
  wave: Wave,
  index: number,
): string | undefined {
  const untested = untestedCompletion(total, last, wave, index);
  if (untested === undefined) return undefined;
  const choice =
    untested.kind !== "left-out"
      ? "resume to complete it as it is"
      : total.members === 0
        ? `${nobodyTook(total, "no agent of the rollout")}: resume to complete it as it is`
        : "resume to complete the rollout without them";
  return `${WAITING_REASON_START}${untestedWords(untested)}; ${choice}, or abort`;
}

/** What `emptyCompletionReason` says as data: the last wave left empty, or nobody took the release. */
export function untestedCompletion(
  total: WaveStats,
  last: WaveStats,
  wave: Wave,
  index: number,
): Untested | undefined {
  if (last.members === 0 && leftOut(last) > 0)
    return { kind: "left-out", wave: index, name: wave.name, ...leftOutCounts(last) };
  if (total.members === 0) return { kind: "nobody", ...leftOutCounts(total) };
  return undefined;
}

/**
 * Why a wave tested nothing, as data: its kind and the counts its words are made of. The event of
 * an operator passing such a wave carries these fields, and the words come from them (never read
 * back out of a reason's prose, whose wording may change). `wave`: the wave's index.
 */
export type Untested =
  /** Its members all finished without answering the release. */
  | {
      kind: "not-answered";
      wave: number;
      name: string;
      alreadyOn: number;
      unanswered: number;
      broken: number;
      notApplicable: number;
      forgotten: number;
      forgottenSent?: number;
      notApplicableSent?: number;
    }
  /** It holds no member: every agent planned in it was left out. */
  | {
      kind: "left-out";
      wave: number;
      name: string;
      notApplicable: number;
      forgotten: number;
      forgottenSent?: number;
      notApplicableSent?: number;
    }
  /** It never held an agent, and later waves hold some. */
  | { kind: "empty"; wave: number; name: string; later: number }
  /** No agent of the whole rollout is a member (the last wave's hold). */
  | {
      kind: "nobody";
      notApplicable: number;
      forgotten: number;
      forgottenSent?: number;
      notApplicableSent?: number;
    };

/** Of those left out, the ones sent the release first; absent from events of older hubs. */
type LeftOutSent = { forgottenSent?: number; notApplicableSent?: number };

/** Those a wave's words name as left out. */
type LeftOut = Pick<WaveStats, "notApplicable" | "forgotten"> & LeftOutSent;

const leftOutCounts = (stats: LeftOut) => ({
  notApplicable: stats.notApplicable,
  forgotten: stats.forgotten,
  // Only when some were: the event's counts keep their shape for every other wave.
  ...(stats.forgottenSent ? { forgottenSent: stats.forgottenSent } : {}),
  ...(stats.notApplicableSent ? { notApplicableSent: stats.notApplicableSent } : {}),
});

/** "wave 1 (canary) tested nothing: its 1 agent(s) ran the release already and were sent nothing". */
export function untestedWords(u: Untested): string {
  switch (u.kind) {
    case "not-answered":
      return `wave ${u.wave + 1} (${u.name}) tested nothing: ${notAnsweredText(u)}`;
    case "left-out":
      return `wave ${u.wave + 1} (${u.name}) tested nothing: ${leftOutText(u)}`;
    case "empty":
      return `wave ${u.wave + 1} (${u.name}) holds no agent, so nothing is tested in it before the ${u.later} agent(s) of the later waves`;
    case "nobody":
      return `${nobodyTook(u, "no agent of the rollout")}: ${leftOutText(u)}`;
  }
}

/** Whether a rollout's reason is `stuckWaveReason`'s: its wave will not advance by itself. */
export function isWaitingReason(reason: string | null): boolean {
  return reason?.startsWith(WAITING_REASON_START) ?? false;
}

/**
 * Why an auto-advancing rollout cannot leave a finished wave by itself, or undefined: its success
 * rate is below the wave's minSuccessRate (the failure threshold was not crossed, so nothing halted
 * it either). Said in the rollout's reason; only an operator moves it on.
 */
export function stuckWaveReason(
  stats: WaveStats,
  wave: Wave,
  index: number,
  later: number,
): string | undefined {
  const empty = emptyWaveReason(stats, wave, index, later);
  if (empty !== undefined) return empty;
  if (stats.members === 0 || stats.finished < stats.members) return undefined;
  const { rate, succeeded, of } = successRate(stats);
  if (rate >= wave.minSuccessRate) return undefined;
  const [got, wanted] = percentsApart(rate, wave.minSuccessRate);
  const figures =
    stats.alreadyOn === 0
      ? `${succeeded} of ${of} succeeded (${got})`
      : `${succeeded} of the ${of} agent(s) it updated succeeded (${got}; ${stats.alreadyOn} ran the release already and were sent nothing, not counted)`;
  return `${WAITING_REASON_START}wave ${index + 1} (${wave.name}) finished with ${figures}, below its minSuccessRate (${wanted}); advance or abort`;
}

/**
 * Two fractions as percents ("99.5 %"), with as many decimals as it takes to tell them apart (up
 * to 6): at one decimal, 199 of 200 against a minSuccessRate of 0.9951 read "(99.5 %), below its
 * minSuccessRate (99.5 %)".
 */
function percentsApart(a: number, b: number): [string, string] {
  const text = (x: number, digits: number) => `${Number((x * 100).toFixed(digits))} %`;
  let digits = 1;
  while (digits < 6 && text(a, digits) === text(b, digits)) digits++;
  // A bar finer than that, stored by a hub from before minSuccessRate came in steps of 0.0001
  // (1e-9): "(0 %), below its minSuccessRate (0 %)". Said as held, then.
  const held = (x: number) => `${Number((x * 100).toPrecision(6))} %`;
  if (text(a, digits) === text(b, digits)) return [held(a), held(b)];
  return [text(a, digits), text(b, digits)];
}

/**
 * Why a wave before the last that tests nothing (`testedNothing`) waits for an operator, or
 * undefined. Said with `autoAdvance` or without: an operator who advances by hand must read that
 * the wave they would pass tested nothing, as the held last wave says it (`emptyCompletionReason`).
 */
export function emptyWaveReason(
  stats: WaveStats,
  wave: Wave,
  index: number,
  later: number,
): string | undefined {
  const untested = untestedWave(stats, wave, index, later);
  if (untested === undefined) return undefined;
  const joins = untested.kind === "empty" ? " (an agent that joins it is sent the release)" : "";
  return `${WAITING_REASON_START}${untestedWords(untested)}; advance or abort${joins}`;
}

/** What `emptyWaveReason` says as data, or undefined when the wave tested something (or nothing follows it). */
export function untestedWave(
  stats: WaveStats,
  wave: Wave,
  index: number,
  later: number,
): Untested | undefined {
  if (!testedNothing(stats, later)) return undefined;
  const at = { wave: index, name: wave.name };
  if (stats.members > 0)
    return {
      kind: "not-answered",
      ...at,
      alreadyOn: stats.alreadyOn,
      unanswered: stats.unanswered,
      broken: stats.members - stats.tested - stats.alreadyOn - stats.unanswered,
      ...leftOutCounts(stats),
    };
  return leftOut(stats) > 0
    ? { kind: "left-out", ...at, ...leftOutCounts(stats) }
    : { kind: "empty", ...at, later };
}

/**
 * What a rollout the hub held on an empty last wave (`emptyCompletionReason`) waits for once that
 * no longer holds: agents joined it or came back since, `owed` of them still to be sent the release (a forgotten host with a new token,
 * a host that fits again). The hold's old words ("tested nothing … resume to complete it without
 * them") would be untrue now: a resume sends them the release.
 */
export function rejoinedHoldReason(owed: number): string {
  const since =
    owed > 0
      ? `${owed} agent(s) joined it or came back since: resume to send them the release`
      : "agents joined it or came back since: resume to complete it";
  return `${WAITING_REASON_START}the rollout was held because it tested nothing, and ${since}, or abort`;
}

/**
 * Why a finished wave's members tested nothing: "its 1 agent(s) ran the release already and were
 * sent nothing", and the like, with those left out (`leftOutText`) when there are any.
 */
function notAnsweredText(stats: Extract<Untested, { kind: "not-answered" }>): string {
  const { broken } = stats;
  const parts = [
    ...(stats.alreadyOn > 0
      ? [`${stats.alreadyOn} agent(s) ran the release already and were sent nothing`]
      : []),
    ...(stats.unanswered > 0
      ? [`${stats.unanswered} agent(s) never answered (offline or silent past their timeout, counted failed)`]
      : []),
    ...(broken > 0
      ? [
          `${broken} agent(s) were counted failed without being sent it (their last run of the release had failed)`,
        ]
      : []),
  ];
  const out = leftOut(stats) > 0 ? `, and ${leftOutText(stats).replace(/^its /, "")}` : "";
  return `its ${parts.join(", ")}${out}`;
}

/** Why a wave's planned agents no longer count: "its 1 agent(s) were forgotten (…)", and the like. */
export function leftOutText(stats: LeftOut): string {
  const parts = [
    ...forgottenWords(stats.forgotten, stats.forgottenSent ?? 0, "were "),
    ...notApplicableWords(
      stats.notApplicable,
      stats.notApplicableSent ?? 0,
      "no longer take part",
      "(not applicable: left the app or no longer fit the selector)",
    ),
  ];
  return `its ${parts.join(", and ")}`;
}

/**
 * "no agent took the release", unless some left out (forgotten, or not applicable) were sent it
 * first: none reported on it, yet their hosts may run it.
 */
function nobodyTook(stats: LeftOutSent, who: string): string {
  return (stats.forgottenSent ?? 0) + (stats.notApplicableSent ?? 0) > 0
    ? `${who} reported taking the release`
    : `${who} took the release`;
}

/**
 * "N agent(s) no longer take part …", and apart those sent the release before they left the app or
 * the selector: one relabelled out still carries out the instruction it has, and the words for all
 * ("not sent the release") told the operator those hosts were untouched. `unsentTail`: what the
 * words of those never sent it end with.
 */
function notApplicableWords(
  notApplicable: number,
  sent: number,
  what: string,
  why: string,
  unsentTail = "",
): string[] {
  const unsent = notApplicable - sent;
  return [
    ...(unsent > 0 ? [`${unsent} agent(s) ${what} ${why}${unsentTail}`] : []),
    ...(sent > 0
      ? [`${sent} agent(s) ${what} after they were sent the release ${why}: their hosts may run it`]
      : []),
  ];
}

/**
 * "N agent(s) were forgotten … before they took the release", and apart those forgotten after they
 * were sent it: their hosts may have run it unheard (a rollback reaches them if they rejoin), and
 * "before they took the release" told the operator those hosts were untouched.
 */
function forgottenWords(forgotten: number, sent: number, were: "were " | ""): string[] {
  const who = `agent(s) ${were}forgotten by an operator (\`ship-hub agents forget\`)`;
  const unsent = forgotten - sent;
  return [
    ...(unsent > 0 ? [`${unsent} ${who} before they took the release`] : []),
    ...(sent > 0
      ? [`${sent} ${who} after they were sent the release, before reporting on it (their hosts may run it)`]
      : []),
  ];
}

/**
 * The threshold as a halt's reason and a warning name it. A 0 % threshold halts on the first failure
 * (any percent needs one): "0% failed … reached: 1 failed" read as a contradiction.
 */
export function describeThreshold(threshold: FailureThreshold): string {
  if ("count" in threshold) return `${threshold.count} failure(s)`;
  // Its base said as the rule's (dashboard/src/rollout-rules.ts): "30% failed" read as of every
  // agent in the waves, where those on the release already are not counted.
  return threshold.percent === 0
    ? `0% failed ${UPDATED_BASE}: the first failure`
    : `${threshold.percent}% failed ${UPDATED_BASE}`;
}

/**
 * The failures a halt reason says ("… when it halted"), with a percent threshold's base beside them: the figures
 * `thresholdCrossed` judged, so the reason can be checked against its rule.
 */
export function haltFigures(
  stats: Pick<WaveStats, "members" | "succeeded" | "failed" | "alreadyOn">,
  threshold: FailureThreshold,
  allowance: number,
): string {
  const accepted = allowance === 0 ? [] : [`${allowance} accepted on a resume`];
  if ("count" in threshold) return `${stats.failed} failed when it halted${notCounted(accepted)}`;
  const { toUpdate, failed, alreadyOn } = countedFigures(stats);
  const left = alreadyOn === 0 ? [] : [`${alreadyOn} ran the release already and were sent nothing`];
  return `${failed - allowance} of the ${toUpdate - allowance} agent(s) it updated failed when it halted${notCounted([...accepted, ...left])}`;
}

function notCounted(apart: readonly string[]): string {
  return apart.length === 0 ? "" : ` (${apart.join(", ")}, not counted)`;
}

/**
 * How many deployments a rollback would act on now: in a state `rollback` leaves, and either with a
 * previous release the hub knows (sent back) or not yet marked as impossible to send back (the
 * rollback says so, naming them). Zero on a finished rollout: abort with rollback is not offered.
 */
export function rollbackableOfCounts(counts: readonly DeploymentCount[]): number {
  let n = 0;
  for (const c of counts) if (ROLLBACK_FROM_STATES.includes(c.state)) n += c.rollbackable;
  return n;
}

/** `released`: agents whose take-over by a later rollout ended (`releasedFromTakeOver`). */
export function rollbackableOf(
  deployments: readonly DeploymentRecord[],
  released?: ReadonlySet<string>,
): number {
  return deployments.filter((d) => ROLLBACK_FROM_STATES.includes(d.state) && rollbackActsOn(d, released))
    .length;
}

/**
 * The reason a completed rollout shows, from its deployments as they are now (not as they were
 * when it completed): an agent that timed out and came back afterwards is sent the release
 * (desired state), so its failure may turn into an update under way and then a success.
 */
export function completedReason(
  counts: Readonly<Record<string, number>>,
  /** Of the forgotten and the not applicable ones, those sent the release first. */
  sent: LeftOutSent = {},
): string | null {
  let succeeded = 0;
  let failed = 0;
  let owed = 0;
  let notApplicable = 0;
  let forgotten = 0;
  for (const [state, n] of Object.entries(counts)) {
    if (SUCCEEDED.has(state as DeploymentState)) succeeded += n;
    if (FAILED.has(state as DeploymentState)) failed += n;
    if (DELIVERABLE_DEPLOYMENT_STATES.includes(state as DeploymentState)) owed += n;
    if (NOT_APPLICABLE.has(state as DeploymentState)) notApplicable += n;
    if (FORGOTTEN.has(state as DeploymentState)) forgotten += n;
  }
  // A rollout that completed with hosts left out read "completed" and nothing else: an operator
  // took it that every planned host ran the release, while some (the app disabled or removed, or
  // relabelled out of the selector) were never sent it.
  const parts = [
    ...(failed > 0 ? [`${failed} agent(s) failed`] : []),
    ...(owed > 0 ? [`${owed} agent(s) back after it completed are being sent the release`] : []),
    ...notApplicableWords(
      notApplicable,
      sent.notApplicableSent ?? 0,
      "not applicable",
      "(no longer take the app or fit the selector)",
      ": not sent the release",
    ),
    // A host forgotten mid-rollout is not counted as running the release: "completed" alone would say it did.
    ...forgottenWords(forgotten, sent.forgottenSent ?? 0, ""),
  ];
  if (parts.length === 0) return null;
  // Completed by an operator's resume with every agent left out (`emptyCompletionReason`): the
  // state alone would say the fleet runs the release, while no host took it.
  const nobody = succeeded === 0 && failed === 0 && owed === 0;
  return `${nobody ? `${nobodyTook(sent, "no agent")}: ` : ""}${parts.join("; ")}`;
}
