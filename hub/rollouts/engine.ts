import { randomUUID } from "node:crypto";
import type { RolloutSpec } from "../../shared/api/bodies.js";
import { agoText } from "../ago-text.js";
import { HubRequestError } from "../errors.js";
import { ActiveRolloutConflict, type StoreOps } from "../store/async-store.js";
import { deploymentId } from "../store/deployment-id.js";
import { releaseById } from "../store/release-by-id.js";
import type {
  AgentRecord,
  DeploymentRecord,
  DeploymentState,
  ReleaseRecord,
  RolloutRecord,
} from "../store/store.js";
import {
  completedReason,
  describeThreshold,
  emptyCompletionReason,
  emptyWaveReason,
  HALT_REASON_START,
  haltFigures,
  isHaltReason,
  isWaitingReason,
  mayAutoAdvance,
  rejoinedHoldReason,
  stuckWaveReason,
  thresholdCrossed,
  type Untested,
  untestedCompletion,
  untestedWave,
  type WaveCount,
  type WaveStats,
  waveCountsOf,
  waveStats,
  waveStatsOfCounts,
} from "./accounting.js";
import { cancelUnsent } from "./cancel-unsent.js";
import { Dispatch, type EngineContext } from "./dispatch.js";
import {
  brokenOnRelease,
  claimedRelease,
  claimedReleaseApps,
  type ReleaseApps,
  settleInstalled,
} from "./found-installed.js";
import { type RestartHold, restartHold, unheardSinceStart } from "./heard-since-start.js";
import { latePauseText, refuseUnknownWave, type SeenWave, waveLabel } from "./late-pause.js";
import {
  isEligible,
  nobodyRefusal,
  placeAgents,
  planWaves,
  rolloutSeed,
  seedOf,
  wantsMember,
  waveOf,
} from "./membership.js";
import { OwnCommitEchoes } from "./own-commit-echoes.js";
import { pausedInWave } from "./paused-time.js";
import {
  broughtAgentToRelease,
  describeRollback,
  markRollback,
  owedRollbacks,
  type RollbackResult,
} from "./rollback-result.js";
import {
  ACTIVE_ROLLOUT_STATES,
  actionsText,
  DELIVERABLE_DEPLOYMENT_STATES,
  DEPLOYMENT_PLANNED,
  deploymentStep,
  isDeliverable,
  isFinalRollout,
  isRollbackDeliverable,
  isRunningRollout,
  nextDeploymentState,
  nextRolloutState,
  REDELIVERABLE_DEPLOYMENT_STATES,
  ROLLBACK_DELIVERABLE_STATES,
  ROLLBACK_ROLLOUT_STATES,
  ROLLBACK_TIMEOUT_STATES,
  ROLLOUT_START,
  type RolloutAction,
  RUNNING_ROLLOUT_STATES,
  rolloutRefusal,
  rolloutStep,
  STALLED_DEPLOYMENT_STATES,
} from "./states.js";
import { UnansweredSends } from "./unanswered-sends.js";
import { refuseUnseenFailures, timedOutWhilePaused } from "./unseen-failures.js";
import { recordUntestedPass, untestedPassLine } from "./untested-pass.js";
import { rolloutSummary, storedActionsNow } from "./view.js";
import { WokenDelivery } from "./wakeup-delivery.js";
import { rolloutWarnings, rolloutWarningsInTurns } from "./warnings.js";

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
  /** This hub's id in the `hubs` table (presence, tick claims); default a fresh random id. */
  hubId?: string;
  /**
   * Several hubs share the store: an agent connected to another hub is online although this hub
   * has no socket for it, so offline timeouts read the stored presence, not only the local sockets.
   */
  sharedPresence?: boolean;
  /**
   * From when timeouts count (default this engine's start). A cluster hub passes when the cluster
   * last came up: another hub heard the agents meanwhile, and a hub started later showed (and
   * decided) deadlines later than the others'.
   */
  startedAt?: number;
}

export const DEFAULT_PROGRESS_TIMEOUT_MS = 3_600_000;

/** What creating a rollout wrote, as its transaction committed it. */
export interface CreatedRollout {
  rollout: RolloutRecord;
  release: ReleaseRecord;
  /** Every deployment as inserted, in agent id order. */
  deployments: DeploymentRecord[];
  /** The agents the store showed online (on any hub) when the rollout was planned. */
  storedOnline: ReadonlySet<string>;
  /** What the preview warned of, as create found it (also in the `rollout.created` event). */
  warnings: string[];
}

/**
 * The rollout engine. Desired state lives in the store; every method derives what to do from it
 * and from stored timestamps, so a restarted hub with a new engine (or another hub of a cluster)
 * continues where it stopped. Every decision that depends on a rollout's state locks the rollout
 * row first (`lockRollout`), so two hubs, or two requests, cannot both act on the same state.
 */
export class RolloutEngine {
  /** When each rollout was last scanned for stalled deployments (a scan reads the whole rollout). */
  private readonly stalledScans = new Map<string, number>();
  /** When unanswered rollback instructions were last looked for (any rollout). */
  private rollbackScan = 0;
  readonly hubId: string;
  /**
   * When this engine started. While the hub was down it heard from no agent (no hello, no
   * progress), so neither timeout counts time before it: a hub back after a long stop does not
   * fail the agents that went on working meanwhile.
   */
  private readonly startedAt: number;
  /** Wake-ups' deliveries: the releases they send, read once, and what a failed one owes (wakeup-delivery.ts). */
  private readonly woken: WokenDelivery;
  private readonly unanswered = new UnansweredSends();
  /** What the wake-up of this hub's own creates still has to deliver (own-commit-echoes.ts). */
  private readonly echoes = new OwnCommitEchoes();

  constructor(readonly options: EngineOptions) {
    this.hubId = options.hubId ?? randomUUID();
    this.startedAt = options.startedAt ?? options.now();
    this.woken = new WokenDelivery(options.store);
  }

  get store() {
    return this.options.store;
  }

  /**
   * When an agent owed `rollout`'s release, offline now and last seen at `lastSeen`, counts as
   * failed if it stays away (the tick's offline timeout, counted as `expireOffline` counts it);
   * undefined while the rollout is not running (paused, nothing times out).
   */
  offlineDeadline(rollout: RolloutRecord): ((lastSeen: number) => number) | undefined {
    if (!isRunningRollout(rollout.state)) return undefined;
    const counted = Math.max(rollout.waveStartedAt, this.startedAt);
    return (lastSeen) => Math.max(lastSeen, counted) + this.options.offlineTimeoutMs;
  }

  /**
   * The agents whose silence since this hub started holds `rollout`'s auto-advance now, and when
   * that hold ends at the latest (heard-since-start.ts); undefined when none does.
   */
  async advanceHold(rollout: RolloutRecord, t: StoreOps = this.store): Promise<RestartHold | undefined> {
    if (!rollout.spec.autoAdvance || !isRunningRollout(rollout.state)) return undefined;
    if (rollout.currentWave >= rollout.spec.waves.length - 1) return undefined;
    return restartHold({
      t,
      rollout,
      channel: this.options.channel,
      startedAt: this.startedAt,
      now: this.options.now(),
      offlineTimeoutMs: this.options.offlineTimeoutMs,
      sharedPresence: this.options.sharedPresence ?? false,
    });
  }

  /**
   * Runs `fn` in one transaction (re-run from scratch when the store retries it), evaluates the
   * rollouts it asked for, and sends its instructions after the commit.
   */
  async run<T>(fn: (dispatch: Dispatch) => Promise<T>): Promise<T> {
    let dispatch: Dispatch | undefined;
    const value = await this.store.tx(async (t) => {
      const attempt = new Dispatch(this.options, t);
      dispatch = attempt;
      const result = await fn(attempt);
      for (const id of attempt.toEvaluate) await this.evaluate(id, attempt);
      await attempt.beforeCommit();
      return result;
    });
    dispatch?.flush();
    return value;
  }

  async requireRelease(id: string, t: StoreOps = this.store): Promise<ReleaseRecord> {
    const release = await releaseById(t, id);
    // Named as the field it came in (`rollout create --release` says it as its flag): "release x not
    // found" alone, a 404 on POST /rollouts, read as if the route were missing.
    if (!release)
      throw new HubRequestError(
        404,
        `body.release: no release ${JSON.stringify(id)} on this hub (GET /api/v1/releases lists them, as the dashboard's Releases page does)`,
      );
    return release;
  }

  /**
   * By id, or by a unique prefix of at least 4 characters (the dashboard shows 8), in either case
   * (a rollout stored with an upper-case id by an older hub is found too).
   */
  async requireRollout(id: string, t: StoreOps = this.store): Promise<RolloutRecord> {
    const rollout = await t.getRollout(id);
    if (rollout) return rollout;
    // Read by the store, its matches only (a few more than are named): every rollout of a hub that
    // kept years of them was read for each request that named one by a prefix.
    const matches = id.length >= 4 ? await t.findRollouts(id, AMBIGUOUS_NAMED + 1) : [];
    if (matches.length === 1) return matches[0] as RolloutRecord;
    if (matches.length > 1) {
      const named = matches.slice(0, AMBIGUOUS_NAMED).map((r) => r.id);
      const more = matches.length > AMBIGUOUS_NAMED ? ", and more" : "";
      throw new HubRequestError(409, `rollout id ${id} is ambiguous: ${named.join(", ")}${more}`);
    }
    // A short id is never looked up as a prefix: say so, or the operator hunts for a deleted rollout.
    throw new HubRequestError(
      404,
      id.length >= 4
        ? `rollout ${id} not found`
        : `rollout ${id} not found (a prefix needs at least 4 characters; \`rollout list\` shows the ids)`,
    );
  }

  /** The rollout locked for this transaction: what a decision reads must not change under it. */
  private async lockedRollout(id: string, t: StoreOps): Promise<RolloutRecord> {
    const rollout = await t.lockRollout(id);
    if (!rollout) throw new HubRequestError(404, `rollout ${id} not found`);
    return rollout;
  }

  /** Why `create` would refuse a rollout of `app` now (409): an active rollout of it holds its agents. */
  private async busyRefusal(app: string, t: StoreOps): Promise<string | undefined> {
    for (const busy of await t.listRollouts({ states: ACTIVE_ROLLOUT_STATES, limit: 10_000 }))
      if ((await t.getRelease(busy.releaseId))?.app === app)
        return `rollout ${busy.id} of ${app} is ${busy.state}; finish or abort it`;
    return undefined;
  }

  /** The split `create` gives for the same body while the same agents are registered. */
  async preview(spec: RolloutSpec) {
    const release = await this.requireRelease(spec.release);
    // The release's id as stored: the default seed, which the create that follows hashes with.
    const seed = rolloutSeed({ ...spec, release: release.id });
    const agents = await this.store.listAgents();
    const placed = placeAgents(seed, spec, release.app, agents);
    const nobody = nobodyRefusal(spec, release.app, agents, placed);
    const busy = await this.busyRefusal(release.app, this.store);
    return {
      rolloutId: canonicalRolloutId(spec.id ?? randomUUID()),
      seed,
      ...planWaves(seed, spec, release.app, agents),
      // What `create` would answer with 400 for this body: the dashboard says it and offers no Start.
      ...(nobody === undefined ? {} : { nobody }),
      // What `create` would answer with 409: another rollout of the app still holds it.
      ...(busy === undefined ? {} : { busy }),
      // What `create` would accept but the operator should know first (a downgrade).
      warnings: rolloutWarnings(
        release,
        agents,
        placed,
        spec,
        await claimedReleaseApps(this.store, release.app, agents),
        await forgottenNamed(this.store, spec, agents),
      ),
    };
  }

  async create(
    input: RolloutSpec,
    actor: string,
    rolloutId: string = input.id ?? randomUUID(),
  ): Promise<RolloutRecord> {
    return (await this.createWithDeployments(input, actor, rolloutId)).rollout;
  }

  /**
   * `create`, also handing back what its transaction wrote and read — the release, every deployment
   * as inserted (in agent id order), the agents the store showed online — so the API answers with
   * the new rollout's view without reading 10,000 rows back while its agents' hubs deliver.
   */
  async createWithDeployments(
    input: RolloutSpec,
    actor: string,
    requestedId: string = input.id ?? randomUUID(),
  ): Promise<CreatedRollout> {
    const rolloutId = canonicalRolloutId(requestedId);
    // The release as stored names it (a release never changes): the default seed hashes with it.
    const releaseId = (await releaseById(this.store, input.release))?.id ?? input.release;
    // The seed is stored with the rollout: agents joining later hash with the one the preview used.
    const spec: RolloutSpec = {
      ...input,
      release: releaseId,
      ...(input.id === undefined ? {} : { id: rolloutId }),
      seed: rolloutSeed({ ...input, release: releaseId }),
    };
    try {
      return await this.run(async (dispatch) => {
        const { t } = dispatch;
        const release = await this.requireRelease(spec.release, t);
        if (await t.getRollout(rolloutId)) throw new HubRequestError(409, `rollout ${rolloutId} exists`);
        // A friendlier message than the store's conflict, which still decides when two race.
        const busy = await this.busyRefusal(release.app, t);
        if (busy !== undefined) throw new HubRequestError(409, busy);
        // Every agent whose hello is in flight is read, and every later hello finds this rollout.
        await t.lockFleet("plan");
        const agents = await t.listAgents();
        const seed = rolloutSeed(spec);
        const waves = placeAgents(seed, spec, release.app, agents);
        const nobody = nobodyRefusal(spec, release.app, agents, waves);
        if (nobody !== undefined) throw new HubRequestError(400, nobody);
        // Read once for the warnings and every deployment's plan: one rule for who runs it already.
        const releaseApps = await claimedReleaseApps(t, release.app, agents);
        const forgotten = await forgottenNamed(t, spec, agents);
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
        await t.insertRollout(rollout);
        // Its agents' instruction is this release: serialized from the record in hand, not read again.
        dispatch.useRelease(release);
        // Thousands of agents run a handful of versions: one release lookup per version.
        const byVersion = new Map<string, Promise<string | null>>();
        const history = {};
        const planned: DeploymentRecord[] = [];
        for (const agent of agents) {
          const wave = waves.get(agent.id);
          if (wave !== undefined)
            planned.push(
              await this.deploymentOf(t, rollout, release, agent, wave, releaseApps, byVersion, history),
            );
        }
        // Written in chunks: the first wave's agents connected to this hub already `sent` (they are
        // sent their instruction after commit), the others `pending` for their hub or their hello.
        // Hosts planned failed (broken on the release already) that cross the threshold halt it
        // before anyone is sent anything: its first wave then waits, pending, for a resume.
        const first = planned.filter((d) => d.wave <= rollout.currentWave);
        const halts = thresholdCrossed(waveStats(first), spec.failureThreshold, 0);
        const due = (d: DeploymentRecord) => !halts && d.wave <= rollout.currentWave;
        let warnings: string[] = [];
        // While the database inserts the rows that write no event (tens of ms of this hub's CPU for
        // 10,000 agents, the first create of a hub most): the created event is written before the
        // `sent` rows' events all the same.
        const deployments = await dispatch.insertNew(planned, actor, due, async () => {
          warnings = await rolloutWarningsInTurns(release, agents, waves, spec, releaseApps, forgotten);
          dispatch.record({
            actor,
            kind: "rollout.created",
            subject: rollout.id,
            data: {
              release: release.id,
              app: release.app,
              version: release.version,
              agents: planned.length,
              ...(warnings.length > 0 ? { warnings } : {}),
            },
          });
        });
        // In a cluster this commit's NOTIFY wakes this hub too: it need only deliver the due rows
        // left pending here (their agents were not connected to this hub when inserted).
        if (this.options.sharedPresence)
          this.echoes.expect(
            rollout.id,
            new Set(
              deployments
                .filter((d) => due(d) && nextDeploymentState(d.state, "send") !== undefined)
                .map((d) => d.agentId),
            ),
          );
        // Nothing in a new rollout's evaluation touches its deployments: no wave is old enough for
        // a timeout, and no report or failure exists yet. It may complete the rollout (every agent
        // already on the release), so the rollout is read back. Its counts are the rows just
        // inserted: counting them again cost the database tens of ms before the commit.
        await this.evaluate(rollout.id, dispatch, false, undefined, waveCountsOf(deployments));
        return {
          rollout: await this.requireRollout(rollout.id, t),
          release,
          deployments,
          storedOnline: new Set(agents.filter((a) => a.online).map((a) => a.id)),
          warnings,
        };
      });
    } catch (error) {
      this.echoes.forget(rolloutId);
      // Another request (or hub) started a rollout of this app between the check and the insert.
      if (error instanceof ActiveRolloutConflict)
        throw new HubRequestError(409, `${error.message}; finish or abort it`);
      throw error;
    }
  }

  /**
   * Puts an agent that registers mid-rollout in its wave; false when it is not eligible or already
   * enrolled. Nobody enrolled moves; a percent wave not yet passed that is still empty (the rollout
   * had no agents when it started, or every one was forgotten or no longer fits) takes this agent, as
   * `placeAgents` would have.
   */
  async enroll(
    t: StoreOps,
    rollout: RolloutRecord,
    release: ReleaseRecord,
    agent: AgentRecord,
  ): Promise<boolean> {
    if (!isEligible(rollout.spec, release.app, agent)) return false;
    if (await t.getDeployment(`${rollout.id}:${agent.id}`)) return false;
    const spec = rollout.spec;
    let wave = waveOf(seedOf(rollout), spec, agent.id, agent.labels);
    if (wave === undefined || spec.waves[wave]?.percent !== undefined) {
      // A wave whose agents were all forgotten or no longer fit tested nothing: it is held waiting
      // for a member, so it takes this one rather than a later wave getting it untested.
      const counts = await t.countDeploymentsOfRollout(rollout.id);
      const filled = new Set(
        counts.map((c) => c.wave).filter((w) => waveStatsOfCounts(counts, (x) => x === w).members > 0),
      );
      for (let i = rollout.currentWave; i < (wave ?? spec.waves.length); i++)
        if (wantsMember(spec, i) && !filled.has(i)) {
          wave = i;
          break;
        }
    }
    if (wave === undefined) return false;
    const releaseApps = await claimedReleaseApps(t, release.app, [agent]);
    return t.insertDeployment(await this.deploymentOf(t, rollout, release, agent, wave, releaseApps));
  }

  /**
   * The release the agent runs now, as the hub knows it: the id the agent announced, else the
   * hub's release of the version it runs (one release per app and version), so a rollback target
   * is known even when the agent installed it by itself or rolled back to it locally. The id
   * counts only as `runsRelease` counts it (`claimedRelease`): it is the one rule, so the plan
   * and the warnings agree on who runs a release already.
   */
  private async installedRelease(
    t: StoreOps,
    app: string,
    agent: AgentRecord,
    releaseApps: ReleaseApps,
    byVersion?: Map<string, Promise<string | null>>,
  ): Promise<string | null> {
    const status = agent.apps.find((a) => a.app === app);
    const claimed = claimedRelease(status, app, releaseApps);
    if (claimed !== undefined) return claimed;
    const version = status?.version;
    if (!version) return null;
    const lookup = async () => (await t.findRelease(app, version))?.id ?? null;
    if (!byVersion) return lookup();
    if (!byVersion.has(version)) byVersion.set(version, lookup());
    return byVersion.get(version) ?? null;
  }

  /**
   * For agents that already run `release`: the release each ran before an earlier rollout of the
   * same release updated it (the newest such deployment that brought it there:
   * `broughtAgentToRelease`; one an aborted rollout never sent names what the agent ran when it was
   * planned, maybe a release it left long before). Read once per create, and only when an agent
   * already runs the release: taking a bad release back (abort --rollback, auto-rollback) must
   * reach the hosts an earlier, aborted rollout of it updated, not call them unknown.
   */
  private async earlierPrevious(t: StoreOps, rollout: RolloutRecord, release: ReleaseRecord) {
    const before = new Map<string, { release: string; at: number }>();
    // The store reads this release's rollouts only, where every rollout of the hub (the newest
    // 100,000) was read per create to keep a handful: on a hub that kept more, the one that brought
    // a host to the release fell past the cut and the host's rollback target read as unknown. The
    // limit bounds one release's rollouts (one at a time per app: never near it).
    const earlier = (await t.listRollouts({ releaseId: release.id, limit: 10_000 })).filter(
      (r) => r.id !== rollout.id,
    );
    for (const r of earlier)
      for (const d of await t.listDeployments({ rolloutId: r.id })) {
        if (d.previousRelease === null || d.previousRelease === release.id || !broughtAgentToRelease(d))
          continue;
        const known = before.get(d.agentId);
        if (!known || d.updatedAt > known.at)
          before.set(d.agentId, { release: d.previousRelease, at: d.updatedAt });
      }
    return new Map([...before].map(([agentId, b]) => [agentId, b.release]));
  }

  /** The deployment an agent gets in a wave of a rollout. */
  private async deploymentOf(
    t: StoreOps,
    rollout: RolloutRecord,
    release: ReleaseRecord,
    agent: AgentRecord,
    wave: number,
    releaseApps: ReleaseApps,
    byVersion?: Map<string, Promise<string | null>>,
    history: { previous?: Promise<Map<string, string>> } = {},
  ): Promise<DeploymentRecord> {
    const current = await this.installedRelease(t, release.app, agent, releaseApps, byVersion);
    let previous = current === release.id ? null : current;
    if (current === release.id) {
      history.previous ??= this.earlierPrevious(t, rollout, release);
      previous = (await history.previous).get(agent.id) ?? null;
    }
    // An agent already on the release has nothing to do, unless its last run of it failed.
    const broken = current === release.id ? brokenOnRelease(agent.apps, release, releaseApps) : undefined;
    return {
      id: deploymentId(rollout.id, agent.id),
      rolloutId: rollout.id,
      agentId: agent.id,
      wave,
      desiredRelease: release.id,
      previousRelease: previous,
      state:
        current !== release.id
          ? DEPLOYMENT_PLANNED.toInstall
          : broken === undefined
            ? DEPLOYMENT_PLANNED.alreadyThere
            : DEPLOYMENT_PLANNED.brokenThere,
      attempts: 0,
      updatedAt: this.options.now(),
      error: broken ?? null,
    };
  }

  /**
   * The rollout's deployments in `states` of the agents connected to THIS hub, read by their ids:
   * each hub of a cluster reads its own agents' rows, never every row of the rollout.
   */
  private async ownDeployments(
    t: StoreOps,
    rolloutId: string,
    states: readonly DeploymentState[],
  ): Promise<DeploymentRecord[]> {
    const agentIds = this.options.channel.connectedAgentIds();
    if (agentIds.length === 0 || states.length === 0) return [];
    return t.listDeploymentsOfAgents({ rolloutId, agentIds, states });
  }

  /** Queues every instruction the rollout's agents connected to this hub should have now. */
  async deliver(rollout: RolloutRecord, dispatch: Dispatch, actor: string): Promise<void> {
    const running = isRunningRollout(rollout.state);
    const states = [...ROLLBACK_DELIVERABLE_STATES, ...(running ? DELIVERABLE_DEPLOYMENT_STATES : [])];
    const rollbacks: DeploymentRecord[] = [];
    for (const d of await this.ownDeployments(dispatch.t, rollout.id, states)) {
      if (isRollbackDeliverable(d.state)) rollbacks.push(d);
      else if (running && d.wave <= rollout.currentWave && isDeliverable(d.state))
        dispatch.deployment(d, actor);
    }
    for (const d of await owedRollbacks(dispatch, rollout, rollbacks, actor)) dispatch.deployment(d, actor);
  }

  /**
   * A timed-out deployment is still owed the release: while its rollout runs and its wave has
   * started, it is made due again (`redeliver`: pending) when its agent is back — on its hello, or
   * when an operator resumes the rollout while the agent is connected — and is then sent like any
   * due one. `rollout` is the caller's record, locked in this transaction (its failure allowance
   * is adjusted here): a timeout an operator accepted by resuming stops being a failure once
   * retried, so it leaves the allowance, and the agent failing again counts like any new failure.
   */
  async retryTimedOut(
    rollout: RolloutRecord,
    ds: readonly DeploymentRecord[],
    dispatch: Dispatch,
    actor: string,
  ): Promise<void> {
    if (!isRunningRollout(rollout.state)) return;
    const due = ds.filter((d) => d.rolloutId === rollout.id && d.wave <= rollout.currentWave);
    // One already on the release (installed while the hub counted it as timed out) is done, not resent.
    const { installed, toSend } = await settleInstalled(dispatch, due, actor);
    await this.unaccept(dispatch, rollout, [...installed, ...(await dispatch.redeliver(toSend, actor))]);
  }

  /** `retryTimedOut` for every timed-out deployment of `rollout` whose agent is connected (to any hub). */
  private async retryConnected(rollout: RolloutRecord, dispatch: Dispatch, actor: string): Promise<void> {
    const { t } = dispatch;
    const timedOut = await timedOutDeployments(t, rollout);
    const { channel } = this.options;
    // Connected to another hub of the cluster: that hub sends it on the wake-up of this change.
    const away = timedOut.filter((d) => !channel.isOnline(d.agentId)).map((d) => d.agentId);
    const elsewhere = new Set(
      this.options.sharedPresence && away.length > 0
        ? (await t.getAgents([...new Set(away)])).filter((a) => a.online).map((a) => a.id)
        : [],
    );
    const connected = timedOut.filter((d) => channel.isOnline(d.agentId) || elsewhere.has(d.agentId));
    await this.retryTimedOut(rollout, connected, dispatch, actor);
  }

  /**
   * The resync's share of `retryTimedOut`: timed-out deployments of a running rollout whose agent
   * said hello to THIS hub after it timed out. Its hello retries it, unless the hello read the
   * rollout while it was paused and the resume that followed read the agent as still away (two
   * hubs, or two transactions, at once): then nothing else would ever send it. An agent that
   * timed out while connected (no progress) is not retried here: its hello came before the
   * timeout, and re-sending every few seconds would keep its wave from ever finishing.
   */
  private async retryReturned(listed: RolloutRecord, dispatch: Dispatch): Promise<number> {
    const { t } = dispatch;
    const here = (await timedOutDeployments(t, listed)).filter((d) =>
      this.options.channel.isOnline(d.agentId),
    );
    const agents =
      here.length === 0
        ? new Map<string, AgentRecord>()
        : new Map((await t.getAgents([...new Set(here.map((d) => d.agentId))])).map((a) => [a.id, a]));
    const returned = here.filter((d) => {
      const agent = agents.get(d.agentId);
      return agent?.online === true && agent.lastSeen >= d.updatedAt;
    });
    if (returned.length === 0) return 0;
    // Locked (and read again): the retry may lower its failure allowance.
    const rollout = await t.lockRollout(listed.id);
    if (!rollout) return 0;
    await this.retryTimedOut(rollout, returned, dispatch, HUB_ACTOR);
    return returned.length;
  }

  /**
   * `left`: deployments of `rollout` (as they were) that were failed and are sent again now, or no
   * longer count (their agent left the app: not applicable). Those
   * that already failed when the operator last resumed were accepted then; the allowance drops by
   * as many, so it covers only failures still there.
   */
  async unaccept(dispatch: Dispatch, rollout: RolloutRecord, left: readonly DeploymentRecord[]) {
    if (left.length === 0 || rollout.failureAllowance === 0) return;
    const { t } = dispatch;
    // The newest resume that accepted failures (after a halt), asked by kind: the rollout's other
    // events may be thousands. A resume after a pause by hand accepted none: a failure before it
    // counted, and read as accepted it took one of the halt's out of the allowance.
    const resumes = await t.listEvents({ subject: rollout.id, kinds: ["rollout.resumed"], limit: 100 });
    const resumedAt = resumes.find((e) => acceptedSome(e.data))?.at;
    if (resumedAt === undefined) return;
    const accepted = left.filter((d) => d.updatedAt <= resumedAt).length;
    if (accepted === 0) return;
    const failureAllowance = Math.max(0, rollout.failureAllowance - accepted);
    rollout.failureAllowance = failureAllowance;
    await t.updateRollout(rollout.id, { failureAllowance, updated: this.options.now() });
  }

  /**
   * Due `pending` deployments (and, for a named rollout, `rollback_pending` ones) of the agents
   * connected to THIS hub: marked sent and sent, idempotently, so any hub may call it at any time.
   * It is what a cluster's wake-up (LISTEN/NOTIFY on a rollout-level change committed by another
   * hub) and its periodic resync call; on one hub the engine delivers directly and this is a no-op.
   * Without `rolloutId` every running rollout is looked at, and rollback instructions are left to
   * the wake-up and to hello (re-sending them every resync would repeat them to every agent).
   * Only this hub's agents' rows are touched: the due ones of a running rollout are marked sent by
   * their agents' ids in one statement that returns them (`markDueDeploymentsSent`, no read
   * first); rollback instructions are read (`ownDeployments`) only for a rollout in a state a
   * rollback leads to, never for a running one.
   */
  async deliverPending(rolloutId?: string, only?: ReadonlySet<string>): Promise<number> {
    if (rolloutId !== undefined) return this.deliverWoken(rolloutId, only);
    let sent = 0;
    await this.run(async (dispatch) => {
      const { t } = dispatch;
      const agentIds = this.options.channel.connectedAgentIds();
      if (agentIds.length === 0) return;
      // The resync: every running rollout's due updates (rollbacks are left to wake-ups and hello).
      for (const rollout of await t.listRollouts({ states: RUNNING_ROLLOUT_STATES, limit: 10_000 })) {
        const [marked] = await Promise.all([
          dispatch.markDueSent(rollout.id, agentIds, HUB_ACTOR),
          dispatch.prepareRelease(rollout.releaseId),
        ]);
        sent += marked;
        sent += await this.retryReturned(rollout, dispatch);
        // Marked sent by a statement whose answer was lost: nothing carried them.
        sent += await this.unanswered.resend(dispatch, rollout, HUB_ACTOR);
      }
    });
    return sent;
  }

  /**
   * Called once per notification for `rolloutId` heard by this hub: the agents its delivery may be
   * limited to when it is the echo of this hub's own create (own-commit-echoes.ts), else undefined.
   */
  echoOf(rolloutId: string): ReadonlySet<string> | undefined {
    return this.echoes.take(rolloutId);
  }

  /**
   * A wake-up's delivery (wakeup-delivery.ts: one autocommitted statement per chunk of agents,
   * each chunk sent once its statement returned). The rollout is read alongside, on another
   * connection, only to see whether a rollback left it owing rollback instructions: those are
   * read and sent in a transaction, as before, since they are rare and never on a wave's path.
   * `only`: the echo of this hub's own create (echoOf), delivered to those of its agents alone; a
   * create leaves no rollback owed, so the rollout is not read.
   */
  private async deliverWoken(rolloutId: string, only?: ReadonlySet<string>): Promise<number> {
    const connected = this.options.channel.connectedAgentIds();
    const agentIds = only === undefined ? connected : connected.filter((id) => only.has(id));
    if (agentIds.length === 0) return 0;
    if (only !== undefined) return this.woken.deliver(this.options, rolloutId, agentIds, HUB_ACTOR);
    const reading = this.store.getRollout(rolloutId);
    reading.catch(() => undefined);
    let sent = await this.woken.deliver(this.options, rolloutId, agentIds, HUB_ACTOR);
    const read = await reading;
    if (!read || !ROLLBACK_ROLLOUT_STATES.includes(read.state)) return sent;
    await this.run(async (dispatch) => {
      const rollout = await dispatch.t.getRollout(rolloutId);
      if (!rollout || !ROLLBACK_ROLLOUT_STATES.includes(rollout.state)) return;
      const rollbacks = await this.ownDeployments(dispatch.t, rollout.id, ROLLBACK_DELIVERABLE_STATES);
      for (const d of await owedRollbacks(dispatch, rollout, rollbacks, HUB_ACTOR)) {
        dispatch.deployment(d, HUB_ACTOR);
        sent++;
      }
    });
    return sent;
  }

  /**
   * Starts the next wave. `expectedWave` is the wave the caller saw before asking: when the
   * rollout moved on meanwhile (another request or hub advanced it), this one is refused rather
   * than skipping a wave nobody looked at. `decidedAt` (hub clock) is when the caller decided: a
   * wave that started after it is one the caller never saw, even if it read that wave since.
   */
  async advance(
    id: string,
    actor: string,
    expectedWave?: number,
    decidedAt?: number,
  ): Promise<{ rollout: RolloutRecord; untested: string | undefined }> {
    const seen = expectedWave ?? (await this.requireRollout(id)).currentWave;
    return this.run(async (dispatch) => {
      const rollout = await this.lockedRollout(id, dispatch.t);
      await refuseUnless(dispatch.t, rollout, "advance", this.options.now());
      // Numbered as `rollout show` numbers them (the CLI's --from-wave); the API counts from 0.
      refuseUnknownWave(rollout, seen);
      if (rollout.currentWave !== seen)
        throw new HubRequestError(
          409,
          `rollout ${id} already moved from ${waveLabel(rollout, seen)} to ${waveLabel(rollout, rollout.currentWave)} (advanced by another request or by itself); look at it and advance again if you mean to`,
        );
      if (decidedAt !== undefined && rollout.waveStartedAt > decidedAt)
        throw new HubRequestError(
          409,
          `rollout ${id} entered ${waveLabel(rollout, rollout.currentWave)} ${((this.options.now() - rollout.waveStartedAt) / 1000).toFixed(1)} s ago, after this advance was decided (advanced by another request or by itself); look at it and advance again if you mean to`,
        );
      if (rollout.currentWave >= rollout.spec.waves.length - 1)
        throw new HubRequestError(
          409,
          `rollout ${id} is in its last wave, ${waveLabel(rollout, rollout.currentWave)}: there is no next wave to advance to; it completes once its agents finish (allowed now: ${actionsText(await storedActionsNow(dispatch.t, rollout))})`,
        );
      const untested = await this.startWave(rollout, rollout.currentWave + 1, actor, dispatch);
      // Moving on does not write off the agents that timed out so far: those connected again are
      // retried, as on resume (an operator's advance is the other way a halted canary goes on).
      await this.retryConnected({ ...rollout, currentWave: rollout.currentWave + 1 }, dispatch, actor);
      await this.evaluate(id, dispatch);
      return { rollout: await this.requireRollout(id, dispatch.t), untested };
    });
  }

  /**
   * Leaves the current wave for `wave`. When an operator passes a wave that tested nothing (the hub
   * holds such a wave for them: `emptyWaveReason`), the audit log says who did (a wave that held no
   * agent: `rollout.wave_empty`; one whose agents all tested nothing: `rollout.wave_untested`) and
   * the line saying so is returned for the API's answer.
   */
  private async startWave(
    rollout: RolloutRecord,
    wave: number,
    actor: string,
    dispatch: Dispatch,
  ): Promise<string | undefined> {
    const { t } = dispatch;
    const now = this.options.now();
    const left = rollout.currentWave;
    const counts = await t.countDeploymentsOfRollout(rollout.id);
    // Agents that no longer fit the rollout (not applicable) tested nothing: the wave held nobody.
    const held = waveStatsOfCounts(counts, (w) => w === left);
    const after = waveStatsOfCounts(counts, (w) => w > left);
    const untested = untestedWave(held, rollout.spec.waves[left]!, left, after.members - after.finished);
    if (held.members === 0) this.recordEmptyWave(rollout, left, actor, dispatch, held);
    // A reason of the wave it leaves (why it waited for an operator) no longer holds.
    await t.updateRollout(rollout.id, { currentWave: wave, waveStartedAt: now, reason: null, updated: now });
    dispatch.record({
      actor,
      kind: "rollout.advanced",
      subject: rollout.id,
      data: { wave, name: rollout.spec.waves[wave]?.name },
    });
    // NOTIFY: a cluster wakes the other hubs here (their agents of this wave), on commit.
    await this.deliver({ ...rollout, currentWave: wave, waveStartedAt: now }, dispatch, actor);
    if (untested === undefined) return undefined;
    // The hub never passes such a wave by itself; the empty one's own event names the actor already.
    if (held.members === 0) return untestedPassLine("passed", actor, untested);
    return recordUntestedPass(dispatch, rollout, left, actor, "passed", untested);
  }

  /** A wave passed (or, the last one, completed) with no agent in it: said, never silent. */
  private recordEmptyWave(
    rollout: RolloutRecord,
    wave: number,
    actor: string,
    dispatch: Dispatch,
    leftOut: Pick<WaveStats, "notApplicable" | "forgotten"> = { notApplicable: 0, forgotten: 0 },
  ): void {
    const last = wave === rollout.spec.waves.length - 1;
    const planned = leftOut.notApplicable + leftOut.forgotten;
    const why = [
      ...(leftOut.notApplicable > 0
        ? [`its ${leftOut.notApplicable} agent(s) no longer fit the rollout: not applicable`]
        : []),
      ...(leftOut.forgotten > 0
        ? [`its ${leftOut.forgotten} agent(s) were forgotten by an operator: \`ship-hub agents forget\``]
        : []),
    ];
    const held = planned === 0 ? "held no agent" : `held no agent that takes part (${why.join("; ")})`;
    dispatch.record({
      actor,
      kind: "rollout.wave_empty",
      subject: rollout.id,
      data: {
        wave,
        name: rollout.spec.waves[wave]?.name,
        message: last
          ? `the last wave ${held}${planned === 0 ? ": the earlier waves took every agent of the rollout" : ""}`
          : `this wave ${held}: nothing was tested in it before the next wave started`,
      },
    });
  }

  /**
   * `seen`: the wave the caller decided in. A pause that lands after the rollout left it still
   * pauses, and `late` says which wave it stopped and that its agents already had the release.
   */
  async pause(
    id: string,
    actor: string,
    seen: SeenWave = {},
  ): Promise<{ rollout: RolloutRecord; late: string | undefined }> {
    return this.run(async (dispatch) => {
      const { t } = dispatch;
      const rollout = await this.lockedRollout(id, t);
      await refuseUnless(t, rollout, "pause", this.options.now());
      const late = latePauseText(rollout, seen, await t.countDeploymentsOfRollout(id));
      const reason = late === undefined ? "paused by an operator" : `paused by an operator ${late}`;
      await t.updateRollout(id, {
        state: rolloutStep(rollout.state, "pause"),
        reason,
        updated: this.options.now(),
      });
      dispatch.record({ actor, kind: "rollout.paused", subject: id, data: { reason } });
      return { rollout: await this.requireRollout(id, t), late };
    });
  }

  /** `failedSeen`: the failures the caller saw and accepts; more than that is a 409 (see refuseUnseenFailures). */
  async resume(
    id: string,
    actor: string,
    failedSeen?: number,
  ): Promise<{
    rollout: RolloutRecord;
    untested: string | undefined;
    timedOut: string | undefined;
    /** The failures this resume accepted (the allowance): not those of a wave it started. */
    acceptedFailures: number;
    /** The failures of the waves started when it resumed, accepted (after a halt) or still counted. */
    failedBefore: number;
  }> {
    return this.run(async (dispatch) => {
      const { t } = dispatch;
      const rollout = await this.lockedRollout(id, t);
      await refuseUnless(dispatch.t, rollout, "resume", this.options.now());
      const now = this.options.now();
      const state = rolloutStep(rollout.state, "resume");
      // Only a halt's failures are accepted: the operator resumes past the threshold the hub stopped
      // on. A pause by hand (to look) stopped on nothing, and its resume forgives nothing: it used to
      // accept every failure so far, so a count threshold of 2 let a third failure through.
      const halted = isHaltReason(rollout.reason);
      // The failures every view shows, before the timeouts below: no view shows those while the
      // rollout stands paused, so a caller's `failedSeen` could never count them (the dashboard's
      // Resume, which always sends it, was refused for ever).
      if (halted) refuseUnseenFailures(rollout, await t.countDeploymentsOfRollout(id), failedSeen);
      // Written at commit, so its figure can be filled in below while it stays first in the log.
      const resumed = { acceptedFailures: 0 };
      dispatch.record({ actor, kind: "rollout.resumed", subject: id, data: resumed });
      // While paused nothing timed out (only a running rollout is evaluated): timeouts that fell
      // due meanwhile are failures so far, accepted with the others, not a new halt right after.
      const expired = [
        ...(await this.expireOffline(t, dispatch, rollout, now)),
        ...(await this.expireStalled(t, dispatch, rollout, now, true)),
      ];
      // Timed-out agents connected again are due again: they are retried, not accepted (the
      // allowance this may lower is set anew just below).
      await this.retryConnected({ ...rollout, state }, dispatch, actor);
      const timedOut = await timedOutWhilePaused(t, expired, halted);
      // After a halt the failures so far are accepted; only new ones count toward the threshold.
      // Otherwise the allowance stays as it was (an earlier halt's, less those no failures now).
      const failed = (await this.activeStats(t, rollout)).total.failed;
      const accepted = halted ? failed : 0;
      resumed.acceptedFailures = accepted;
      await t.updateRollout(id, {
        state,
        reason: null,
        ...(halted ? { failureAllowance: failed } : {}),
        updated: now,
      });
      // NOTIFY: a cluster wakes the other hubs here, on commit.
      await this.deliver({ ...rollout, state }, dispatch, actor);
      // Paused with a waiting reason only by `holdEmpty`: resuming accepts the empty last wave,
      // which completes the rollout with nothing tested in it, as `emptyCompletionReason` says.
      const completesHold = isWaitingReason(rollout.reason);
      const hold = completesHold ? await this.emptyCompletion(t, rollout) : undefined;
      await this.evaluate(id, dispatch, completesHold);
      const after = await this.requireRollout(id, t);
      const untested =
        hold !== undefined && isFinalRollout(after.state)
          ? recordUntestedPass(dispatch, rollout, rollout.currentWave, actor, "completed as it is", hold)
          : undefined;
      return { rollout: after, untested, timedOut, acceptedFailures: accepted, failedBefore: failed };
    });
  }

  /**
   * `seen`: the wave the caller decided in, as for pause: an abort that lands after the rollout
   * left it still aborts, and `late` says which wave it stopped and who already had the release.
   */
  async abort(
    id: string,
    actor: string,
    rollback: boolean,
    seen: SeenWave = {},
  ): Promise<{ rollout: RolloutRecord; late: string | undefined }> {
    return this.run(async (dispatch) => {
      const { t } = dispatch;
      const rollout = await this.lockedRollout(id, t);
      const action = rollback ? "abort-rollback" : "abort";
      await refuseUnless(dispatch.t, rollout, action, this.options.now());
      // Read before the rollback marks change the counts: who was sent the release when it landed.
      const late = latePauseText(rollout, seen, await t.countDeploymentsOfRollout(id), "abort");
      const state = rolloutStep(rollout.state, action);
      const now = this.options.now();
      const back = rollback ? await markRollback(dispatch, rollout, actor) : undefined;
      // With nobody it could send back this is no rollback: on a finished rollout the stored reason
      // ("rollback sent to 3 agent(s)") must not turn into a "sent to 0" that hides it, and an
      // active one is ended by a plain abort. The views offer it by the same rule
      // (`actionsNow`).
      // Agents it finds impossible to send back, or taken over by a later rollout, are news the
      // reason must carry (and marks that stop offering it again), not a refusal.
      const nothingNew =
        back !== undefined &&
        back.impossible.length + (back.overtaken?.length ?? 0) + (back.forgotten?.length ?? 0) === 0;
      if (back && back.sentBack === 0 && nothingNew) {
        // The reason as the views read it now: the stored one still said "rollback queued … sent
        // when they reconnect: u1" of an agent an operator forgot since, as if it were on its way.
        const summary = isFinalRollout(rollout.state) ? await rolloutSummary(t, rollout) : undefined;
        const causes =
          (summary?.counts.forgotten ?? 0) > 0
            ? "sent back already, never updated by it, found impossible to send back by an earlier rollback, or forgotten by an operator (`ship-hub agents forget`: sent back if it rejoins)"
            : "sent back already, never updated by it, or found impossible to send back by an earlier rollback";
        throw new HubRequestError(
          409,
          summary
            ? `rollout ${id} is ${rollout.state} and has nothing to roll back: each of its agents was ${causes} (${summary.reason ?? rollout.state})`
            : `rollout ${id} is ${rollout.state} and has nothing to roll back: none of its agents was sent the release or left on it; abort it without rollback to end it`,
        );
      }
      const aborted = late === undefined ? "aborted" : `aborted ${late}`;
      const reason = back ? `${aborted}; ${describeRollback(back)}` : aborted;
      await t.updateRollout(id, { state, reason, updated: now });
      const cancelled = await cancelUnsent(dispatch, rollout, state, actor);
      dispatch.record({
        actor,
        kind: "rollout.aborted",
        subject: id,
        data: {
          rollback,
          sentBack: back?.sentBack ?? 0,
          // Of those, the agents connected to no hub: their instruction goes out on their hello.
          ...(back?.queued?.length ? { queuedOffline: back.queued } : {}),
          notRolledBack: notReached(back),
          cancelled,
        },
      });
      // NOTIFY: a cluster wakes the other hubs here (rollback instructions), on commit.
      await this.deliver({ ...rollout, state }, dispatch, actor);
      return { rollout: await this.requireRollout(id, t), late };
    });
  }

  /** Counts over the waves started so far (`total`) and the current wave alone. */
  private async activeStats(
    t: StoreOps,
    rollout: RolloutRecord,
    known?: readonly WaveCount[],
  ): Promise<{ total: WaveStats; current: WaveStats; later: number }> {
    const counts = known ?? (await t.countDeploymentsOfRollout(rollout.id));
    // The later waves' agents still to be sent the release (those found on it already are not).
    const after = waveStatsOfCounts(counts, (wave) => wave > rollout.currentWave);
    return {
      total: waveStatsOfCounts(counts, (wave) => wave <= rollout.currentWave),
      current: waveStatsOfCounts(counts, (wave) => wave === rollout.currentWave),
      later: after.members - after.finished,
    };
  }

  /**
   * Every periodic decision for every running rollout: timeouts, halts, auto-advance, completion.
   * `at` (ms, the engine's clock): the moment judged, when the hub's timer fired after reading its
   * input; by default now.
   */
  async tick(at?: number): Promise<void> {
    await this.run((dispatch) => this.tickWork(dispatch, at));
  }

  /**
   * The tick as a hub's timer runs it: only when this hub claims it (`claimTick`, in the same
   * transaction as the work), so across a cluster it runs once per interval, and a hub killed
   * midway rolls its tick back for the next hub. `silentBefore`: agents of hubs whose heartbeat is
   * older are released (marked offline) first. False when another hub holds it or it is not due.
   */
  async claimedTick(intervalMs: number, silentBefore?: number, at?: number): Promise<boolean> {
    return this.run(async (dispatch) => {
      const { t } = dispatch;
      // As of when the timer fired: a claim read later (after the input was applied, the cut-off
      // read) would call a tick late that another hub's timer could still have claimed in time.
      if (!(await t.claimTick("engine", this.hubId, at ?? this.options.now(), intervalMs))) return false;
      if (silentBefore !== undefined)
        for (const agentId of await t.releaseSilentHubs(silentBefore))
          dispatch.record({
            actor: HUB_ACTOR,
            kind: "agent.offline",
            subject: agentId,
            data: { reason: "its hub stopped heartbeating" },
          });
      await this.tickWork(dispatch, at);
      return true;
    });
  }

  private async tickWork(dispatch: Dispatch, at: number | undefined): Promise<void> {
    for (const r of await dispatch.t.listRollouts({ states: RUNNING_ROLLOUT_STATES, limit: 10_000 }))
      await this.evaluate(r.id, dispatch, false, at);
    await this.expireRollbacks(dispatch, at);
  }

  /**
   * A rollback instruction (abort with rollback, auto-rollback) unanswered past progress_timeout is
   * `rollback_timed_out`, with an error and an event, as a deployment does: its rollout is no longer
   * evaluated (aborted or failed), so the tick looks for these across rollouts, through an index of
   * that one state. Still sent again when the agent says hello. Time the hub was down is not
   * counted, as for the other timeouts.
   */
  private async expireRollbacks(dispatch: Dispatch, at: number | undefined): Promise<void> {
    const timeoutMs = this.options.progressTimeoutMs ?? DEFAULT_PROGRESS_TIMEOUT_MS;
    const now = at ?? this.options.now();
    if (this.startedAt > now - timeoutMs) return;
    if (now - this.rollbackScan < Math.min(timeoutMs / 10, 10_000)) return;
    this.rollbackScan = now;
    const updates = [];
    for (const state of ROLLBACK_TIMEOUT_STATES)
      for (const d of await dispatch.t.listDeploymentsStuckIn({
        state,
        updatedBefore: now - timeoutMs,
        limit: 10_000,
      })) {
        const error = `rollback timed out: no answer from the agent for ${Math.round((now - d.updatedAt) / 1000)} s (progress timeout ${timeoutMs / 1000} s); sent again when it reconnects`;
        const to = deploymentStep(d.state, "rollback-timeout");
        dispatch.record({
          actor: HUB_ACTOR,
          kind: `deployment.${to}`,
          subject: d.id,
          data: { error, agentId: d.agentId, was: d.state },
        });
        updates.push({ id: d.id, state: to, error, updatedAt: now });
      }
    if (updates.length > 0) await dispatch.t.updateDeployments(updates);
  }

  /**
   * `accepted`: an operator's resume of a rollout held because its last wave tested nothing
   * (`emptyCompletionReason`): it completes as it is rather than being held again. `at`: the moment
   * judged (a tick's, see `tick`); by default now.
   */
  async evaluate(
    id: string,
    dispatch: Dispatch,
    accepted = false,
    at?: number,
    /** Its deployments counted from the rows in hand (a create's), not read from the store. */
    known?: readonly WaveCount[],
  ): Promise<void> {
    const { t } = dispatch;
    const rollout = await t.lockRollout(id);
    if (!rollout) return;
    if (!isRunningRollout(rollout.state)) {
      // Paused by an operator: its sent agents still report, and failures past the threshold halt
      // it now (once: a halted rollout's reason says so), not at a resume that would accept them.
      // Timeouts wait for the resume, which counts them as failures so far.
      const halts = nextRolloutState(rollout.state, "halt") !== undefined;
      if (halts && !isHaltReason(rollout.reason)) {
        const { total } = await this.activeStats(t, rollout);
        if (thresholdCrossed(total, rollout.spec.failureThreshold, rollout.failureAllowance)) {
          await this.halt(rollout, total, dispatch);
          return;
        }
      }
      if (isWaitingReason(rollout.reason)) await this.rejudgeHold(rollout, dispatch);
      return;
    }
    const now = at ?? this.options.now();
    const expired = [
      ...(await this.expireOffline(t, dispatch, rollout, now)),
      ...(await this.expireStalled(t, dispatch, rollout, now)),
    ];
    // Counts in hand hold only while nothing moved since they were taken.
    const { total, current, later } = await this.activeStats(
      t,
      rollout,
      expired.length > 0 ? undefined : known,
    );
    if (thresholdCrossed(total, rollout.spec.failureThreshold, rollout.failureAllowance)) {
      await this.halt(rollout, total, dispatch);
      return;
    }
    const wave = rollout.spec.waves[rollout.currentWave]!;
    const last = rollout.currentWave === rollout.spec.waves.length - 1;
    // A rollout that holds nobody is refused at create (`nobodyRefusal`); one stored by an older hub
    // stays open until aborted. It completes once every agent of every wave finished, not only the last wave's: an agent of an earlier wave an
    // operator advanced past while it was offline either updates or times out first.
    // Agents that no longer take the app are planned but not members: a rollout whose agents all
    // left the app completes, as one whose agents all finished does.
    if (
      last &&
      total.finished === total.members &&
      total.members + total.notApplicable + total.forgotten > 0
    ) {
      // Left empty, or nobody took the release at all: completing would read "every host runs it".
      const hold = accepted ? undefined : emptyCompletionReason(total, current, wave, rollout.currentWave);
      if (hold !== undefined) {
        await this.holdEmpty(rollout, hold, dispatch);
        return;
      }
      if (current.members === 0)
        this.recordEmptyWave(rollout, rollout.currentWave, HUB_ACTOR, dispatch, current);
      const reason = completedReason(
        {
          succeeded: total.succeeded,
          failed: total.failed,
          not_applicable: total.notApplicable,
          forgotten: total.forgotten,
        },
        total,
      );
      await t.updateRollout(id, { state: rolloutStep(rollout.state, "complete"), reason, updated: now });
      dispatch.record({ actor: HUB_ACTOR, kind: "rollout.completed", subject: id, data: total });
    } else if (!last) {
      const auto = rollout.spec.autoAdvance;
      // The time it stood paused does not count toward its wait (read only once the wait looks over).
      const due =
        auto &&
        mayAutoAdvance(current, wave, rollout.waveStartedAt, now, later) &&
        (wave.waitMinutes === 0 ||
          mayAutoAdvance(
            current,
            wave,
            rollout.waveStartedAt + (await pausedInWave(t, rollout, now)),
            now,
            later,
          )) &&
        (
          await unheardSinceStart({
            t,
            rollout,
            channel: this.options.channel,
            startedAt: this.startedAt,
            now,
            offlineTimeoutMs: this.options.offlineTimeoutMs,
            sharedPresence: this.options.sharedPresence ?? false,
          })
        ).length === 0;
      if (due) {
        await this.startWave(rollout, rollout.currentWave + 1, HUB_ACTOR, dispatch);
        await this.evaluate(id, dispatch);
        return;
      }
      // Finished below its success rate, or it holds no agent (from the start, or every agent
      // left it): it would wait silently for ever. Said once (and again only when the figures change), in the reason the CLI and the
      // dashboard show; taken back once it no longer holds (an agent came back to the wave, or a
      // timed-out one is retried), or the operator reads a wait that is over. Without autoAdvance
      // every wave waits for an operator's advance, and minSuccessRate does not act; but a wave
      // that tested nothing is said all the same: the operator about to pass it must know.
      const stuck = auto
        ? stuckWaveReason(current, wave, rollout.currentWave, later)
        : emptyWaveReason(current, wave, rollout.currentWave, later);
      if (stuck !== undefined && stuck !== rollout.reason) {
        await t.updateRollout(id, { reason: stuck, updated: now });
        dispatch.record({ actor: HUB_ACTOR, kind: "rollout.waiting", subject: id, data: { reason: stuck } });
      } else if (stuck === undefined && isWaitingReason(rollout.reason)) {
        await t.updateRollout(id, { reason: null, updated: now });
      }
    }
  }

  /**
   * The last wave finished with nothing tested: paused, so that `resume` (complete as it is) and
   * `abort` are what the operator is offered; the reason says why, once, with a `rollout.waiting`
   * event. A forgotten agent that rejoins is sent the release on resume.
   */
  private async holdEmpty(rollout: RolloutRecord, reason: string, dispatch: Dispatch): Promise<void> {
    await dispatch.t.updateRollout(rollout.id, {
      state: rolloutStep(rollout.state, "hold"),
      reason,
      updated: this.options.now(),
    });
    dispatch.record({ actor: HUB_ACTOR, kind: "rollout.waiting", subject: rollout.id, data: { reason } });
  }

  /** Why the rollout's last wave would hold it (`untestedCompletion`), judged now; else undefined. */
  private async emptyCompletion(t: StoreOps, rollout: RolloutRecord): Promise<Untested | undefined> {
    const { total, current } = await this.activeStats(t, rollout);
    const wave = rollout.spec.waves[rollout.currentWave]!;
    if (total.finished < total.members) return undefined;
    return untestedCompletion(total, current, wave, rollout.currentWave);
  }

  /**
   * A rollout `holdEmpty` paused, judged again while it stays paused (an agent rejoined or left
   * it, or was forgotten): its reason must say what holds now, not what held when it stopped. An
   * agent back in it is owed the release, which the resume sends (`rejoinedHoldReason`); forgotten
   * again, the hold's own words come back. Said with a `rollout.waiting` event when it changes.
   */
  private async rejudgeHold(rollout: RolloutRecord, dispatch: Dispatch): Promise<void> {
    const { total, current } = await this.activeStats(dispatch.t, rollout);
    const wave = rollout.spec.waves[rollout.currentWave]!;
    const owed = total.members - total.finished;
    const reason =
      (owed === 0 ? emptyCompletionReason(total, current, wave, rollout.currentWave) : undefined) ??
      rejoinedHoldReason(owed);
    if (reason === rollout.reason) return;
    await dispatch.t.updateRollout(rollout.id, { reason, updated: this.options.now() });
    dispatch.record({ actor: HUB_ACTOR, kind: "rollout.waiting", subject: rollout.id, data: { reason } });
  }

  private async halt(rollout: RolloutRecord, total: WaveStats, dispatch: Dispatch): Promise<void> {
    const auto = rollout.spec.autoRollback;
    // A snapshot: agents still updating may fail after the halt, so the view's counts can be higher.
    const reason = `${HALT_REASON_START}${describeThreshold(rollout.spec.failureThreshold)}) reached: ${haltFigures(total, rollout.spec.failureThreshold, rollout.failureAllowance)}${rollout.state === "paused" ? " (while paused by an operator)" : ""}`;
    const back = auto ? await markRollback(dispatch, rollout, HUB_ACTOR) : undefined;
    const state = rolloutStep(rollout.state, auto ? "halt-rollback" : "halt");
    await dispatch.t.updateRollout(rollout.id, {
      state,
      reason: back ? `${reason}; ${describeRollback(back)}` : reason,
      updated: this.options.now(),
    });
    // Halted for good (auto-rollback): the waves it never reached are not going to be updated.
    const cancelled = await cancelUnsent(dispatch, rollout, state, HUB_ACTOR);
    dispatch.record({
      actor: HUB_ACTOR,
      kind: "rollout.halted",
      subject: rollout.id,
      data: {
        reason,
        autoRollback: auto,
        sentBack: back?.sentBack ?? 0,
        ...(back?.queued?.length ? { queuedOffline: back.queued } : {}),
        notRolledBack: notReached(back),
        cancelled,
      },
    });
    // NOTIFY: with auto-rollback a cluster wakes the other hubs here, on commit.
    if (auto) await this.deliver({ ...rollout, state }, dispatch, HUB_ACTOR);
  }

  /** `always`: scan now, even if the last scan was recent (resume decides from it). */
  private async expireStalled(
    t: StoreOps,
    dispatch: Dispatch,
    rollout: RolloutRecord,
    now: number,
    always = false,
  ): Promise<string[]> {
    const timeoutMs = this.options.progressTimeoutMs ?? DEFAULT_PROGRESS_TIMEOUT_MS;
    // Nothing was sent before the rollout existed; and a scan every tenth of the timeout (at most
    // every 10 s) is exact enough while a 10,000-agent rollout is not read every second.
    if (Math.max(rollout.created, this.startedAt) > now - timeoutMs) return [];
    if (!always && now - (this.stalledScans.get(rollout.id) ?? 0) < Math.min(timeoutMs / 10, 10_000))
      return [];
    this.stalledScans.set(rollout.id, now);
    const stalled = await t.listStalledDeployments({
      rolloutId: rollout.id,
      maxWave: rollout.currentWave,
      states: STALLED_DEPLOYMENT_STATES,
      updatedBefore: now - timeoutMs,
    });
    const updates = stalled.map((d) => {
      const error = `no progress or report from the agent for ${Math.round((now - d.updatedAt) / 1000)} s (progress timeout ${timeoutMs / 1000} s)`;
      const state = deploymentStep(d.state, "progress-timeout");
      dispatch.record({
        actor: HUB_ACTOR,
        kind: `deployment.${state}`,
        subject: d.id,
        data: { error, agentId: d.agentId, was: d.state },
      });
      return { id: d.id, state, error, updatedAt: now };
    });
    if (updates.length > 0) await t.updateDeployments(updates);
    return updates.map((u) => u.id);
  }

  /** Times out the agents offline past the timeout; the ids of their deployments. */
  private async expireOffline(
    t: StoreOps,
    dispatch: Dispatch,
    rollout: RolloutRecord,
    now: number,
  ): Promise<string[]> {
    const { offlineTimeoutMs, channel } = this.options;
    // An agent's offline time counts from max(last seen, wave start): until the wave is older than
    // the timeout nobody can have timed out, and the tick need not ask the store at all.
    const seenBefore = now - offlineTimeoutMs;
    const counted = Math.max(rollout.waveStartedAt, this.startedAt);
    if (counted > seenBefore) return [];
    const stale = await t.listStaleDeployments({
      rolloutId: rollout.id,
      maxWave: rollout.currentWave,
      states: DELIVERABLE_DEPLOYMENT_STATES,
      seenBefore,
    });
    const away = stale.filter((d) => !channel.isOnline(d.agentId));
    // Connected to another hub of the cluster: online, though this hub has no socket for it.
    const elsewhere = new Set(
      this.options.sharedPresence && away.length > 0
        ? (await t.getAgents([...new Set(away.map((d) => d.agentId))]))
            .filter((a) => a.online)
            .map((a) => a.id)
        : [],
    );
    const updates = [];
    for (const d of away) {
      if (elsewhere.has(d.agentId)) continue;
      const since = Math.max(d.agentLastSeen, counted);
      const error = `agent offline for ${Math.round((now - since) / 1000)} s (timeout ${offlineTimeoutMs / 1000} s)`;
      const state = deploymentStep(d.state, "offline-timeout");
      updates.push({ id: d.id, state, error, updatedAt: now });
      dispatch.record({ actor: HUB_ACTOR, kind: `deployment.${state}`, subject: d.id, data: { error } });
    }
    if (updates.length > 0) await t.updateDeployments(updates);
    return updates.map((u) => u.id);
  }
}

/**
 * A 409 naming the rollout's state and what the hub accepts from it now (as the views offer it),
 * unless the table allows `action`.
 */
async function refuseUnless(
  t: StoreOps,
  rollout: RolloutRecord,
  action: RolloutAction,
  now: number,
): Promise<void> {
  if (nextRolloutState(rollout.state, action) !== undefined) return;
  const offered = await storedActionsNow(t, rollout);
  const since = await stateChange(t, rollout, now);
  const refusal = rolloutRefusal(rollout.id, rollout.state, action, offered, since);
  if (refusal !== undefined) throw new HubRequestError(409, refusal);
}

/** The events that bring a rollout to a state, and how a refusal says them. */
const STATE_CHANGES: Readonly<Record<string, string>> = {
  "rollout.created": "created",
  "rollout.paused": "paused",
  "rollout.halted": "halted",
  "rollout.resumed": "resumed",
  "rollout.completed": "completed",
  "rollout.aborted": "aborted",
};

/**
 * Who made the rollout what it is, and when: a second operator's `pause` on a rollout a colleague
 * paused a moment ago read "is paused: pause applies to a running rollout", as if nothing had
 * happened since they looked (advance's 409 already names the wave change).
 */
async function stateChange(t: StoreOps, rollout: RolloutRecord, now: number): Promise<string | undefined> {
  // The newest change, asked by kind: the rollout's other events (waiting…) may be thousands.
  const [change] = await t.listEvents({ subject: rollout.id, kinds: Object.keys(STATE_CHANGES), limit: 1 });
  if (change === undefined) return undefined;
  return `${STATE_CHANGES[change.kind]} ${agoText(now - change.at)} ago by ${change.actor}`;
}

/** The agents a rollback did not send back, whatever the reason (its audit event names them all). */
function notReached(back: RollbackResult | undefined): string[] {
  return [...(back?.impossible ?? []), ...(back?.overtaken ?? []), ...(back?.forgotten ?? [])];
}

/** Every redeliverable (timed-out) deployment of `rollout` in the waves it has reached, whatever its age. */
/** Whether a `rollout.resumed` event's data says it accepted failures (one without a figure did). */
function acceptedSome(data: unknown): boolean {
  if (typeof data !== "object" || data === null || !("acceptedFailures" in data)) return true;
  return data.acceptedFailures !== 0;
}

function timedOutDeployments(t: Dispatch["t"], rollout: RolloutRecord): Promise<DeploymentRecord[]> {
  return t.listStalledDeployments({
    rolloutId: rollout.id,
    maxWave: rollout.currentWave,
    states: REDELIVERABLE_DEPLOYMENT_STATES,
    updatedBefore: Number.MAX_SAFE_INTEGER,
  });
}

/** The agents an `agents` wave names that an operator forgot: read only when the fleet lacks some. */
async function forgottenNamed(
  t: Pick<StoreOps, "getAgents">,
  spec: RolloutSpec,
  agents: readonly { id: string }[],
): Promise<Set<string>> {
  const known = new Set(agents.map((a) => a.id));
  const missing = spec.waves.flatMap((w) => (w.agents ?? []).filter((id) => !known.has(id)));
  if (missing.length === 0) return new Set();
  return new Set((await t.getAgents(missing)).filter((a) => a.forgottenAt !== undefined).map((a) => a.id));
}

/**
 * A rollout id as the hub stores it: lower case. A body's `id` may be a UUID in upper case; stored
 * as given it was found by no short id (prefixes are matched in lower case, as `rollout list`
 * shows them) and the same UUID in lower case made a second rollout.
 */
/** How many rollouts an ambiguous prefix's 409 names. */
const AMBIGUOUS_NAMED = 10;

function canonicalRolloutId(id: string): string {
  return id.toLowerCase();
}
