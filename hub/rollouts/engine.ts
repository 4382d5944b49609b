import { randomUUID } from "node:crypto";
import type { RolloutSpec } from "../../shared/api/bodies.js";
import { HubRequestError } from "../errors.js";
import type { AgentRecord, DeploymentRecord, ReleaseRecord, RolloutRecord } from "../store/store.js";
import {
  describeThreshold,
  mayAutoAdvance,
  thresholdCrossed,
  type WaveStats,
  waveStatsOfCounts,
} from "./accounting.js";
import { Dispatch, type EngineContext, recordEvent } from "./dispatch.js";
import {
  isEligible,
  placeAgents,
  planWaves,
  rolloutSeed,
  seedOf,
  wantsMember,
  waveOf,
} from "./membership.js";
import { describeRollback, markRollback } from "./rollback-result.js";
import {
  ACTIVE_ROLLOUT_STATES,
  DELIVERABLE_DEPLOYMENT_STATES,
  DEPLOYMENT_PLANNED,
  deploymentStep,
  isDeliverable,
  isRollbackDeliverable,
  isRunningRollout,
  nextDeploymentState,
  ROLLOUT_START,
  type RolloutAction,
  RUNNING_ROLLOUT_STATES,
  rolloutRefusal,
  rolloutStep,
  STALLED_DEPLOYMENT_STATES,
} from "./states.js";

export const HUB_ACTOR = "hub";
export interface EngineOptions extends EngineContext {
  /** An agent offline this long after its wave started counts as timed_out (failed). */
  offlineTimeoutMs: number;
  /**
   * A deployment sent (or in progress) with no progress and no report this long counts as
   * timed_out (failed): an agent that lost an instruction, or cannot report, must not keep a
   * rollout open forever. Default one hour (hub.toml progress_timeout_seconds).
   */
  progressTimeoutMs?: number;
}

const DEFAULT_PROGRESS_TIMEOUT_MS = 3_600_000;

/**
 * The rollout engine. Desired state lives in the store; every method derives what to do from it
 * and from stored timestamps, so a restarted hub with a new engine continues where it stopped.
 */
export class RolloutEngine {
  private current: Dispatch | undefined;
  private readonly toEvaluate = new Set<string>();
  /** When each rollout was last scanned for stalled deployments (a scan reads the whole rollout). */
  private readonly stalledScans = new Map<string, number>();

  constructor(readonly options: EngineOptions) {}

  get store() {
    return this.options.store;
  }

  /** Runs `fn` in one transaction and sends its instructions after the commit. */
  run<T>(fn: (dispatch: Dispatch) => T): T {
    // Nested runs (a batch of agent messages) join the outer transaction and dispatch, which sends
    // once the outermost transaction committed. No savepoint of their own: MessageBatch already
    // gives each message one, and a second per report was a measurable share of ingestion.
    if (this.current) return fn(this.current);
    const dispatch = new Dispatch(this.options);
    this.current = dispatch;
    try {
      const result = this.store.transaction(() => {
        const value = fn(dispatch);
        for (const id of this.toEvaluate) this.evaluate(id, dispatch);
        return value;
      });
      dispatch.flush();
      return result;
    } finally {
      this.current = undefined;
      this.toEvaluate.clear();
    }
  }

  requireRelease(id: string): ReleaseRecord {
    const release = this.store.getRelease(id);
    if (!release) throw new HubRequestError(404, `release ${id} not found`);
    return release;
  }

  /** By id, or by a unique prefix of at least 4 characters (the dashboard shows 8). */
  requireRollout(id: string): RolloutRecord {
    const rollout = this.store.getRollout(id);
    if (rollout) return rollout;
    const matches =
      id.length >= 4
        ? this.store.listRollouts({ limit: 100_000 }).filter((r) => r.id.startsWith(id.toLowerCase()))
        : [];
    if (matches.length === 1) return matches[0] as RolloutRecord;
    if (matches.length > 1)
      throw new HubRequestError(409, `rollout id ${id} is ambiguous: ${matches.map((r) => r.id).join(", ")}`);
    throw new HubRequestError(404, `rollout ${id} not found`);
  }

  /** The split `create` gives for the same body while the same agents are registered. */
  preview(spec: RolloutSpec) {
    const release = this.requireRelease(spec.release);
    const seed = rolloutSeed(spec);
    return {
      rolloutId: spec.id ?? randomUUID(),
      seed,
      ...planWaves(seed, spec, release.app, this.store.listAgents()),
    };
  }

  create(input: RolloutSpec, actor: string, rolloutId: string = input.id ?? randomUUID()): RolloutRecord {
    // The seed is stored with the rollout: agents joining later hash with the one the preview used.
    const spec: RolloutSpec = { ...input, seed: rolloutSeed(input) };
    const release = this.requireRelease(spec.release);
    if (this.store.getRollout(rolloutId)) throw new HubRequestError(409, `rollout ${rolloutId} exists`);
    const busy = this.store
      .listRollouts({ states: ACTIVE_ROLLOUT_STATES, limit: 10_000 })
      .find((r) => this.store.getRelease(r.releaseId)?.app === release.app);
    if (busy)
      throw new HubRequestError(
        409,
        `rollout ${busy.id} of ${release.app} is ${busy.state}; finish or abort it`,
      );
    const now = this.options.now();
    const rollout: RolloutRecord = {
      id: rolloutId,
      releaseId: release.id,
      spec,
      state: ROLLOUT_START,
      currentWave: 0,
      waveStartedAt: now,
      reason: null,
      failureAllowance: 0,
      created: now,
      updated: now,
    };
    return this.run((dispatch) => {
      this.store.insertRollout(rollout);
      const agents = this.store.listAgents();
      const waves = placeAgents(seedOf(rollout), spec, release.app, agents);
      const planned = agents.flatMap((agent) => {
        const wave = waves.get(agent.id);
        return wave === undefined ? [] : [this.deploymentOf(rollout, release, agent, wave)];
      });
      recordEvent(this.options, {
        actor,
        kind: "rollout.created",
        subject: rollout.id,
        data: { release: release.id, app: release.app, version: release.version, agents: planned.length },
      });
      for (const d of planned) {
        // The first wave's connected agents get their instruction now: their row is written as
        // `sent` at once instead of written pending, re-read and updated.
        const sentState = nextDeploymentState(d.state, "send");
        if (sentState && d.wave <= rollout.currentWave && dispatch.canSend(d.agentId)) {
          const sent: DeploymentRecord = { ...d, state: sentState, attempts: 1 };
          this.store.insertDeployment(sent);
          dispatch.sentOnInsert(sent, actor);
        } else this.store.insertDeployment(d);
      }
      this.evaluate(rollout.id, dispatch);
      return this.requireRollout(rollout.id);
    });
  }

  /**
   * Puts an agent that registers mid-rollout in its wave; false when it is not eligible or already
   * enrolled. Nobody enrolled moves; a percent wave not yet passed that is still empty (the rollout
   * had no agents when it started) takes this agent, as `placeAgents` would have.
   */
  enroll(rollout: RolloutRecord, release: ReleaseRecord, agent: AgentRecord): boolean {
    if (!isEligible(rollout.spec, release.app, agent)) return false;
    if (this.store.getDeployment(`${rollout.id}:${agent.id}`)) return false;
    const spec = rollout.spec;
    let wave = waveOf(seedOf(rollout), spec, agent.id, agent.labels);
    if (wave === undefined || spec.waves[wave]?.percent !== undefined) {
      const filled = new Set(this.store.countDeploymentsOfRollout(rollout.id).map((c) => c.wave));
      for (let i = rollout.currentWave; i < (wave ?? spec.waves.length); i++)
        if (wantsMember(spec, i) && !filled.has(i)) {
          wave = i;
          break;
        }
    }
    if (wave === undefined) return false;
    return this.store.insertDeployment(this.deploymentOf(rollout, release, agent, wave));
  }

  /**
   * The release the agent runs now, as the hub knows it: the id the agent announced, else the
   * hub's release of the version it runs (one release per app and version), so a rollback target
   * is known even when the agent installed it by itself or rolled back to it locally.
   */
  private installedRelease(app: string, agent: AgentRecord): string | null {
    const status = agent.apps.find((a) => a.app === app);
    if (status?.releaseId) return status.releaseId;
    if (!status?.version) return null;
    return this.store.findRelease(app, status.version)?.id ?? null;
  }

  /** The deployment an agent gets in a wave of a rollout. */
  private deploymentOf(
    rollout: RolloutRecord,
    release: ReleaseRecord,
    agent: AgentRecord,
    wave: number,
  ): DeploymentRecord {
    const current = this.installedRelease(release.app, agent);
    return {
      id: `${rollout.id}:${agent.id}`,
      rolloutId: rollout.id,
      agentId: agent.id,
      wave,
      desiredRelease: release.id,
      previousRelease: current === release.id ? null : current,
      // An agent already on the release has nothing to do.
      state: current === release.id ? DEPLOYMENT_PLANNED.alreadyThere : DEPLOYMENT_PLANNED.toInstall,
      attempts: 0,
      updatedAt: this.options.now(),
      error: null,
    };
  }

  /** Queues every instruction the rollout's agents should have now. */
  deliver(rolloutId: string, dispatch: Dispatch, actor: string): void {
    const rollout = this.requireRollout(rolloutId);
    for (const d of this.store.listDeployments({ rolloutId })) {
      if (isRollbackDeliverable(d.state)) dispatch.deployment(d, actor);
      else if (isRunningRollout(rollout.state) && d.wave <= rollout.currentWave && isDeliverable(d.state))
        dispatch.deployment(d, actor);
    }
  }

  advance(id: string, actor: string): RolloutRecord {
    return this.run((dispatch) => {
      const rollout = this.requireRollout(id);
      refuseUnless(rollout, "advance");
      if (rollout.currentWave >= rollout.spec.waves.length - 1)
        throw new HubRequestError(409, `rollout ${id} is in its last wave`);
      this.startWave(rollout, rollout.currentWave + 1, actor, dispatch);
      this.evaluate(id, dispatch);
      return this.requireRollout(id);
    });
  }

  private startWave(rollout: RolloutRecord, wave: number, actor: string, dispatch: Dispatch): void {
    const now = this.options.now();
    const left = rollout.currentWave;
    const heldNobody = !this.store.countDeploymentsOfRollout(rollout.id).some((c) => c.wave === left);
    if (heldNobody)
      recordEvent(this.options, {
        actor,
        kind: "rollout.wave_empty",
        subject: rollout.id,
        data: {
          wave: left,
          name: rollout.spec.waves[left]?.name,
          message: "this wave held no agent: nothing was tested in it before the next wave started",
        },
      });
    this.store.updateRollout(rollout.id, { currentWave: wave, waveStartedAt: now, updated: now });
    recordEvent(this.options, {
      actor,
      kind: "rollout.advanced",
      subject: rollout.id,
      data: { wave, name: rollout.spec.waves[wave]?.name },
    });
    this.deliver(rollout.id, dispatch, actor);
  }

  pause(id: string, actor: string): RolloutRecord {
    return this.transition(id, "pause", actor, "paused by an operator");
  }

  resume(id: string, actor: string): RolloutRecord {
    return this.run((dispatch) => {
      const rollout = this.requireRollout(id);
      refuseUnless(rollout, "resume");
      // Failures seen so far are accepted by resuming; only new ones count toward the threshold.
      const failed = this.activeStats(rollout).total.failed;
      const now = this.options.now();
      this.store.updateRollout(id, {
        state: rolloutStep(rollout.state, "resume"),
        reason: null,
        failureAllowance: failed,
        updated: now,
      });
      recordEvent(this.options, {
        actor,
        kind: "rollout.resumed",
        subject: id,
        data: { acceptedFailures: failed },
      });
      this.deliver(id, dispatch, actor);
      this.evaluate(id, dispatch);
      return this.requireRollout(id);
    });
  }

  abort(id: string, actor: string, rollback: boolean): RolloutRecord {
    return this.run((dispatch) => {
      const rollout = this.requireRollout(id);
      const action = rollback ? "abort-rollback" : "abort";
      refuseUnless(rollout, action);
      const now = this.options.now();
      const back = rollback ? markRollback(this.options, rollout, actor) : undefined;
      const reason = back ? `aborted; ${describeRollback(back)}` : "aborted";
      this.store.updateRollout(id, { state: rolloutStep(rollout.state, action), reason, updated: now });
      recordEvent(this.options, {
        actor,
        kind: "rollout.aborted",
        subject: id,
        data: { rollback, sentBack: back?.sentBack ?? 0, notRolledBack: back?.impossible ?? [] },
      });
      this.deliver(id, dispatch, actor);
      return this.requireRollout(id);
    });
  }

  private transition(id: string, action: RolloutAction, actor: string, reason: string) {
    return this.run(() => {
      const rollout = this.requireRollout(id);
      refuseUnless(rollout, action);
      const to = rolloutStep(rollout.state, action);
      this.store.updateRollout(id, { state: to, reason, updated: this.options.now() });
      recordEvent(this.options, { actor, kind: `rollout.${to}`, subject: id, data: { reason } });
      return this.requireRollout(id);
    });
  }

  /** Counts over the waves started so far (`total`) and the current wave alone. */
  private activeStats(rollout: RolloutRecord): { total: WaveStats; current: WaveStats } {
    const counts = this.store.countDeploymentsOfRollout(rollout.id);
    return {
      total: waveStatsOfCounts(counts, (wave) => wave <= rollout.currentWave),
      current: waveStatsOfCounts(counts, (wave) => wave === rollout.currentWave),
    };
  }

  /** Every periodic decision for every running rollout: timeouts, halts, auto-advance, completion. */
  tick(): void {
    this.run((dispatch) => {
      for (const r of this.store.listRollouts({ states: RUNNING_ROLLOUT_STATES, limit: 10_000 }))
        this.evaluate(r.id, dispatch);
    });
  }

  /**
   * Evaluates the rollout at the end of the current run, still inside its transaction: a batch of
   * 500 failure reports then costs one evaluation, not 500. Only valid inside `run`.
   */
  evaluateLater(id: string): void {
    if (!this.current) throw new Error("evaluateLater outside RolloutEngine.run");
    this.toEvaluate.add(id);
  }

  evaluate(id: string, dispatch: Dispatch): void {
    const rollout = this.requireRollout(id);
    if (!isRunningRollout(rollout.state)) return;
    const now = this.options.now();
    this.expireOffline(rollout, now);
    this.expireStalled(rollout, now);
    const { total, current } = this.activeStats(rollout);
    if (thresholdCrossed(total, rollout.spec.failureThreshold, rollout.failureAllowance)) {
      this.halt(rollout, total.failed, dispatch);
      return;
    }
    const wave = rollout.spec.waves[rollout.currentWave]!;
    const last = rollout.currentWave === rollout.spec.waves.length - 1;
    // A rollout nobody has joined yet stays open for agents that register later.
    if (last && current.finished === current.members && total.members > 0) {
      const reason = total.failed > 0 ? `${total.failed} agent(s) failed` : null;
      this.store.updateRollout(id, { state: rolloutStep(rollout.state, "complete"), reason, updated: now });
      recordEvent(this.options, { actor: HUB_ACTOR, kind: "rollout.completed", subject: id, data: total });
    } else if (
      !last &&
      rollout.spec.autoAdvance &&
      mayAutoAdvance(current, wave, rollout.waveStartedAt, now)
    ) {
      this.startWave(rollout, rollout.currentWave + 1, HUB_ACTOR, dispatch);
      this.evaluate(id, dispatch);
    }
  }

  private halt(rollout: RolloutRecord, failed: number, dispatch: Dispatch): void {
    const auto = rollout.spec.autoRollback;
    const reason = `failure threshold (${describeThreshold(rollout.spec.failureThreshold)}) reached: ${failed} failed`;
    const back = auto ? markRollback(this.options, rollout, HUB_ACTOR) : undefined;
    this.store.updateRollout(rollout.id, {
      state: rolloutStep(rollout.state, auto ? "halt-rollback" : "halt"),
      reason: back ? `${reason}; ${describeRollback(back)}` : reason,
      updated: this.options.now(),
    });
    recordEvent(this.options, {
      actor: HUB_ACTOR,
      kind: "rollout.halted",
      subject: rollout.id,
      data: {
        reason,
        autoRollback: auto,
        sentBack: back?.sentBack ?? 0,
        notRolledBack: back?.impossible ?? [],
      },
    });
    if (auto) this.deliver(rollout.id, dispatch, HUB_ACTOR);
  }

  private expireStalled(rollout: RolloutRecord, now: number): void {
    const timeoutMs = this.options.progressTimeoutMs ?? DEFAULT_PROGRESS_TIMEOUT_MS;
    // Nothing was sent before the rollout existed; and a scan every tenth of the timeout (at most
    // every 10 s) is exact enough while a 10,000-agent rollout is not read every second.
    if (rollout.created > now - timeoutMs) return;
    if (now - (this.stalledScans.get(rollout.id) ?? 0) < Math.min(timeoutMs / 10, 10_000)) return;
    this.stalledScans.set(rollout.id, now);
    const stalled = this.store.listStalledDeployments({
      rolloutId: rollout.id,
      maxWave: rollout.currentWave,
      states: STALLED_DEPLOYMENT_STATES,
      updatedBefore: now - timeoutMs,
    });
    for (const d of stalled) {
      const error = `no progress or report from the agent for ${Math.round((now - d.updatedAt) / 1000)} s (progress timeout ${timeoutMs / 1000} s)`;
      const state = deploymentStep(d.state, "progress-timeout");
      this.store.updateDeployment(d.id, { state, error, updatedAt: now });
      recordEvent(this.options, {
        actor: HUB_ACTOR,
        kind: `deployment.${state}`,
        subject: d.id,
        data: { error, agentId: d.agentId, was: d.state },
      });
    }
  }

  private expireOffline(rollout: RolloutRecord, now: number): void {
    const { offlineTimeoutMs, channel } = this.options;
    // An agent's offline time counts from max(last seen, wave start): until the wave is older than
    // the timeout nobody can have timed out, and the tick need not ask the store at all.
    const seenBefore = now - offlineTimeoutMs;
    if (rollout.waveStartedAt > seenBefore) return;
    const stale = this.store.listStaleDeployments({
      rolloutId: rollout.id,
      maxWave: rollout.currentWave,
      states: DELIVERABLE_DEPLOYMENT_STATES,
      seenBefore,
    });
    for (const d of stale) {
      if (channel.isOnline(d.agentId)) continue;
      const since = Math.max(d.agentLastSeen, rollout.waveStartedAt);
      const error = `agent offline for ${Math.round((now - since) / 1000)} s (timeout ${offlineTimeoutMs / 1000} s)`;
      const state = deploymentStep(d.state, "offline-timeout");
      this.store.updateDeployment(d.id, { state, error, updatedAt: now });
      recordEvent(this.options, {
        actor: HUB_ACTOR,
        kind: `deployment.${state}`,
        subject: d.id,
        data: { error },
      });
    }
  }
}

/** A 409 naming the rollout's state and what the table allows from it, unless it allows `action`. */
function refuseUnless(rollout: RolloutRecord, action: RolloutAction): void {
  const refusal = rolloutRefusal(rollout.id, rollout.state, action);
  if (refusal !== undefined) throw new HubRequestError(409, refusal);
}
