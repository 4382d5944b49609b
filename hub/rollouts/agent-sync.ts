import type { Hello, Progress, Report } from "../../shared/protocol/messages.js";
import { parseDeploymentId } from "../../shared/protocol/messages.js";
import type { DeploymentRecord, DeploymentState } from "../store/store.js";
import { recordEvent } from "./dispatch.js";
import type { RolloutEngine } from "./engine.js";

const UPDATE_REPORT_APPLIES = new Set<DeploymentState>([
  "pending",
  "sent",
  "in_progress",
  "timed_out",
  "failed",
]);

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
      for (const rollout of store.listRollouts({ states: ["running", "paused"], limit: 10_000 })) {
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
        const due = rollout.state === "running" && d.wave <= rollout.currentWave;
        if (d.state === "rollback_pending" || (due && ["pending", "sent", "in_progress"].includes(d.state)))
          dispatch.deployment(d, actor);
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
    if (d.state === "in_progress") {
      // A sign of life for the progress timeout; one write per few seconds is enough for that.
      if (now() - d.updatedAt >= PROGRESS_TOUCH_MS) store.updateDeployment(d.id, { updatedAt: now() });
      return;
    }
    if (d.state !== "sent" && d.state !== "pending") return;
    store.transaction(() => {
      store.updateDeployment(d.id, { state: "in_progress", updatedAt: now() });
      recordEvent(this.ctx, {
        actor: `agent:${agentId}`,
        kind: "deployment.in_progress",
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
      if (next.state === "failed") this.engine.evaluateLater(d.rolloutId);
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
  // After an abort with rollback, a late update report must not undo the rollback instruction.
  if (!UPDATE_REPORT_APPLIES.has(d.state) && d.state !== "succeeded") return undefined;
  if (report.outcome === "succeeded") return { state: "succeeded", error: null };
  const why = report.outcome === "skipped" ? "agent skipped the update" : report.outcome.replace("_", " ");
  return { state: "failed", error: report.error ? `${why}: ${report.error}` : why };
}

function rollbackOutcome(d: DeploymentRecord, report: Report): Outcome | undefined {
  if (d.state !== "rollback_pending") return undefined;
  if (report.outcome === "succeeded" || report.outcome === "skipped")
    return { state: "rolled_back", error: null };
  return {
    state: "failed",
    error: `rollback ${report.outcome.replace("_", " ")}: ${report.error ?? "no detail"}`,
  };
}
