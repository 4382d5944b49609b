import { MAX_APP_NAME } from "../../shared/app-name.js";
import type { AppStatus, Hello, Progress, Report } from "../../shared/protocol/messages.js";
import { parseDeploymentId } from "../../shared/protocol/messages.js";
import type { DeploymentUpdate, StoreOps } from "../store/async-store.js";
import { deploymentId } from "../store/deployment-id.js";
import type { DeploymentRecord, DeploymentState, RolloutRecord } from "../store/store.js";
import type { Dispatch } from "./dispatch.js";
import { settleEligibility } from "./eligibility.js";
import { DEFAULT_PROGRESS_TIMEOUT_MS, type RolloutEngine } from "./engine.js";
import { recordAnswerCandidate, recordAnswers } from "./found-declined-record.js";
import { settleInstalled } from "./found-installed.js";
import { type ActiveRollout, settleLeftRelease } from "./left-release.js";
import { checkReports } from "./report-check.js";
import {
  agentsOnRelease,
  markOvertaken,
  RESTORED_BY_HOST,
  resumeOvertaken,
  rollbackNotDone,
  tookOver,
} from "./rollback-result.js";
import {
  ACTIVE_ROLLOUT_STATES,
  type DeploymentEvent,
  FAILED_DEPLOYMENT_STATES,
  isCompletedRollout,
  isDeliverable,
  isRedeliverable,
  isRollbackDeliverable,
  isRunningRollout,
  nextDeploymentState,
  ROLLBACK_REPORT_EVENT,
  ROLLBACK_TIMEOUT_STATES,
  SUCCEEDED_DEPLOYMENT_STATES,
  UPDATE_REPORT_EVENT,
} from "./states.js";
import { ROLLBACK_IMPOSSIBLE } from "./take-over-rule.js";

/** A report as it arrived on one agent's connection. */
export interface IncomingReport {
  agentId: string;
  report: Report;
}

/**
 * What the hub does when an agent speaks: reconcile on hello (the agent gets whatever it should be
 * doing), track progress, and fold reports into deployment states. Every handler is idempotent and
 * works inside the caller's transaction (`dispatch.t`); the methods without `In` run their own.
 */
export class AgentSync {
  /**
   * `corrected`: told each report field the hub took from its own rows
   * or refused (report-check.ts), once the transaction that stored the report committed; the hub
   * logs it, so a buggy or old client is seen at the hub.
   */
  constructor(
    readonly engine: RolloutEngine,
    private readonly corrected: (agentId: string, reason: string) => void = () => {},
  ) {}

  private get ctx() {
    return this.engine.options;
  }

  /**
   * How stale a deployment's clock may grow while its agent reports progress. A fixed 5 s timed out
   * live agents under a progress timeout of 5 s or less: the clock stood still for 5 s, so the next
   * "still working" after it came past the timeout. A fifth of the timeout leaves the agent's own
   * interval and a tick's lateness the rest.
   */
  private get touchMs(): number {
    return Math.min(PROGRESS_TOUCH_MS, (this.ctx.progressTimeoutMs ?? DEFAULT_PROGRESS_TIMEOUT_MS) / 5);
  }

  hello(agentId: string, hello: Hello): Promise<number | undefined> {
    return this.engine.run((dispatch) => this.helloIn(dispatch, agentId, hello));
  }

  /**
   * Registers the agent as connected to this hub and queues what it should be doing. Returns the
   * presence epoch its connection holds (undefined only if the row vanished): a close releases the
   * agent only with that epoch, so a socket that closes after the agent reconnected (to this hub or
   * another) does not mark it offline.
   */
  async helloIn(dispatch: Dispatch, agentId: string, hello: Hello): Promise<number | undefined> {
    const { t } = dispatch;
    // Before anything is read: a rollout created meanwhile either reads this agent or is read here.
    await dispatch.once("hello:fleet-lock", () => t.lockFleet("join"));
    const now = this.ctx.now();
    const actor = `agent:${agentId}`;
    const agent = {
      id: agentId,
      hostname: hello.hostname,
      labels: hello.labels,
      agentVersion: hello.agentVersion,
      apps: hello.apps,
      online: true,
      lastSeen: now,
      ...(hello.allowDowngrade === undefined ? {} : { allowDowngrade: hello.allowDowngrade }),
    };
    const { epoch, wasOnline } = await t.helloAgent(agent, this.engine.hubId, now);
    if (!wasOnline)
      dispatch.record({ actor, kind: "agent.online", subject: agentId, data: { hostname: hello.hostname } });
    // Agents that register mid-rollout join by their bucket; nobody else moves. Hellos do not change
    // rollouts, so a batch of them reads the active ones (and their releases) once.
    const active = await activeRollouts(dispatch);
    for (const { rollout, release } of active)
      if (release && (await this.engine.enroll(t, rollout, release, agent))) {
        dispatch.record({
          actor,
          kind: "deployment.joined",
          subject: deploymentId(rollout.id, agentId),
          data: {},
        });
        // It may join failed (broken on the release already): a paused rollout, which no tick
        // evaluates, must weigh that now, not leave it to a resume that would accept it.
        dispatch.evaluateLater(rollout.id);
      }
    const rollouts = new Map<string, RolloutRecord | undefined>();
    const readRollout = async (id: string) => {
      if (!rollouts.has(id)) rollouts.set(id, await t.getRollout(id));
      return rollouts.get(id);
    };
    const timedOut: DeploymentRecord[] = [];
    const owed: DeploymentRecord[] = [];
    const late: DeploymentRecord[] = [];
    // What it no longer fits is not sent (and what it fits again is owed again) before anything is.
    const eligible = await settleEligibility(
      this.engine,
      dispatch,
      agentId,
      hello,
      await t.listDeployments({ agentId }),
      readRollout,
      actor,
      (rollout) => this.appRolledOutSince(dispatch, rollout),
    );
    // A host counted on a release it no longer runs (put back by hand since) fails its wave; one
    // failed so that runs it again is back on it.
    const { history, back } = await settleLeftRelease(
      dispatch,
      eligible,
      hello.apps,
      new Map(active.map((a) => [a.rollout.id, a])),
      actor,
    );
    await this.unacceptBack(dispatch, back);
    for (const d of history) {
      // Finished ones (most of an agent's history) owe nothing: their rollout need not be read.
      const retry = isRedeliverable(d.state);
      if (!retry && !isRollbackDeliverable(d.state) && !isDeliverable(d.state)) continue;
      const rollout = await readRollout(d.rolloutId);
      if (!rollout) continue;
      const due = isRunningRollout(rollout.state) && d.wave <= rollout.currentWave;
      if (retry && due) timedOut.push(d);
      else if (isRollbackDeliverable(d.state)) {
        // Owed still, unless a later rollout of the app took this agent over: what that one
        // sends is what the agent should run, and the old release must not come back over it.
        const runs = (await agentsOnRelease(t, rollout.releaseId, [{ id: agentId, apps: hello.apps }])).has(
          agentId,
        )
          ? rollout.releaseId
          : undefined;
        const later = await this.laterRolloutOfItsApp(t, d, rollout, history, readRollout, (other, l) =>
          tookOver(other, l, runs),
        );
        if (later === undefined) dispatch.deployment(await resumeOvertaken(dispatch, d, actor), actor);
        else await markOvertaken(dispatch, d, later, actor);
      } else if (due && isDeliverable(d.state)) owed.push(d);
      else if (
        isCompletedRollout(rollout.state) &&
        (retry || isDeliverable(d.state)) &&
        (await this.laterRolloutOfItsApp(t, d, rollout, history, readRollout)) === undefined
      )
        late.push(d);
    }
    // Owed the release it says it runs already (updated while the hub did not hear of it): done,
    // not sent again; the others get their instruction.
    for (const d of (await settleInstalled(dispatch, owed, actor, hello.apps)).toSend)
      dispatch.deployment(d, actor);
    // Timed out while it was away: sent again now that it is back and its rollout runs (unless it
    // runs the release already). The rollout is locked (and so read again) first: the retry may
    // lower its failure allowance.
    for (const d of timedOut) {
      const rollout = await t.lockRollout(d.rolloutId);
      if (rollout) await this.engine.retryTimedOut(rollout, [d], dispatch, actor);
    }
    // Its rollout completed while it was away, and no later rollout of the app took it over: the
    // release is still what it should run (desired state), so it gets it now. A completed rollout
    // has no failure allowance or threshold left to adjust; its view says who is still owed it.
    for (const d of (await settleInstalled(dispatch, late, actor, hello.apps)).toSend)
      if (isRedeliverable(d.state)) await dispatch.redeliver([d], actor);
      else dispatch.deployment(d, actor);
    return epoch;
  }

  /**
   * The id of a later rollout of `d`'s app that planned this agent (running, finished or aborted),
   * or undefined when `d`'s rollout is the newest: a later one decided what the agent should run
   * since, and the older rollout's release must not come back over it. Reads only the agent's later
   * rollouts. A release the store no longer has counts as overtaken (`?`).
   */
  private async laterRolloutOfItsApp(
    t: StoreOps,
    d: DeploymentRecord,
    rollout: RolloutRecord,
    history: readonly DeploymentRecord[],
    readRollout: (id: string) => Promise<RolloutRecord | undefined>,
    counts: (other: DeploymentRecord, later: RolloutRecord) => boolean = () => true,
  ): Promise<string | undefined> {
    const app = (await t.getRelease(d.desiredRelease))?.app;
    if (app === undefined) return "?";
    for (const other of history) {
      if (other.rolloutId === d.rolloutId) continue;
      const later = await readRollout(other.rolloutId);
      if (!later || later.created < rollout.created) continue;
      if ((await t.getRelease(later.releaseId))?.app === app && counts(other, later)) return later.id;
    }
    return undefined;
  }

  /**
   * Whether a rollout of `rollout`'s app was created after it, whether or not it planned this agent
   * (one that left the app was not planned): the fleet has moved on, and an agent taking the app
   * again must not be sent the older release. Rare (a hello that fits a rollout again): the app's
   * newest rollouts are read, by the store, until one older than `rollout`. (The hub's newest
   * 10,000 of every app were read: past them a later rollout of the app went unseen, and the
   * agent was sent the release the fleet had left.)
   */
  private async appRolledOutSince(dispatch: Dispatch, rollout: RolloutRecord): Promise<boolean> {
    const { t } = dispatch;
    const app = (await dispatch.once(`release:${rollout.releaseId}`, () => t.getRelease(rollout.releaseId)))
      ?.app;
    if (app === undefined) return false;
    // Newest first: the first one of the app that is not this rollout answers, unless it is older.
    for (const later of await t.listRollouts({ app, limit: 2 })) {
      if (later.created < rollout.created) return false;
      if (later.id !== rollout.id) return true;
    }
    return false;
  }

  /** Without an epoch (tests, tools) the agent is marked offline whoever holds it. */
  disconnected(agentId: string, epoch?: number): Promise<void> {
    return this.engine.run((dispatch) => this.disconnectedIn(dispatch, agentId, epoch));
  }

  async disconnectedIn(dispatch: Dispatch, agentId: string, epoch?: number): Promise<void> {
    const { t } = dispatch;
    const now = this.ctx.now();
    let released = true;
    if (epoch === undefined) await t.setAgentOnline(agentId, false, now);
    else released = await t.releaseAgent(agentId, this.engine.hubId, epoch, now);
    // A stale socket (the agent already said hello again, here or on another hub) changes nothing.
    if (released)
      dispatch.record({ actor: `agent:${agentId}`, kind: "agent.offline", subject: agentId, data: {} });
  }

  progress(agentId: string, progress: Progress): Promise<void> {
    return this.engine.run((dispatch) => this.progressIn(dispatch, agentId, progress));
  }

  async progressIn(dispatch: Dispatch, agentId: string, progress: Progress): Promise<void> {
    const { t } = dispatch;
    const { now } = this.ctx;
    const { deploymentId, rollback } = parseDeploymentId(progress.deploymentId);
    const d = await t.getDeployment(deploymentId);
    if (!d || d.agentId !== agentId) return;
    if (rollback) {
      // A rollback under way (one that downloads the older release can take long) is a sign of
      // life too: its progress timeout counts from the agent's last word, as an update's does.
      if (ROLLBACK_TIMEOUT_STATES.includes(d.state) && now() - d.updatedAt >= this.touchMs)
        await t.updateDeployment(d.id, { updatedAt: now() });
      return;
    }
    const state = nextDeploymentState(d.state, "progress");
    if (state === undefined) return;
    // A start of the update (once per run of it on the host) is what `attempts` counts: a re-send
    // the agent takes for the run it is already on, or answers from its record, is none.
    const started = startsUpdate(progress) ? { started: (d.started ?? 0) + 1 } : {};
    if (state === d.state) {
      // A sign of life for the progress timeout; one write per few seconds is enough for that.
      if ("started" in started || now() - d.updatedAt >= this.touchMs)
        await t.updateDeployment(d.id, { ...started, updatedAt: now() });
      return;
    }
    await t.updateDeployment(d.id, { state, ...started, updatedAt: now() });
    dispatch.record({
      actor: `agent:${agentId}`,
      kind: `deployment.${state}`,
      subject: d.id,
      data: { step: progress.step },
    });
  }

  /** Stores the report once and applies it; a resent report changes nothing. */
  report(agentId: string, report: Report): Promise<void> {
    return this.engine.run((dispatch) => this.reportsIn(dispatch, [{ agentId, report }]));
  }

  /**
   * Stores and applies a batch of reports set-based: one insert (which drops resends), one read of
   * the deployments they name, one update of those that change, and their events with the
   * transaction's others. Reports apply in order, so two for one deployment end as applied one by one.
   */
  async reportsIn(dispatch: Dispatch, incoming: readonly IncomingReport[]): Promise<void> {
    if (incoming.length === 0) return;
    const { t } = dispatch;
    const now = this.ctx.now();
    // Report ids are the agent's own: scoped by agent, one agent cannot make the hub drop
    // another's report as a resend by reusing its id. The same id twice in a batch counts once.
    const byId = new Map<string, IncomingReport>();
    for (const item of incoming) {
      const id = `${item.agentId}/${item.report.reportId}`;
      if (!byId.has(id)) byId.set(id, item);
    }
    const stored = new Set(
      await t.insertReports(
        [...byId].map(([id, { agentId, report }]) => ({
          id,
          agentId,
          deploymentId:
            report.deploymentId === undefined ? null : parseDeploymentId(report.deploymentId).deploymentId,
          payload: report,
          receivedAt: now,
        })),
      ),
    );
    const fresh = [...byId].filter(([id]) => stored.has(id)).map(([, item]) => item);
    // Resends without an echoed attempt may be an older agent's record answer (found-declined-record.ts).
    const resent = [...byId].filter(([id]) => !stored.has(id)).map(([, item]) => item);
    const mayBeRecord = resent.flatMap((item) => recordAnswerCandidate(item) ?? []);
    if (fresh.length === 0 && mayBeRecord.length === 0) return;
    const named = fresh.flatMap(({ report }) =>
      report.deploymentId === undefined ? [] : [parseDeploymentId(report.deploymentId).deploymentId],
    );
    const deployments = new Map(
      (await t.getDeployments([...new Set([...named, ...mayBeRecord])])).map(
        (d) => [d.id, d] as [string, DeploymentRecord],
      ),
    );
    const answeredFromRecord = mayBeRecord.length === 0 ? [] : await recordAnswers(t, resent, deployments);
    // What the agent ran, as the hub's rows say it: a report whose app or version contradicts its
    // own release marked another app of the host failed (two apps, two rollouts on one host).
    const checked = await checkReports(dispatch, fresh, deployments);
    for (const { agentId, reason } of checked.corrections)
      dispatch.afterCommit(() => this.corrected(agentId, reason));
    await this.updateAppStatuses(t, checked.reports);
    const updates: DeploymentUpdate[] = [];
    // Failures a report turns into something else (a timed-out agent's late success), per rollout.
    const noLongerFailed = new Map<string, DeploymentRecord[]>();
    // Agents whose report moved none of their update deployments (a run by hand, a rollback, a
    // report about another release): what they run now may take a host off a release it counted on.
    const unjudged = new Set<string>();
    // A record answer moves its deployment as a failure would; the host's app status stays as the
    // report set it when it first came.
    for (const { agentId, report } of [...fresh, ...answeredFromRecord]) {
      if (report.deploymentId === undefined) {
        unjudged.add(agentId);
        continue;
      }
      const parsed = parseDeploymentId(report.deploymentId);
      if (parsed.rollback) unjudged.add(agentId);
      const d = deployments.get(parsed.deploymentId);
      if (!d || d.agentId !== agentId) {
        unjudged.add(agentId);
        continue;
      }
      // About another release than the one this instruction sent (an outbox resent after the
      // hub's data was restored, a confused client): no result of this deployment. Stored above.
      const sent = parsed.rollback ? d.previousRelease : d.desiredRelease;
      if (report.releaseId !== undefined && sent !== null && report.releaseId !== sent) {
        unjudged.add(agentId);
        continue;
      }
      const next = parsed.rollback ? rollbackOutcome(d, report) : updateOutcome(d, report);
      if (!next) {
        unjudged.add(agentId);
        continue;
      }
      // The result of a run (a report naming its steps; an answer from the agent's record, or a
      // refusal before the run, names none) proves the agent started one, its start counted or not.
      const ran = !parsed.rollback && report.steps.length > 0;
      deployments.set(d.id, {
        ...d,
        ...next,
        ...(ran ? { started: Math.max(d.started ?? 0, 1) } : {}),
        updatedAt: now,
      });
      updates.push({ id: d.id, ...next, ...(ran ? { ran } : {}), updatedAt: now });
      dispatch.record({
        actor: `agent:${agentId}`,
        kind: `deployment.${next.state}`,
        subject: d.id,
        data: {
          outcome: report.outcome,
          report: report.reportId,
          error: next.error,
          ...(next.warnings.length > 0 ? { warnings: next.warnings } : {}),
        },
      });
      // A failure may cross the threshold: decide in this transaction, once per batch of reports.
      // Successes only advance or complete a wave, which the next tick decides; evaluating a
      // 10,000-agent rollout per report would cap how many reports per second the hub can take.
      if (FAILED_DEPLOYMENT_STATES.includes(next.state)) dispatch.evaluateLater(d.rolloutId);
      else if (FAILED_DEPLOYMENT_STATES.includes(d.state))
        noLongerFailed.set(d.rolloutId, [...(noLongerFailed.get(d.rolloutId) ?? []), d]);
    }
    if (updates.length > 0) await t.updateDeployments(updates);
    await this.judgeLeftRelease(dispatch, [...unjudged]);
    await this.unacceptBack(dispatch, [...noLongerFailed.values()].flat());
  }

  /**
   * `agentIds` reported a run no deployment of theirs accounts for: their status as the reports
   * left it (`updateAppStatuses`) re-judges the deployments that count them on a release of a
   * rollout still under way (`settleLeftRelease`). Rare (runs by hand, rollbacks): read per agent.
   */
  private async judgeLeftRelease(dispatch: Dispatch, agentIds: readonly string[]): Promise<void> {
    if (agentIds.length === 0) return;
    const active = await activeRollouts(dispatch);
    if (active.length === 0) return;
    const byId = new Map(active.map((a) => [a.rollout.id, a]));
    for (const agent of await dispatch.t.getAgents(agentIds)) {
      const history = await dispatch.t.listDeployments({ agentId: agent.id });
      const { back } = await settleLeftRelease(dispatch, history, agent.apps, byId, `agent:${agent.id}`);
      await this.unacceptBack(dispatch, back);
    }
  }

  /**
   * Failures an operator accepted by resuming that are no failures now (a timed-out agent's late
   * success, a host back on its release) leave the allowance, or the allowance would let the next
   * real failure pass the threshold unseen.
   */
  private async unacceptBack(dispatch: Dispatch, back: readonly DeploymentRecord[]): Promise<void> {
    for (const rolloutId of new Set(back.map((d) => d.rolloutId))) {
      const rollout = await dispatch.t.lockRollout(rolloutId);
      if (rollout && ACTIVE_ROLLOUT_STATES.includes(rollout.state))
        await this.engine.unaccept(
          dispatch,
          rollout,
          back.filter((d) => d.rolloutId === rolloutId),
        );
    }
  }

  /**
   * What each reporting agent runs now and how its last run ended, one set statement: a success or
   * a host's own rollback names the version; any other outcome (failed, restore_failed, skipped)
   * sets the state on the version the hub knew, so the fleet shows a failed or broken host at once,
   * not at its next hello. Reports apply in order, so the last one of a batch for an app wins.
   */
  private async updateAppStatuses(t: StoreOps, fresh: readonly IncomingReport[]): Promise<void> {
    const unversioned = fresh.filter(({ report }) => !namesVersion(report)).map((r) => r.agentId);
    const known = new Map<string, AppStatus>();
    if (unversioned.length > 0)
      for (const agent of await t.getAgents([...new Set(unversioned)]))
        for (const status of agent.apps) known.set(`${agent.id}\n${status.app}`, status);
    const updates = fresh.flatMap(({ agentId, report }) => {
      const key = `${agentId}\n${report.app}`;
      const was = known.get(key);
      // A failure of an app the agent does not announce (its source removed) adds no app to it:
      // that would make it eligible for every later rollout of the app, each failing there.
      if (!namesVersion(report) && was === undefined) return [];
      // Nor does a name no app can have, which a hello's entry is dropped for (messages.ts helloApps).
      if (report.app.length > MAX_APP_NAME) return [];
      const status =
        was === undefined || namesVersion(report) ? appStatusAfter(report) : stateAfter(was, report);
      known.set(key, status);
      return [{ agentId, status }];
    });
    if (updates.length > 0) await t.setAppStatuses(updates);
  }
}

/** The active rollouts and their releases, read once per transaction (a batch of hellos and reports). */
function activeRollouts(dispatch: Dispatch): Promise<ActiveRollout[]> {
  const { t } = dispatch;
  return dispatch.once("hello:active-rollouts", async () => {
    const rollouts = await t.listRollouts({ states: ACTIVE_ROLLOUT_STATES, limit: 10_000 });
    return Promise.all(rollouts.map(async (r) => ({ rollout: r, release: await t.getRelease(r.releaseId) })));
  });
}

/** The outcomes after which the report says which version the app runs. */
function namesVersion(report: Report): boolean {
  return report.outcome === "succeeded" || report.outcome === "rolled_back";
}

/** An outcome that does not name the version: the app's state changes, its version stays as known. */
function stateAfter(known: AppStatus, report: Report): AppStatus {
  const releaseId = report.installedReleaseId ?? known.releaseId;
  const { releaseId: _, ...rest } = known;
  // A failed update left in place (failed_not_rolled_back) names the release it was about as
  // installed: the app runs that release's version now, not the one the hub knew.
  const version = leftInstalled(report) ? report.toVersion : known.version;
  return { ...rest, version, state: appStateAfter(report), ...(releaseId ? { releaseId } : {}) };
}

/**
 * The app's state in the fleet after a report, in the words the agent's hello uses for the same
 * run (its state file's last result), so the fleet (and `?state=`) says one thing before and after
 * the next hello: `updated` for an update done, `rolled_back` only for a rollback asked for (the
 * hub's instruction, `ship --rollback`), `failed_restored` for a failed update its host put back by
 * itself (the report's `rolled_back`). `failed` stays: the report does not say which failure.
 */
function appStateAfter(report: Report): string {
  if (report.outcome === "rolled_back") return "failed_restored";
  const rollback = report.deploymentId !== undefined && parseDeploymentId(report.deploymentId).rollback;
  // A failed update that names its own release as installed was left in place: the word its next
  // hello uses, which a rollout of that release reads (a failed host must not pass for updated).
  if (report.outcome === "failed" && !rollback && leftInstalled(report)) return "failed_not_rolled_back";
  if (report.outcome !== "succeeded") return report.outcome;
  return rollback ? "rolled_back" : "updated";
}

function leftInstalled(report: Report): boolean {
  return report.installedReleaseId !== undefined && report.installedReleaseId === report.releaseId;
}

function appStatusAfter(report: Report): AppStatus {
  const version = report.outcome === "succeeded" ? report.toVersion : report.fromVersion;
  // The agent names the release it runs now; older agents only named it on success, and the
  // engine then finds the release by version (one per app and version).
  const releaseId =
    report.installedReleaseId ?? (report.outcome === "succeeded" ? report.releaseId : undefined);
  return {
    app: report.app,
    version,
    state: appStateAfter(report),
    ...(releaseId ? { releaseId } : {}),
  };
}

/**
 * Whether a progress message is the agent starting a run of the update: the first step's "started"
 * (agent/daemon/carry-out.ts sends it once per run, before anything else; a later step's start, a
 * sign of life or a log line is not one).
 */
function startsUpdate(progress: Progress): boolean {
  return progress.step === FIRST_UPDATE_STEP && progress.message === "started";
}
const FIRST_UPDATE_STEP = "fetch";

/** How often progress of a deployment already in progress refreshes its updatedAt, at most (touchMs). */
const PROGRESS_TOUCH_MS = 5_000;

type Outcome = { state: DeploymentState; error: string | null; warnings: string[] };

/**
 * The event an update report is. A failed one whose steps show a run (the update ran and failed,
 * or its host restored the older release) is a result of the release, which a refusal before any
 * run (an app the agent no longer takes) is not.
 */
function updateReportEvent(report: Report): DeploymentEvent {
  const event = UPDATE_REPORT_EVENT[report.outcome];
  const ran = report.outcome === "failed" || report.outcome === "rolled_back";
  return ran && report.steps.length > 0 ? "report-run-failed" : event;
}

function updateOutcome(d: DeploymentRecord, report: Report): Outcome | undefined {
  // The table has no update report from a rollback instruction or its result: after an abort with
  // rollback, a late update report must not undo the rollback.
  const state = nextDeploymentState(d.state, updateReportEvent(report));
  if (state === undefined) return undefined;
  const warnings = keptWarnings(report, d.agentId);
  // An abort with rollback that found no older release to send this agent back to said so in the
  // row while the update was still out: its success leaves the agent on the release, so the row
  // keeps saying it. It cleared the note, and the rollout's reason named the agent as not rolled
  // back while its row and `notRolledBack` did not. (A take-over's note follows its own rules.)
  const noWayBack = d.previousRelease === null && (d.error ?? "").startsWith(ROLLBACK_IMPOSSIBLE);
  if (SUCCEEDED_DEPLOYMENT_STATES.includes(state))
    return { state, error: noWayBack ? d.error : null, warnings };
  const why =
    report.outcome === "skipped"
      ? "agent skipped the update"
      : report.outcome === "rolled_back"
        ? RESTORED_BY_HOST
        : report.outcome.replace("_", " ");
  return { state, error: report.error ? `${why}: ${report.error}` : why, warnings };
}

function rollbackOutcome(d: DeploymentRecord, report: Report): Outcome | undefined {
  const event = ROLLBACK_REPORT_EVENT[report.outcome];
  const state = nextDeploymentState(d.state, event);
  if (state === undefined) return undefined;
  const warnings = keptWarnings(report, d.agentId);
  if (event === "rollback-succeeded") return { state, error: null, warnings };
  return { state, error: rollbackNotDone(report.outcome, report.error), warnings };
}

/** How many of a report's warnings its deployment keeps; the agent's page has them all. */
const WARNINGS_KEPT = 3;

/**
 * The run's warnings (a `warn` conditional, a file ship had not installed replaced), kept with the
 * deployment apart from its error: the rollout's view, `rollout show` and the dashboard's rollout
 * page show them, so an operator who never opens the agent's page does not see a clean success,
 * nor a success under ERROR. Each report sets them anew (none: an empty list).
 */
function keptWarnings(report: Report, agentId: string): string[] {
  const warnings = report.warnings ?? [];
  const more = warnings.length - WARNINGS_KEPT;
  return [
    ...warnings.slice(0, WARNINGS_KEPT),
    ...(more > 0 ? [`${more} more on the agent's page (dashboard, GET /api/v1/agents/${agentId})`] : []),
  ];
}
