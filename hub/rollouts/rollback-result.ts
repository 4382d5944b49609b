/** Sending a rollout's agents back, and what that achieved in the words `rollout show` and the dashboard use. */
import type { AppStatus } from "../../shared/protocol/messages.js";
import type { DeploymentUpdate, StoreOps } from "../store/async-store.js";
import type { DeploymentRecord, RolloutRecord } from "../store/store.js";
import type { Dispatch } from "./dispatch.js";
import { claimedReleaseApps, runsRelease } from "./found-installed.js";
import {
  type DeploymentEvent,
  type DeploymentState,
  deploymentStep,
  FORGOTTEN_DEPLOYMENT_STATES,
  HANDED_OVER_FROM_STATES,
  LEFT_INSTALLED_FROM_STATES,
  NOT_APPLICABLE_DEPLOYMENT_STATES,
  nextDeploymentState,
  ROLLBACK_IF_ON_RELEASE_STATES,
  UNSENT_DEPLOYMENT_STATES,
} from "./states.js";
import {
  ACTS_ON_UNMARKED,
  type Cond,
  holds,
  MARKED_TAKEN_OVER,
  MAY_HAVE_REACHED,
  NEVER_SENT_STATES,
  ROLLBACK_IMPOSSIBLE,
  ROLLBACK_TAKEN_OVER,
  rowTest,
  TOOK_OVER_AWAY,
  TOOK_OVER_BACK_ON,
} from "./take-over-rule.js";

export {
  NEVER_SENT_STATES,
  ROLLBACK_IMPOSSIBLE,
  ROLLBACK_TAKEN_OVER,
  TAKE_OVER_DUE_STATES,
  TAKE_OVER_UNDER_WAY_STATES,
} from "./take-over-rule.js";

/**
 * Starts the error of a failed update whose host put its previous release back by itself (its
 * report's outcome `rolled_back`): still a failure, and counted as `restored` by the stores (SQL) and
 * the views, so the rollout list, the rollout page, the CLI and the API say the same figure.
 */
export const RESTORED_BY_HOST = "rolled back";

/** The same as a condition, which the stores compile to SQL (`take-over-sql.ts`). */
export const RESTORED_BY_HOST_ROW: Cond = { prefix: "d.error", text: RESTORED_BY_HOST };

const restoredTest = rowTest(RESTORED_BY_HOST_ROW, ["error"]);
export function restoredByHost(d: Pick<DeploymentRecord, "error">): boolean {
  return restoredTest(d);
}

/**
 * Where a deployment its rollout never handed to the agent (no attempt) can end: still owed,
 * timed out while away, cancelled with its rollout, left out (not applicable, forgotten).
 */
const NEVER_DELIVERED_STATES: readonly DeploymentState[] = [
  ...UNSENT_DEPLOYMENT_STATES,
  ...NEVER_SENT_STATES,
  ...UNSENT_DEPLOYMENT_STATES.map((s) => nextDeploymentState(s, "cancel")).filter(
    (s): s is DeploymentState => s !== undefined,
  ),
  ...NOT_APPLICABLE_DEPLOYMENT_STATES,
  ...FORGOTTEN_DEPLOYMENT_STATES,
];

/**
 * Whether `d` can be how its agent came to run `d`'s release, so its previous release is what the
 * agent ran before that one (a later rollout of the release reads it as its rollback target when
 * it finds the agent on the release already). Not one its rollout never delivered: its previous
 * release is only what the agent ran when the rollout was planned. Not a failed update its host
 * restored: the agent never ran the release through it. Rows planned on the release already (no
 * attempt, `succeeded`/`failed`) carry on the target an earlier one gave them.
 */
export function broughtAgentToRelease(d: Pick<DeploymentRecord, "attempts" | "state" | "error">): boolean {
  if (restoredByHost(d)) return false;
  return d.attempts > 0 || !NEVER_DELIVERED_STATES.includes(d.state);
}

/** An earlier rollback found this deployment's agent taken over by a later rollout. */
const markedTest = rowTest(MARKED_TAKEN_OVER, ["error"]);
export function markedTakenOver(d: Pick<DeploymentRecord, "error">): boolean {
  return markedTest(d);
}

// Compiled once: a wave start's answer asks them of every one of 10,000 deployments.
const mayHaveReached = rowTest(MAY_HAVE_REACHED, ["attempts", "state"]);
const actsOnUnmarked = rowTest(ACTS_ON_UNMARKED, ["previousRelease", "error"]);
const NONE_RELEASED: ReadonlySet<string> = new Set();

/**
 * A rollback acts on the deployment: sends it back (its previous release is known), or records, once,
 * that it cannot (a second rollback has nothing new to say about it). Never one that timed out
 * before it was sent. One an earlier rollback found taken over only if its agent is `released`
 * (`releasedFromTakeOver`): it runs this rollout's release again and no later rollout holds it.
 */
export function rollbackActsOn(
  d: Pick<DeploymentRecord, "previousRelease" | "error" | "state" | "attempts" | "agentId">,
  released: ReadonlySet<string> = NONE_RELEASED,
): boolean {
  if (!mayHaveReached(d)) return false;
  if (markedTest(d)) return released.has(d.agentId);
  return actsOnUnmarked(d);
}

export interface RollbackResult {
  /** Agents marked for a return to their previous release, connected or not. */
  sentBack: number;
  /**
   * Of those, the agents connected to no hub when it was asked: their instruction waits for their
   * hello. "sent to 3" read as delivered while they were away, and nothing moved on their hosts.
   */
  queued?: string[];
  /** Agents the hub could not send back: it knows no previous release for them. */
  impossible: string[];
  /** Agents a later rollout of the app took over: sending them back would undo that one. */
  overtaken?: string[];
  /**
   * Agents an operator forgot (`ship-hub agents forget`): their instruction would only time out as
   * a failure; it is sent if they rejoin with a new token.
   */
  forgotten?: string[];
}

/**
 * "rollback sent to 2 agent(s); rollback queued for 1 offline agent(s), sent when they reconnect: a-4;
 * 1 agent(s) NOT rolled back (no previous release known): a-3".
 */
export function describeRollback({
  sentBack,
  impossible,
  overtaken = [],
  queued = [],
  forgotten = [],
}: RollbackResult): string {
  // "rollback sent to 0 agent(s)" read as a rollback that reached nobody, when nobody needed it.
  if (sentBack === 0 && impossible.length === 0 && overtaken.length === 0 && forgotten.length === 0)
    return "no agent to send back: none was updated to the release or left on it";
  const names = (ids: string[]) => ids.slice(0, 5).join(", ") + (ids.length > 5 ? ", …" : "");
  const not = (ids: string[], why: string) =>
    ids.length === 0 ? "" : `; ${ids.length} agent(s) NOT rolled back (${why}): ${names(ids)}`;
  const sent = sentBack - queued.length;
  const waiting =
    queued.length === 0
      ? ""
      : `rollback queued for ${queued.length} offline agent(s), sent when they reconnect: ${names(queued)}`;
  return (
    (sent === 0 && waiting !== ""
      ? waiting
      : `rollback sent to ${sent} agent(s)${waiting && `; ${waiting}`}`) +
    not(impossible, "no previous release known") +
    not(overtaken, "a later rollout of the app took them over") +
    not(forgotten, "forgotten by an operator: sent if they rejoin")
  );
}

/**
 * The agents a later rollout of `rollout`'s app took over, with that rollout's id: it sent them its
 * release (or found it there), or they are due in its current wave. One it planned but never sent
 * (cancelled, or a wave not reached) leaves them on this rollout's release; so does one whose
 * update ended with the agent back on this rollout's release (`tookOver`).
 */
async function takenOver(t: StoreOps, rollout: RolloutRecord): Promise<Map<string, string>> {
  const app = (await t.getRelease(rollout.releaseId))?.app;
  if (app === undefined) return new Map();
  const candidates: { other: DeploymentRecord; later: RolloutRecord }[] = [];
  // The app's rollouts, newest first: only those created after this one are read on. The limit
  // bounds the later ones only (an app has one active rollout at a time; 10,000 after this one
  // would be decades of daily releases), where it used to cut every app's rollouts of the hub.
  for (const later of await t.listRollouts({ app, limit: 10_000 })) {
    // Strictly later: an app has one active rollout at a time, so a later one was created after
    // this one ended; one created in the same millisecond (a test's fixed clock) is not taken as later.
    if (later.created <= rollout.created) break;
    for (const other of await t.listDeployments({ rolloutId: later.id })) candidates.push({ other, later });
  }
  // What each agent says it runs now (hello and reports name the hub release): read only for the
  // agents a later rollout planned, and only when there are some.
  const ids = [...new Set(candidates.map((c) => c.other.agentId))];
  const agents = ids.length > 0 ? await t.getAgents(ids) : [];
  const backOn = await agentsOnRelease(t, rollout.releaseId, agents);
  const taken = new Map<string, string>();
  for (const { other, later } of candidates)
    if (tookOver(other, later, backOn.has(other.agentId) ? rollout.releaseId : undefined))
      taken.set(other.agentId, later.id);
  return taken;
}

/**
 * Of `agents`, those whose announced apps (hello, last report) say they run `releaseId` now, by the
 * one rule the plan and the left-release judgement follow (`runsRelease`): the hub release id they
 * name, or, naming none (a host that installed it by other means, an agent that does not say), its
 * version. Matching the id alone, a host broken on the release by version was judged failed on it,
 * then not sent back by abort --rollback.
 */
export async function agentsOnRelease(
  t: Pick<StoreOps, "getRelease">,
  releaseId: string,
  agents: readonly { id: string; apps: readonly AppStatus[] }[],
): Promise<Set<string>> {
  if (agents.length === 0) return new Set();
  const release = await t.getRelease(releaseId);
  if (!release) return new Set();
  const releaseApps = await claimedReleaseApps(t, release.app, agents);
  return new Set(agents.filter((a) => runsRelease(a.apps, release, releaseApps)).map((a) => a.id));
}

/**
 * Of `deployments`, the agents an earlier rollback found taken over (`markedTakenOver`) that no
 * later rollout holds now (`taken`, read when not given) and that say they run `rollout`'s release
 * again: the later rollout is over and left them on it, so a rollback of `rollout` sends them back.
 * Nothing is read when no row carries the mark.
 */
export async function releasedFromTakeOver(
  t: StoreOps,
  rollout: RolloutRecord,
  deployments: readonly DeploymentRecord[],
  taken?: ReadonlyMap<string, string>,
): Promise<Set<string>> {
  const marked = deployments.filter(markedTakenOver).map((d) => d.agentId);
  if (marked.length === 0) return new Set();
  const holds = taken ?? (await takenOver(t, rollout));
  const free = marked.filter((id) => !holds.has(id));
  if (free.length === 0) return new Set();
  const agents = await t.getAgents(free);
  return agentsOnRelease(t, rollout.releaseId, agents);
}

/**
 * Whether `later`'s deployment `other` took its agent over (see `takenOver`). `runs`: the older
 * rollout's release when the agent says it runs that one now. A later update that is over and left
 * the agent there (it failed and the host restored the older release, or the later rollout's
 * rollback took it back) took nothing over: the host runs the older release, and a rollback of the
 * older rollout must reach it, not call it "taken over". One still under way (sent, updating, due,
 * timed out and owed again) does: the agent is about to leave that release.
 */
export function tookOver(other: DeploymentRecord, later: RolloutRecord, runs?: string): boolean {
  return runs === undefined
    ? holds(TOOK_OVER_AWAY, { l: other, lr: later })
    : holds(TOOK_OVER_BACK_ON, { l: other, lr: later, r: { releaseId: runs } });
}

/** The start of the error of a rollback instruction a later rollout of the app overtook. */
export const ROLLBACK_OVERTAKEN = "rollback not sent: a later rollout of the app";
/**
 * Starts the error of a rollback instruction `agents forget` ended: the host did not go back, and
 * is sent the instruction again if it rejoins with a new token (it may still run the release).
 */
export const ROLLBACK_FORGOTTEN = "rollback not sent: agent forgotten";
/** Of those, the instructions queued before the forget ended them (`agents forget` writes it). */
export const ROLLBACK_FORGOTTEN_AFTER = `${ROLLBACK_FORGOTTEN} by `;

/** A rollback instruction its agent was forgotten before answering (the rollout's reason counts these). */
export function forgottenOwingRollback(d: Pick<DeploymentRecord, "error">): boolean {
  return (d.error ?? "").startsWith(ROLLBACK_FORGOTTEN_AFTER);
}

/** The error of a rollback instruction its agent reported as not done (`outcome` not a success). */
export function rollbackNotDone(outcome: string, detail: string | undefined): string {
  return `${ROLLBACK_NOT_DONE}${outcome.replace("_", " ")}: ${detail ?? "no detail"}`;
}
const ROLLBACK_NOT_DONE = "rollback ";
const ROLLBACK_REPORTED = ["failed", "rolled back", "restore failed"].map((o) => `${ROLLBACK_NOT_DONE}${o}:`);

/** Its agent answered a rollback instruction with a failure or a refusal (its error says which). */
export function rollbackReportedNotDone(d: Pick<DeploymentRecord, "error">): boolean {
  const error = d.error;
  // Most rows have no error: asked of each of a wave start's 10,000, twice, in the API's answer.
  return error !== null && ROLLBACK_REPORTED.some((prefix) => error.startsWith(prefix));
}

/**
 * A rollback was asked for and did not take this deployment's agent back (its error says why): the
 * hub could not send it, or the agent reported it failed or refused it (the app disabled there
 * since). Those the agent answered were only counted as failures, so the "not rolled back" line
 * read as if every other host was back.
 */
export function notRolledBack(d: Pick<DeploymentRecord, "error">): boolean {
  const error = d.error ?? "";
  return (
    error.startsWith(ROLLBACK_IMPOSSIBLE) ||
    error.startsWith(ROLLBACK_OVERTAKEN) ||
    error.startsWith(ROLLBACK_FORGOTTEN) ||
    rollbackReportedNotDone(d)
  );
}

/**
 * A rollback instruction a later rollout overtook is not sent again (it would take the agent
 * back under the later release). It stays counted as it is; its error says why it is no longer
 * sent, written (with an event) once, not at every hello or delivery.
 */
export async function markOvertaken(
  dispatch: Dispatch,
  d: DeploymentRecord,
  later: string,
  actor: string,
): Promise<void> {
  const error = `${ROLLBACK_OVERTAKEN} (${later}) took this agent over`;
  if (d.error === error) return;
  await dispatch.t.updateDeployment(d.id, { error, updatedAt: dispatch.now });
  dispatch.record({ actor, kind: "deployment.rollback_overtaken", subject: d.id, data: { later, error } });
}

/**
 * A rollback instruction marked overtaken (`markOvertaken`) that is owed again: the later rollout
 * is over and left its agent on this rollout's release (`tookOver`). As it goes out again its
 * error no longer says "not sent" (the views counted it NOT rolled back while it was under way),
 * and an event says why it is sent after all.
 */
export async function resumeOvertaken(
  dispatch: Dispatch,
  d: DeploymentRecord,
  actor: string,
): Promise<DeploymentRecord> {
  if (!(d.error ?? "").startsWith(ROLLBACK_OVERTAKEN)) return d;
  await dispatch.t.updateDeployment(d.id, { error: null, updatedAt: dispatch.now });
  dispatch.record({
    actor,
    kind: `deployment.${d.state}`,
    subject: d.id,
    data: { agent: d.agentId, retry: "overtaken", error: d.error },
  });
  return { ...d, error: null };
}

/**
 * Of `rollout`'s rollback instructions `ds`, those still owed: one whose agent a later rollout of
 * the app took over since (it timed out while the agent was away, and the agent came back to the
 * later release) is marked overtaken instead, whichever path would send it (hello, an abort's
 * delivery, a cluster's wake-up).
 */
export async function owedRollbacks(
  dispatch: Dispatch,
  rollout: RolloutRecord,
  ds: readonly DeploymentRecord[],
  actor: string,
): Promise<DeploymentRecord[]> {
  if (ds.length === 0) return [];
  const taken = await takenOver(dispatch.t, rollout);
  const owed: DeploymentRecord[] = [];
  for (const d of ds) {
    const later = taken.get(d.agentId);
    if (later === undefined) owed.push(await resumeOvertaken(dispatch, d, actor));
    else await markOvertaken(dispatch, d, later, actor);
  }
  return owed;
}

/**
 * Marks every agent this rollout touched for a return to its previous release. An agent whose
 * previous release the hub does not have cannot be sent back: it is named in the result, in an
 * event and in its deployment's error, so nobody reads "rolled back" where nothing was.
 */
/**
 * Agents a rollback must reach though their row is not one it sends back by its state: those whose
 * failed update left the rollout's release installed (their last report or hello names it as the
 * release they run: they run the bad release), and those sent the release before whose row no
 * longer says so that still take the app (relabelled out of the selector, owed it again, cancelled,
 * forgotten: they may carry out the instruction they have, and a success reported after the
 * rollback left the host on the release). Only their rows are read.
 */
export async function leftOnRelease(
  t: StoreOps,
  rollout: RolloutRecord,
  deployments: readonly DeploymentRecord[],
  released?: ReadonlySet<string>,
): Promise<Set<string>> {
  const candidates = deployments.filter((d) => ROLLBACK_IF_ON_RELEASE_STATES.includes(d.state));
  const free = released ?? (await releasedFromTakeOver(t, rollout, candidates));
  const acted = candidates.filter((d) => rollbackActsOn(d, free));
  const failed = acted.filter((d) => LEFT_INSTALLED_FROM_STATES.includes(d.state)).map((d) => d.agentId);
  const handed = acted
    .filter((d) => HANDED_OVER_FROM_STATES.includes(d.state) && handedOver(d))
    .map((d) => d.agentId);
  const reached = new Set<string>();
  if (failed.length > 0)
    for (const id of await agentsOnRelease(t, rollout.releaseId, await t.getAgents(failed))) reached.add(id);
  if (handed.length > 0) {
    const app = (await t.getRelease(rollout.releaseId))?.app;
    for (const agent of await t.getAgents(handed))
      if (agent.apps.some((a) => a.app === app)) reached.add(agent.id);
  }
  return reached;
}

/**
 * Whether `d`'s agent may hold the release though its row no longer says so: it was sent it. A
 * forgotten one too, whether or not it said it had begun the update before it went: its host may
 * have run the instruction while the hub no longer heard it, so it is named and sent the rollback
 * if it rejoins. One forgotten with the rollback owed already is sent it when it rejoins, with
 * nothing new to mark.
 */
function handedOver(d: DeploymentRecord): boolean {
  if (d.attempts === 0) return false;
  if (!FORGOTTEN_DEPLOYMENT_STATES.includes(d.state)) return true;
  return !(d.error ?? "").startsWith(ROLLBACK_FORGOTTEN);
}

/** The event that sends `state` back when its agent is one `leftOnRelease` names. */
function reachedEvent(state: DeploymentState): DeploymentEvent {
  return LEFT_INSTALLED_FROM_STATES.includes(state) ? "rollback-left-installed" : "rollback-handed-over";
}

export async function markRollback(
  dispatch: Dispatch,
  rollout: RolloutRecord,
  actor: string,
): Promise<RollbackResult> {
  let sentBack = 0;
  const marked: string[] = [];
  const impossible: string[] = [];
  const overtaken: string[] = [];
  const now = dispatch.now;
  const updates: DeploymentUpdate[] = [];
  const taken = await takenOver(dispatch.t, rollout);
  const deployments = await dispatch.t.listDeployments({ rolloutId: rollout.id });
  const released = await releasedFromTakeOver(dispatch.t, rollout, deployments, taken);
  const leftOn = await leftOnRelease(dispatch.t, rollout, deployments, released);
  const backOf = (d: DeploymentRecord) =>
    rollbackActsOn(d, released)
      ? nextDeploymentState(d.state, leftOn.has(d.agentId) ? reachedEvent(d.state) : "rollback")
      : undefined;
  const gone = await forgottenOf(
    dispatch,
    deployments.filter((d) => backOf(d) !== undefined),
  );
  const forgotten: string[] = [];
  for (const d of deployments) {
    const back = backOf(d);
    if (back === undefined) continue;
    const later = taken.get(d.agentId);
    const error =
      later !== undefined
        ? `${ROLLBACK_TAKEN_OVER} (${later}) took this agent over`
        : d.previousRelease === null
          ? `${ROLLBACK_IMPOSSIBLE}: the hub has no release of the version it ran before`
          : undefined;
    if (error !== undefined) {
      updates.push({ id: d.id, state: d.state, error, updatedAt: now });
      dispatch.record({
        actor,
        kind: "deployment.rollback_impossible",
        subject: d.id,
        data: { agent: d.agentId, error },
      });
      (later !== undefined ? overtaken : impossible).push(d.agentId);
      continue;
    }
    if (gone.has(d.agentId)) {
      // As if forgotten after the instruction was queued (`agents forget` ends those too).
      const state = deploymentStep(back, "forget");
      const error = `${ROLLBACK_FORGOTTEN} before the rollback (\`ship-hub agents forget\`): not rolled back by this rollout (it may still run the release); sent if it connects with a new token`;
      updates.push({ id: d.id, state, error, updatedAt: now });
      dispatch.record({
        actor,
        kind: `deployment.${state}`,
        subject: d.id,
        data: { agent: d.agentId, error },
      });
      forgotten.push(d.agentId);
      continue;
    }
    // A take-over that ended is no longer this row's news: the rollback is. Nor is the answer to
    // an earlier rollback (refused with the app disabled, failed), asked again now: kept, the row
    // read "rollback failed: …" while pending and the rollout counted it both as "answered that it
    // failed or refused it" and "not answered yet", and listed it not rolled back.
    const stale = markedTakenOver(d) || rollbackReportedNotDone(d);
    updates.push({ id: d.id, state: back, error: stale ? null : d.error, updatedAt: now });
    dispatch.record({
      actor,
      kind: `deployment.${back}`,
      subject: d.id,
      data: { agent: d.agentId },
    });
    sentBack++;
    marked.push(d.agentId);
  }
  // One statement per chunk: an auto-rollback of a 10,000-agent rollout is not 10,000 round trips.
  if (updates.length > 0) await dispatch.t.updateDeployments(updates);
  return { sentBack, impossible, overtaken, forgotten, queued: await offlineOf(dispatch, marked) };
}

/** Of the deployments' agents, those an operator forgot (read only when there are any to ask about). */
async function forgottenOf(
  dispatch: Dispatch,
  deployments: readonly DeploymentRecord[],
): Promise<Set<string>> {
  if (deployments.length === 0) return new Set();
  const agents = await dispatch.t.getAgents(deployments.map((d) => d.agentId));
  return new Set(agents.filter((a) => a.forgottenAt !== undefined).map((a) => a.id));
}

/**
 * Of `agentIds`, those connected to no hub: not to this one, nor (in a cluster) to another, as the
 * stored presence says. The presence is read only when an agent is not connected here.
 */
async function offlineOf(dispatch: Dispatch, agentIds: readonly string[]): Promise<string[]> {
  const away = agentIds.filter((id) => !dispatch.canSend(id));
  // One hub alone: an agent that just closed may still read online in the store for a write's
  // time, and its rollback was then said "sent" while the agents view said offline.
  if (away.length === 0 || !dispatch.sharedPresence) return away;
  const online = new Set(await dispatch.t.listOnlineAgentIds());
  return away.filter((id) => !online.has(id));
}
