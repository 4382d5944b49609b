import { isoTime, type ShownTime } from "../shown-time.js";
import type { StoreOps } from "../store/async-store.js";
import type { DeploymentRecord, ReleaseRecord, RolloutRecord } from "../store/store.js";
import {
  completedReason,
  countedFigures,
  isHaltReason,
  isWaitingReason,
  rollbackableOf,
  rollbackableOfCounts,
  type WaveStats,
  waveStats,
  waveStatsOfCounts,
} from "./accounting.js";
import type { RestartHold } from "./heard-since-start.js";
import { pausedInWave } from "./paused-time.js";
import {
  forgottenOwingRollback,
  leftOnRelease,
  notRolledBack,
  releasedFromTakeOver,
  restoredByHost,
  rollbackReportedNotDone,
} from "./rollback-result.js";
import {
  cancelsUnsent,
  DELIVERABLE_DEPLOYMENT_STATES,
  FAILED_DEPLOYMENT_STATES,
  inStateOrder,
  isCompletedRollout,
  isFinalRollout,
  isRollbackDeliverable,
  isRunningRollout,
  offeredRolloutActions,
  PROGRESS_GROUP,
  type ProgressGroup,
  progressGroups,
  ROLLBACK_FAILED_STATES,
  ROLLBACK_FORGOTTEN_STATES,
  ROLLBACK_IF_ON_RELEASE_STATES,
  type RolloutAction,
} from "./states.js";

/** `cancelled`: a wave the rollout never reached and never will (it was aborted or failed first). */
export type WaveStatus = "done" | "active" | "waiting" | "cancelled";

function countStates(deployments: readonly DeploymentRecord[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const d of deployments) counts[d.state] = (counts[d.state] ?? 0) + 1;
  return inStateOrder(counts);
}

/**
 * Failed updates whose host put the previous version back by itself (its report says "rolled
 * back"): still failed, and shown as rolled back too. One rule for the list (from the store's
 * counts), the detail and each wave (from the deployments), so every view says the same figure.
 */
function isRestored(state: DeploymentRecord["state"], restored: boolean): boolean {
  return restored && FAILED_DEPLOYMENT_STATES.includes(state);
}
function restoredOf(deployments: readonly DeploymentRecord[]): number {
  return deployments.filter((d) => isRestored(d.state, restoredByHost(d))).length;
}

/** Per-state counts folded into the groups an operator reads a wave by (the dashboard's bar). */
function progressOf(counts: Record<string, number>): Record<ProgressGroup, number> {
  const progress = Object.fromEntries(progressGroups.map((g) => [g, 0])) as Record<ProgressGroup, number>;
  for (const [state, n] of Object.entries(counts)) {
    const group: ProgressGroup | undefined = PROGRESS_GROUP[state as keyof typeof PROGRESS_GROUP];
    if (group !== undefined) progress[group] += n;
  }
  return progress;
}

/**
 * A rollout list shows counts only: the store counts them rather than loading every deployment.
 * `rollbackable`: how many a rollback could send back (whether abort with rollback is offered).
 */
async function countByState(
  store: StoreOps,
  rolloutId: string,
): Promise<{
  counts: Record<string, number>;
  rollbackable: number;
  restored: number;
  lastUpdated: number;
  leftOutSent: WaveStats;
}> {
  const rows = await store.countDeploymentsOfRollout(rolloutId);
  const counts: Record<string, number> = {};
  let restored = 0;
  for (const c of rows) {
    counts[c.state] = (counts[c.state] ?? 0) + c.count;
    if (isRestored(c.state, true)) restored += c.restored;
  }
  return {
    leftOutSent: waveStatsOfCounts(rows, () => true),
    counts: inStateOrder(counts),
    rollbackable: rollbackableOfCounts(rows),
    restored,
    lastUpdated: rows.reduce((newest, c) => Math.max(newest, c.lastUpdated), 0),
  };
}

/**
 * How many agents abort with rollback would send back now, from the per-state counts (the store
 * counts them) and, only when those count none, the failed rows whose host runs the release still
 * (their update was left installed), or not applicable ones that were sent it: as the detail offers it.
 */
async function rollbackableNow(
  store: StoreOps,
  rollout: RolloutRecord,
  counts: Readonly<Record<string, number>>,
  rollbackable: number,
): Promise<number> {
  if (rollbackable > 0 || !ROLLBACK_IF_ON_RELEASE_STATES.some((s) => counts[s])) return rollbackable;
  const failed = await store.listStalledDeployments({
    rolloutId: rollout.id,
    maxWave: rollout.spec.waves.length,
    states: ROLLBACK_IF_ON_RELEASE_STATES,
    updatedBefore: Number.MAX_SAFE_INTEGER,
  });
  return (await leftOnRelease(store, rollout, failed)).size;
}

/**
 * The operator actions the hub accepts now: the table's, less abort with rollback while nobody
 * could be sent back, less advance in the last wave (nothing to advance to). The views and every
 * 409's "allowed now" read this one list, so a refusal never offers what is refused in turn.
 */
export function actionsNow(rollout: RolloutRecord, rollbackable: number): RolloutAction[] {
  return offeredRolloutActions(rollout.state, rollbackable).filter(
    (a) => a !== "advance" || rollout.currentWave < rollout.spec.waves.length - 1,
  );
}

/** `actionsNow` read from the store, for a refusal. */
export async function storedActionsNow(store: StoreOps, rollout: RolloutRecord): Promise<RolloutAction[]> {
  const { counts, rollbackable } = await countByState(store, rollout.id);
  return actionsNow(rollout, await rollbackableNow(store, rollout, counts, rollbackable));
}

/** A rollout as people and the CLI read it: the release, per-state counts, and each wave's agents. */
export async function rolloutSummary(
  store: StoreOps,
  rollout: RolloutRecord,
  /** What holds its auto-advance since the hub started (RolloutEngine.advanceHold). */
  hold?: RestartHold,
  shown: ShownTime = isoTime,
) {
  const {
    counts,
    rollbackable: counted,
    restored,
    lastUpdated,
    leftOutSent,
  } = await countByState(store, rollout.id);
  const rollbackable = await rollbackableNow(store, rollout, counts, counted);
  // An aborted or failed rollout's failed rows: those whose agent answered its rollback with a
  // failure, which its reason counts as the detail does (only then, and only those rows, are read).
  // Its forgotten rows likewise: those forgotten while their rollback instruction was out.
  const ended = isFinalRollout(rollout.state) && !isCompletedRollout(rollout.state);
  const rowsIn = async (states: readonly DeploymentRecord["state"][]) => {
    const present = states.filter((state) => (counts[state] ?? 0) > 0);
    return ended && present.length > 0
      ? store.listStalledDeployments({
          rolloutId: rollout.id,
          maxWave: rollout.spec.waves.length,
          states: present,
          updatedBefore: Number.MAX_SAFE_INTEGER,
        })
      : [];
  };
  const notDone = (await rowsIn(ROLLBACK_FAILED_STATES)).filter(rollbackReportedNotDone).length;
  const forgotten = (await rowsIn(ROLLBACK_FORGOTTEN_STATES)).filter(forgottenOwingRollback).length;
  return summaryOf(
    rollout,
    await store.getRelease(rollout.releaseId),
    counts,
    rollbackable,
    restored,
    lastUpdated,
    { notDone, forgotten },
    await pausedForView(store, rollout),
    leftOutSent,
    hold,
    shown,
  );
}

/**
 * The earliest time a running auto-advancing rollout leaves its current wave by itself (its
 * `waitMinutes` after the wave started; it also needs the wave finished at its minSuccessRate).
 * A finished canary that waited showed nothing but "active", all succeeded: an operator could not
 * tell a wait from a stuck rollout, and advanced it by hand, cutting the soak short.
 */
function autoAdvanceAt(
  rollout: RolloutRecord,
  pausedMs: number,
  hold?: RestartHold,
  shown: ShownTime = isoTime,
): { autoAdvanceAt?: string; advanceHeldUntilHeard?: { agents: readonly string[]; until: string } } {
  const wave = rollout.spec.waves[rollout.currentWave];
  const last = rollout.currentWave >= rollout.spec.waves.length - 1;
  if (
    !rollout.spec.autoAdvance ||
    last ||
    !isRunningRollout(rollout.state) ||
    // Finished below its minSuccessRate: only an operator moves it on, whatever the time.
    isWaitingReason(rollout.reason) ||
    !wave ||
    (wave.waitMinutes === 0 && hold === undefined)
  )
    return {};
  const waitEnds = rollout.waveStartedAt + pausedMs + wave.waitMinutes * 60_000;
  if (hold === undefined) return { autoAdvanceAt: shown(waitEnds) };
  // Back from a restart, its agents not heard yet hold it too: "not before" a time gone by, with
  // nothing moving, read as a stuck rollout.
  return {
    autoAdvanceAt: shown(Math.max(waitEnds, hold.until)),
    advanceHeldUntilHeard: { agents: hold.agents, until: shown(hold.until) },
  };
}

/** The time the current wave stood paused, read only for a wave whose `autoAdvanceAt` is shown. */
async function pausedForView(store: StoreOps, rollout: RolloutRecord): Promise<number> {
  return autoAdvanceAt(rollout, 0).autoAdvanceAt === undefined ? 0 : pausedInWave(store, rollout);
}

/**
 * An aborted or failed rollout's reason with where its rollback stands now. The stored reason is
 * what was asked ("rollback sent to 2 agent(s)"), and read the same after every host answered or
 * timed out; the figures follow once one has.
 */
/** Rollback instructions that did not take their agent back, beside those counted by state. */
interface RollbackUnanswered {
  /** Agents that answered their rollback instruction with a failure or a refusal. */
  notDone: number;
  /** Agents forgotten (`ship-hub agents forget`) while their instruction was out. */
  forgotten: number;
}

function withRollbackNow(
  reason: string | null,
  counts: Readonly<Record<string, number>>,
  unanswered: RollbackUnanswered,
): string | null {
  const { notDone, forgotten } = unanswered;
  const back = counts.rolled_back ?? 0;
  const out = counts.rollback_pending ?? 0;
  const timedOut = counts.rollback_timed_out ?? 0;
  if (back + timedOut + notDone + forgotten === 0) return reason;
  const now = [
    ...(back > 0 ? [`${back} rolled back`] : []),
    ...(notDone > 0 ? [`${notDone} answered that it failed or refused it (not rolled back)`] : []),
    ...(forgotten > 0
      ? [
          `${forgotten} forgotten by an operator before answering (not rolled back; sent again if they rejoin)`,
        ]
      : []),
    ...(out > 0 ? [`${out} not answered yet`] : []),
    ...(timedOut > 0 ? [`${timedOut} timed out (sent again when they reconnect)`] : []),
  ].join(", ");
  return `${reason ?? "aborted"}; now: ${now}`;
}

function summaryOf(
  rollout: RolloutRecord,
  release: ReleaseRecord | undefined,
  counts: Record<string, number>,
  rollbackable: number,
  restored: number,
  /** When its newest deployment last changed. */
  deploymentsUpdated: number,
  rollbackUnanswered: RollbackUnanswered,
  /** How long the current wave stood paused (its wait does not count that time). */
  pausedMs: number,
  /**
   * Of the forgotten and the not applicable deployments, those sent the release first; and the
   * agents on the release already (sent nothing).
   */
  leftOutSent: Parameters<typeof completedReason>[1] & Pick<WaveStats, "alreadyOn">,
  /** Agents not heard since the hub started, holding the auto-advance (heard-since-start.ts). */
  hold?: RestartHold,
  shown: ShownTime = isoTime,
) {
  return {
    id: rollout.id,
    state: rollout.state,
    // A completed rollout's figures can still change (a latecomer is sent the release): said as they are.
    reason: isCompletedRollout(rollout.state)
      ? completedReason(counts, leftOutSent)
      : isFinalRollout(rollout.state)
        ? withRollbackNow(rollout.reason, counts, rollbackUnanswered)
        : rollout.reason,
    release: { id: rollout.releaseId, app: release?.app ?? "?", version: release?.version ?? "?" },
    currentWave: rollout.currentWave,
    currentWaveName: rollout.spec.waves[rollout.currentWave]?.name ?? "",
    waveStartedAt: shown(rollout.waveStartedAt),
    ...autoAdvanceAt(rollout, pausedMs, hold, shown),
    created: shown(rollout.created),
    // The rollout's own changes and its agents' (a report, a rollback, a latecomer after it
    // completed): the list's UPDATED says when anything in it last moved.
    updated: shown(Math.max(rollout.updated, deploymentsUpdated)),
    counts,
    // From the state machine's table, so clients (the dashboard, scripts) need not know it.
    /** The release is delivered no more (rollback instructions may still be out: rollback_pending). */
    final: isFinalRollout(rollout.state),
    /**
     * Stopped by the hub until an operator decides: halted on its failure threshold, or a wave that
     * finished below its minSuccessRate or tested nothing (`emptyWaveReason`: empty, its agents left
     * out, on the release already or silent; `emptyCompletionReason` for a held last wave). No time
     * moves it on, so `rollout show --watch` stops here too (exit 1) instead of waiting for ever; a
     * pause by hand is not this (its operator knows).
     */
    needsDecision:
      !isFinalRollout(rollout.state) && (isHaltReason(rollout.reason) || isWaitingReason(rollout.reason)),
    /**
     * Halted on its failure threshold: a resume now accepts the failures so far. A pause by hand
     * stopped on nothing, and its resume accepts none (they go on counting toward the threshold).
     */
    halted: !isFinalRollout(rollout.state) && isHaltReason(rollout.reason),
    /** The operator actions the hub accepts now; any other is a 409. */
    actions: actionsNow(rollout, rollbackable),
    progress: progressOf(counts),
    /** Of `progress.failed`, the updates whose host restored its previous version by itself. */
    restored,
    /**
     * Of `progress.succeeded`, the agents that ran the release already and were sent nothing (the
     * detail's `counted.alreadyOn`, over every wave): the dashboard's list counted them as
     * "✓ succeeded" where the rollout's page sets them apart.
     */
    alreadyOn: leftOutSent.alreadyOn,
  };
}

/** The detail view, read from the store: the rollout's release and every deployment (one snapshot of them). */
export async function rolloutDetail(
  store: StoreOps,
  rollout: RolloutRecord,
  isOnline: (agentId: string) => boolean,
  /** The engine's offline timeout for this rollout (RolloutEngine.offlineDeadline). */
  offlineDeadline?: (lastSeen: number) => number,
  /** What holds its auto-advance since the hub started (RolloutEngine.advanceHold). */
  hold?: RestartHold,
  shown: ShownTime = isoTime,
) {
  const deployments = await store.listDeployments({ rolloutId: rollout.id });
  const failsAt =
    offlineDeadline && (await offlineFailsAt(store, rollout, deployments, isOnline, offlineDeadline));
  // A rollout offers abort with rollback only while a host is on its release: one whose failed
  // update was left installed is (when it was the only one, the button was disabled), and so is one
  // a later rollout took over and left back on it.
  const released = await releasedFromTakeOver(store, rollout, deployments);
  const acts = rollbackableOf(deployments, released);
  const leftOn =
    acts -
    rollbackableOf(deployments) +
    (acts === 0 ? (await leftOnRelease(store, rollout, deployments, released)).size : 0);
  return rolloutDetailOf(
    rollout,
    await store.getRelease(rollout.releaseId),
    deployments,
    isOnline,
    failsAt,
    leftOn,
    await pausedForView(store, rollout),
    hold,
    shown,
  );
}

/**
 * When each agent the rollout waits for while it is offline counts as failed: a wave held by an
 * offline agent showed it `pending`, offline, with nothing saying how long the rollout would wait
 * before the agent counted against the failure threshold. Only those agents' rows are read.
 */
export async function offlineFailsAt(
  store: StoreOps,
  rollout: RolloutRecord,
  deployments: readonly DeploymentRecord[],
  isOnline: (agentId: string) => boolean,
  deadline: (lastSeen: number) => number,
): Promise<Map<string, number>> {
  const waited = deployments
    .filter(
      (d) =>
        d.wave <= rollout.currentWave &&
        DELIVERABLE_DEPLOYMENT_STATES.includes(d.state) &&
        !isOnline(d.agentId),
    )
    .map((d) => d.agentId);
  if (waited.length === 0) return new Map();
  const agents = await store.getAgents(waited);
  return new Map(agents.map((a) => [a.id, deadline(a.lastSeen)]));
}

/** An agent of a wave as the detail view lists it. */
interface WaveAgent {
  agentId: string;
  deploymentId: string;
  state: DeploymentRecord["state"];
  online: boolean;
  rollbackOwed: boolean;
  attempts: number;
  error: string | null;
  warnings: readonly string[];
  updatedAt: string;
  offlineFailsAt?: string;
}
/** `shown(ms)`, formatted once per distinct `ms` by the function returned. */
function isoTimes(shown: ShownTime): ShownTime {
  const known = new Map<number, string>();
  return (ms) => {
    let text = known.get(ms);
    if (text === undefined) {
      text = shown(ms);
      known.set(ms, text);
    }
    return text;
  };
}

/** Shared by the agents that warned of nothing (10,000 empty arrays were as many allocations). */
const NO_WARNINGS: readonly string[] = Object.freeze([]);

/**
 * The detail view of a rollout whose deployments the caller already holds (in the store's order:
 * by wave, then agent id), e.g. those the transaction that created it just wrote: no read.
 */
export function rolloutDetailOf(
  rollout: RolloutRecord,
  release: ReleaseRecord | undefined,
  deployments: readonly DeploymentRecord[],
  isOnline: (agentId: string) => boolean,
  /** Per agent id, when it counts as failed if it stays offline (see `offlineFailsAt`). */
  failsAt?: ReadonlyMap<string, number>,
  /**
   * Agents a rollback sends back that `rollbackableOf` does not count: failed deployments whose
   * host runs the release still, and those whose take-over by a later rollout ended.
   */
  leftOn = 0,
  /** How long the current wave stood paused (see `pausedInWave`). */
  pausedMs = 0,
  /** What holds its auto-advance since the hub started (RolloutEngine.advanceHold). */
  hold?: RestartHold,
  shown: ShownTime = isoTime,
) {
  const finalState = isFinalRollout(rollout.state);
  // A wave start's rows share a few update times: each is formatted once, not once per agent.
  const rowTime = isoTimes(shown);
  // One pass: a 10,000-agent rollout is grouped by wave once, not filtered once per wave.
  const byWave = rollout.spec.waves.map((): DeploymentRecord[] => []);
  for (const d of deployments) byWave[d.wave]?.push(d);
  return {
    ...summaryOf(
      rollout,
      release,
      countStates(deployments),
      rollbackableOf(deployments) + leftOn,
      restoredOf(deployments),
      deployments.reduce((newest, d) => Math.max(newest, d.updatedAt), 0),
      {
        notDone: deployments.filter(rollbackReportedNotDone).length,
        forgotten: deployments.filter(forgottenOwingRollback).length,
      },
      pausedMs,
      waveStats(deployments),
      hold,
      shown,
    ),
    spec: rollout.spec,
    /**
     * Agents a requested rollback did not reach: the hub knew no release they ran before, or a later
     * rollout of the app took them over (when it was asked, or before its instruction got to them).
     */
    notRolledBack: deployments.filter(notRolledBack).map((d) => d.agentId),
    /**
     * What a percent failure threshold is of, as the engine counts it: the waves started so far,
     * those on the release already left out, and the failures an operator accepted on a resume.
     */
    counted: {
      ...countedFigures(waveStats(deployments.filter((d) => d.wave <= rollout.currentWave))),
      accepted: rollout.failureAllowance,
    },
    waves: rollout.spec.waves.map((wave, index) => {
      const members = byWave[index] ?? [];
      const counts = countStates(members);
      const status: WaveStatus =
        index < rollout.currentWave || (finalState && index === rollout.currentWave)
          ? "done"
          : index === rollout.currentWave
            ? "active"
            : cancelsUnsent(rollout.state)
              ? "cancelled"
              : "waiting";
      return {
        index,
        name: wave.name,
        status,
        counts,
        progress: progressOf(counts),
        restored: restoredOf(members),
        /** What its minSuccessRate is of, as the engine counts it (`successRate`). */
        counted: countedFigures(waveStats(members)),
        agents: members.map((d) => {
          const agent: WaveAgent = {
            agentId: d.agentId,
            deploymentId: d.id,
            state: d.state,
            online: isOnline(d.agentId),
            // The hub still owes it a rollback instruction (not answered yet, or timed out and sent
            // again at its hello), as the state table says: the CLI and the dashboard read this flag
            // instead of naming the states themselves.
            rollbackOwed: isRollbackDeliverable(d.state),
            // Runs of the update the agent started (not deliveries: a re-send after a timeout,
            // which the agent takes for the run it is on or answers from its record, is none).
            attempts: d.started ?? 0,
            error: d.error,
            // A success that warned is a success: its warnings are not its error.
            warnings: d.warnings ?? NO_WARNINGS,
            updatedAt: rowTime(d.updatedAt),
          };
          // Only for an offline agent the running rollout waits for: when it counts as failed.
          // Set after the others, so it stays the last key the answer writes.
          const offlineAt = failsAt?.get(d.agentId);
          if (offlineAt !== undefined) agent.offlineFailsAt = rowTime(offlineAt);
          return agent;
        }),
      };
    }),
  };
}
