import type { Hello, Progress, Report } from "../../shared/protocol/messages.js";
import { parseDeploymentId } from "../../shared/protocol/messages.js";
import type { DeploymentRecord, DeploymentState } from "../store/store.js";
import { recordEvent } from "./dispatch.js";
import type { RolloutEngine } from "./engine.js";
import {
  ACTIVE_ROLLOUT_STATES,
  FAILED_DEPLOYMENT_STATES,
  isDeliverable,
  isRollbackDeliverable,
  isRunningRollout,
  nextDeploymentState,
  ROLLBACK_REPORT_EVENT,
  SUCCEEDED_DEPLOYMENT_STATES,
  UPDATE_REPORT_EVENT,
} from "./states.js";

/**
 * What the hub does when an agent speaks: reconcile on hello (the agent gets whatever it should be
 * doing), track progress, and fold reports into deployment states. Every handler is idempotent.
 */
export class AgentSync {
  constructor(readonly engine: RolloutEngine) {}

  private get ctx() {
    return this.engine.options;
  }

  hello(agentId: string, hello: Hello): void {
    const { store, now } = this.ctx;
    const actor = `agent:${agentId}`;
    this.engine.run((dispatch) => {
      const wasOnline = store.getAgent(agentId)?.online ?? false;
      const agent = {
        id: agentId,
        hostname: hello.hostname,
        labels: hello.labels,
        agentVersion: hello.agentVersion,
        apps: hello.apps,
        online: true,
        lastSeen: now(),
      };
      store.upsertAgent(agent);
      if (!wasOnline)
        recordEvent(this.ctx, {
          actor,
          kind: "agent.online",
          subject: agentId,
          data: { hostname: hello.hostname },
        });
      // Agents that register mid-rollout join by their bucket; nobody else moves.
      for (const rollout of store.listRollouts({ states: ACTIVE_ROLLOUT_STATES, limit: 10_000 })) {
        const release = store.getRelease(rollout.releaseId);
        if (release && this.engine.enroll(rollout, release, agent))
          recordEvent(this.ctx, {
            actor,
            kind: "deployment.joined",
            subject: `${rollout.id}:${agentId}`,
            data: {},
          });
      }
      for (const d of store.listDeployments({ agentId })) {
        const rollout = store.getRollout(d.rolloutId);
        if (!rollout) continue;
        const due = isRunningRollout(rollout.state) && d.wave <= rollout.currentWave;
        if (isRollbackDeliverable(d.state) || (due && isDeliverable(d.state))) dispatch.deployment(d, actor);
      }
    });
  }

  disconnected(agentId: string): void {
    const { store, now } = this.ctx;
    store.transaction(() => {
      store.setAgentOnline(agentId, false, now());
      recordEvent(this.ctx, { actor: `agent:${agentId}`, kind: "agent.offline", subject: agentId, data: {} });
    });
  }

  progress(agentId: string, progress: Progress): void {
    const { store, now } = this.ctx;
    const { deploymentId, rollback } = parseDeploymentId(progress.deploymentId);
    const d = store.getDeployment(deploymentId);
    if (!d || d.agentId !== agentId || rollback) return;
    const state = nextDeploymentState(d.state, "progress");
    if (state === d.state) {
      // A sign of life for the progress timeout; one write per few seconds is enough for that.
      if (now() - d.updatedAt >= PROGRESS_TOUCH_MS) store.updateDeployment(d.id, { updatedAt: now() });
      return;
    }
    if (state === undefined) return;
    store.transaction(() => {
      store.updateDeployment(d.id, { state, updatedAt: now() });
      recordEvent(this.ctx, {
        actor: `agent:${agentId}`,
        kind: `deployment.${state}`,
        subject: d.id,
        data: { step: progress.step },
      });
    });
  }

  /** Stores the report once and applies it; a resent report changes nothing. */
  report(agentId: string, report: Report): void {
    const { store, now } = this.ctx;
    this.engine.run(() => {
      const parsed = report.deploymentId === undefined ? undefined : parseDeploymentId(report.deploymentId);
      const inserted = store.insertReport({
        // Report ids are the agent's own: scoped by agent, one agent cannot make the hub drop
        // another's report as a resend by reusing its id.
        id: `${agentId}/${report.reportId}`,
        agentId,
        deploymentId: parsed?.deploymentId ?? null,
        payload: report,
        receivedAt: now(),
      });
      if (!inserted) return;
      this.updateAppStatus(agentId, report);
      const d = parsed && store.getDeployment(parsed.deploymentId);
      if (!parsed || !d || d.agentId !== agentId) return;
      const next = parsed.rollback ? rollbackOutcome(d, report) : updateOutcome(d, report);
      if (!next) return;
      store.updateDeployment(d.id, { ...next, updatedAt: now() });
      recordEvent(this.ctx, {
        actor: `agent:${agentId}`,
        kind: `deployment.${next.state}`,
        subject: d.id,
        data: { outcome: report.outcome, report: report.reportId, error: next.error },
      });
      // A failure may cross the threshold: decide in this transaction, once per batch of messages.
      // Successes only advance or complete a wave, which the next tick decides; evaluating a
      // 10,000-agent rollout per report would cap how many reports per second the hub can take.
      if (FAILED_DEPLOYMENT_STATES.includes(next.state)) this.engine.evaluateLater(d.rolloutId);
    });
  }

  private updateAppStatus(agentId: string, report: Report): void {
    const { store } = this.ctx;
    const agent = store.getAgent(agentId);
    if (!agent || (report.outcome !== "succeeded" && report.outcome !== "rolled_back")) return;
    const others = agent.apps.filter((a) => a.app !== report.app);
    const version = report.outcome === "succeeded" ? report.toVersion : report.fromVersion;
    // The agent names the release it runs now; older agents only named it on success, and the
    // engine then finds the release by version (one per app and version).
    const releaseId =
      report.installedReleaseId ?? (report.outcome === "succeeded" ? report.releaseId : undefined);
    const status = {
      app: report.app,
      version,
      state: report.outcome,
      ...(releaseId ? { releaseId } : {}),
    };
    store.setAgentApps(agentId, [...others, status]);
  }
}

/** How often progress of a deployment already in progress refreshes its updatedAt. */
const PROGRESS_TOUCH_MS = 5_000;

type Outcome = { state: DeploymentState; error: string | null };

function updateOutcome(d: DeploymentRecord, report: Report): Outcome | undefined {
  // The table has no update report from a rollback instruction or its result: after an abort with
  // rollback, a late update report must not undo the rollback.
  const state = nextDeploymentState(d.state, UPDATE_REPORT_EVENT[report.outcome]);
  if (state === undefined) return undefined;
  if (SUCCEEDED_DEPLOYMENT_STATES.includes(state)) return { state, error: null };
  const why = report.outcome === "skipped" ? "agent skipped the update" : report.outcome.replace("_", " ");
  return { state, error: report.error ? `${why}: ${report.error}` : why };
}

function rollbackOutcome(d: DeploymentRecord, report: Report): Outcome | undefined {
  const event = ROLLBACK_REPORT_EVENT[report.outcome];
  const state = nextDeploymentState(d.state, event);
  if (state === undefined) return undefined;
  if (event === "rollback-succeeded") return { state, error: null };
  return { state, error: `rollback ${report.outcome.replace("_", " ")}: ${report.error ?? "no detail"}` };
}
