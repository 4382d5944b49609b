/**
 * The rollout state machine in one place: the rollout and deployment states, ONE transition table
 * per machine ((from state, event) → to state), and every group the hub needs, derived from the
 * tables. The engine, the agent channel, the accounting, the views, the API (its 409s), the CLI
 * and, through the API's `final`/`actions`/`progress` fields, the dashboard read this file;
 * nothing else spells a state's name. A new state or event is added here and nowhere else; a
 * misspelt one does not compile.
 *
 * `pending` is not a rollout state: the SQL schema's CHECK (and PostgreSQL's one-active-rollout
 * index) still list it, but no code ever wrote it — `create` starts a rollout running — and a
 * state nothing reaches would only widen every check.
 */
import type { ReportOutcome } from "../../shared/protocol/messages.js";

export const rolloutStates = ["running", "paused", "completed", "aborted", "failed"] as const;
export type RolloutState = (typeof rolloutStates)[number];

export const deploymentStates = [
  "pending",
  "sent",
  "in_progress",
  "succeeded",
  "failed",
  "rolled_back",
  "rollback_pending",
  "timed_out",
  "cancelled",
  "rollback_timed_out",
  "not_applicable",
  "forgotten",
] as const;
export type DeploymentState = (typeof deploymentStates)[number];

/**
 * What an operator may ask of a rollout (`POST /rollouts/:id/<action>`; `abort-rollback` is
 * `abort` with `{"rollback": true}`). The dashboard's buttons carry the same names.
 */
export const rolloutActions = ["advance", "pause", "resume", "abort", "abort-rollback"] as const;
export type RolloutAction = (typeof rolloutActions)[number];

/** The engine's own decisions, on a report batch or a tick. */
export type RolloutDecision =
  | "auto-advance"
  | "halt" // failure threshold crossed, no autoRollback: an operator decides
  | "halt-rollback" // failure threshold crossed with autoRollback
  | "hold" // the last wave finished having tested nothing (or nobody took the release): an operator decides
  | "complete"; // the last wave finished
export type RolloutEvent = RolloutAction | RolloutDecision;

export type DeploymentEvent =
  | "send" // the instruction is handed to the agent's socket
  | "progress" // the agent reports a step (on in_progress: only a sign of life)
  | "report-succeeded"
  | "report-failed"
  // The same, from a report whose steps show the agent ran the update (a failed run, or a run its
  // host restored): a result of the release on that host, never a refusal to take it.
  | "report-run-failed"
  // The update failed and the host could not put its previous release back either: it is broken.
  | "report-restore-failed"
  | "offline-timeout" // the agent stayed offline past offline_timeout during its wave
  | "progress-timeout" // sent or in progress, no progress or report past progress_timeout
  // A timed-out agent is still owed the release: due again (pending) once it is back (hello) while
  // the rollout runs, or when an operator resumes the rollout while it is connected.
  | "redeliver"
  | "rollback" // abort with rollback, or auto-rollback: back to the previous release
  // The same, for a failed update its host left installed (the agent's last report names the
  // rollout's release as installed: `auto_rollback_on` kept it in place): it runs the bad release.
  | "rollback-left-installed"
  // The same, for an agent sent the release before whose row no longer says so, while it still
  // takes the app: relabelled out of the selector (not applicable), or owed it again (pending: back
  // in the selector, or retried after a timeout, while the rollout could not send it; cancelled
  // then by an abort), or forgotten by an operator while it held it (its host may have installed it
  // before it stopped: the rollback is owed if it rejoins). It may carry out the instruction it has,
  // and a success it reports after the rollback would leave the host on the release the operator
  // took back.
  | "rollback-handed-over"
  // The agent succeeded (or was found on the release), then says it runs another release of the app
  // while the rollout is still active: a `ship --rollback` or a restore on the host, a later run's
  // automatic rollback. The wave must not pass on a host that no longer runs the release: it is a
  // failure, counted against the threshold. A finished rollout's history is left as it was.
  | "left-release"
  // The same host, failed by `left-release`, says it runs the release well again while the rollout
  // is still under way (the operator reinstalled it, or undid the rollback): it is on the release,
  // as the wave counts it; a failure it no longer is would hold the wave (or halt it) for nothing.
  | "back-on-release"
  // The agent already runs the release (its hello or its stored status says so) while it is owed it
  // (due, or retried after a timeout) and was never handed it: it is not sent the release; the
  // update is done. Not from sent or in_progress, nor a timeout after a send (`attempts`,
  // found-installed.ts): a hello mid-update (an older agent's) names the new files before the
  // release's tests pass, so only the agent's report finishes an instruction it was handed.
  | "found-installed"
  // The rollout ended (aborted, or failed on its threshold) before the instruction was sent: the
  // agent will not be updated by it, and says so instead of waiting for ever as pending.
  | "cancel"
  // The agent's hello no longer fits the rollout: it does not name the app (`enabled = false`, or
  // its source removed from ship.toml, while it was away) or lacks the selector's labels. It would
  // refuse the release, or get one the operator took it out of: not sent, and the wave counts it
  // neither as a member nor as a failure.
  | "ineligible"
  // Its hello fits the rollout again (the app enabled once more, relabelled back): owed the release.
  | "eligible"
  // An operator took the agent out of the fleet (`ship-hub agents forget`, a decommissioned host)
  // while it was still owed the release: it will not take it, and its silence is no test of the
  // release, so it neither times out as a failure nor passes the wave as a member.
  | "forget"
  // A forgotten agent connected again with a new token: it is owed the release once more.
  | "rejoin"
  // The same, for an agent forgotten while it owed a rollback: it may still run the bad release.
  | "rejoin-rollback"
  | "rollback-succeeded"
  | "rollback-failed"
  // A rollback instruction unanswered past progress_timeout (tick): a failure the operator sees,
  // still sent again when the agent says hello (a broken host may come back and take it).
  | "rollback-timeout";

type Table<S extends string, E extends string> = { readonly [K in S]: { readonly [V in E]?: S } };

/** A rollout is created `running` in wave 0 (one active rollout per app). */
export const ROLLOUT_START = "running" satisfies RolloutState;

/**
 * Abort (without rollback) ends an active rollout only: aborting a finished one would rewrite its
 * outcome for nothing, so it is a 409 naming the state. Abort WITH rollback is also how an
 * operator takes back a release that turned out bad after it completed (or after an abort without
 * rollback), so it stays open on `completed` and `aborted`; on `failed` the hub already sent the
 * rollback when it halted, and the state says so.
 */
export const rolloutTransitions = {
  running: {
    advance: "running",
    "auto-advance": "running",
    pause: "paused",
    halt: "paused",
    "halt-rollback": "failed",
    hold: "paused",
    complete: "completed",
    abort: "aborted",
    "abort-rollback": "aborted",
  },
  // Agents sent the release before an operator paused go on updating: failures that cross the
  // threshold meanwhile halt it (auto-rollback too), or resume would accept them unseen.
  paused: {
    resume: "running",
    abort: "aborted",
    "abort-rollback": "aborted",
    halt: "paused",
    "halt-rollback": "failed",
  },
  completed: { "abort-rollback": "aborted" },
  aborted: { "abort-rollback": "aborted" },
  failed: {},
} as const satisfies Table<RolloutState, RolloutEvent>;

/**
 * A deployment is planned `pending`, or `succeeded` when its agent already runs the release — or
 * `failed` when it runs it but its last run of it failed (left installed, or a failed restore): the
 * agent would answer an instruction with "already on it", so it is not sent, and counts as failed.
 */
export const DEPLOYMENT_PLANNED = {
  toInstall: "pending",
  alreadyThere: "succeeded",
  brokenThere: "failed",
} as const satisfies Record<string, DeploymentState>;

// A late update report counts in every state it can describe (a timed-out agent that finishes
// after all still succeeded), but never undoes a rollback instruction or its result (a late
// failure of the update is recorded while the rollback is pending: see rollback_pending).
const UPDATE_REPORTED = {
  "report-succeeded": "succeeded",
  "report-failed": "failed",
  "report-run-failed": "failed",
  "report-restore-failed": "failed",
} as const;

export const deploymentTransitions = {
  pending: {
    send: "sent",
    progress: "in_progress",
    ...UPDATE_REPORTED,
    "offline-timeout": "timed_out",
    cancel: "cancelled",
    "found-installed": "succeeded",
    ineligible: "not_applicable",
    forget: "forgotten",
    "rollback-handed-over": "rollback_pending",
  },
  sent: {
    progress: "in_progress",
    ...UPDATE_REPORTED,
    "offline-timeout": "timed_out",
    "progress-timeout": "timed_out",
    rollback: "rollback_pending",
    ineligible: "not_applicable",
    forget: "forgotten",
  },
  in_progress: {
    progress: "in_progress",
    ...UPDATE_REPORTED,
    "offline-timeout": "timed_out",
    "progress-timeout": "timed_out",
    rollback: "rollback_pending",
    ineligible: "not_applicable",
    forget: "forgotten",
  },
  succeeded: { ...UPDATE_REPORTED, rollback: "rollback_pending", "left-release": "failed" },
  failed: {
    ...UPDATE_REPORTED,
    "rollback-left-installed": "rollback_pending",
    "back-on-release": "succeeded",
  },
  // Timed out after it was sent, the agent may have installed the release while away: a rollback
  // sends it back too (one that never got it answers that it runs the previous release already).
  timed_out: {
    ...UPDATE_REPORTED,
    redeliver: "pending",
    rollback: "rollback_pending",
    "found-installed": "succeeded",
    ineligible: "not_applicable",
    forget: "forgotten",
  },
  // An update still under way when the rollback was asked for may end in failure before the
  // rollback instruction is carried out: the update failed and its host runs the previous release
  // again by itself (or never left it), so the wave counts it as failed, not as rolled back by the
  // hub. A host whose restore failed is broken: the instruction stays owed, it may repair it. A
  // success still waits for the rollback, which takes the release back.
  // Forgotten, its host is gone as far as the operator knows: the instruction would only time out
  // as a failure of a rollout nobody can act on any more (and its revoked token cannot fetch it).
  rollback_pending: {
    "report-failed": "failed",
    "report-run-failed": "failed",
    "rollback-succeeded": "rolled_back",
    "rollback-failed": "failed",
    "rollback-timeout": "rollback_timed_out",
    forget: "forgotten",
  },
  rollback_timed_out: {
    "report-failed": "failed",
    "report-run-failed": "failed",
    "rollback-succeeded": "rolled_back",
    "rollback-failed": "failed",
    forget: "forgotten",
  },
  rolled_back: {},
  // Not sent by this rollout now; a late report (an earlier send of a retried agent) still counts.
  cancelled: { ...UPDATE_REPORTED, "rollback-handed-over": "rollback_pending" },
  // The agent refuses a release for an app it does not take, and says so in a failed report that
  // may still come (an instruction it had on disk): not a failure of the release. But an agent
  // relabelled out of the selector after it was sent the release still carries it out: a report of
  // that run (a success, a failed run, a broken restore) is what happened on the host, and counts.
  not_applicable: {
    "report-succeeded": "succeeded",
    "report-run-failed": "failed",
    "report-restore-failed": "failed",
    eligible: "pending",
    "rollback-handed-over": "rollback_pending",
  },
  // Its host is gone as far as the operator knows. A report it still sends (an update it finished
  // before it was stopped) counts; a hello with a new token makes it owed the release again.
  forgotten: {
    ...UPDATE_REPORTED,
    rejoin: "pending",
    "rejoin-rollback": "rollback_pending",
    "rollback-handed-over": "rollback_pending",
  },
} as const satisfies Table<DeploymentState, DeploymentEvent>;

/** Which event an agent's report is, by its outcome: for the update, and for a rollback instruction. */
export const UPDATE_REPORT_EVENT = {
  succeeded: "report-succeeded",
  failed: "report-failed",
  rolled_back: "report-failed",
  restore_failed: "report-restore-failed",
  skipped: "report-failed",
} as const satisfies Record<ReportOutcome, DeploymentEvent>;
// A skipped rollback means the agent already runs the previous release: it is back.
export const ROLLBACK_REPORT_EVENT = {
  succeeded: "rollback-succeeded",
  skipped: "rollback-succeeded",
  failed: "rollback-failed",
  rolled_back: "rollback-failed",
  restore_failed: "rollback-failed",
} as const satisfies Record<ReportOutcome, DeploymentEvent>;

/** The state `event` moves a rollout in `from` to, or undefined when the table has no such move. */
export function nextRolloutState(from: RolloutState, event: RolloutEvent): RolloutState | undefined {
  const row: { readonly [E in RolloutEvent]?: RolloutState } = rolloutTransitions[from];
  return row[event];
}

export function nextDeploymentState(
  from: DeploymentState,
  event: DeploymentEvent,
): DeploymentState | undefined {
  const row: { readonly [E in DeploymentEvent]?: DeploymentState } = deploymentTransitions[from];
  return row[event];
}

/**
 * The move the engine is about to write, for a state it already checked: a move the table lacks
 * is a bug in the hub, not a request to refuse, so it throws instead of writing an illegal state.
 */
export function rolloutStep(from: RolloutState, event: RolloutEvent): RolloutState {
  const to = nextRolloutState(from, event);
  if (to === undefined) throw new Error(`rollout state machine: no "${event}" from ${from}`);
  return to;
}

export function deploymentStep(from: DeploymentState, event: DeploymentEvent): DeploymentState {
  const to = nextDeploymentState(from, event);
  if (to === undefined) throw new Error(`deployment state machine: no "${event}" from ${from}`);
  return to;
}

function rolloutStatesWith(event: RolloutEvent): readonly RolloutState[] {
  return rolloutStates.filter((s) => nextRolloutState(s, event) !== undefined);
}

function deploymentStatesWith(event: DeploymentEvent): readonly DeploymentState[] {
  return deploymentStates.filter((s) => nextDeploymentState(s, event) !== undefined);
}

/** Active: the rollout still delivers and can be aborted; one per app at a time. */
export const ACTIVE_ROLLOUT_STATES = rolloutStatesWith("abort");
/** Final: nothing more is delivered; `rollout show --watch` stops here. */
export const FINAL_ROLLOUT_STATES = rolloutStates.filter((s) => !ACTIVE_ROLLOUT_STATES.includes(s));
/** Running: the engine evaluates it every tick and its due agents get the update. */
export const RUNNING_ROLLOUT_STATES = rolloutStatesWith("complete");

/** The rollout events that send deployments back (`rollback`): abort with rollback, auto-rollback. */
const ROLLBACK_ROLLOUT_EVENTS = [
  "abort-rollback",
  "halt-rollback",
] as const satisfies readonly RolloutEvent[];
/**
 * Where a rollout can be while rollback instructions are outstanding: where the rollback events
 * lead, and every state reachable from there. Not `running`: a wake-up for a running rollout
 * need not look for rollback instructions.
 */
export const ROLLBACK_ROLLOUT_STATES: readonly RolloutState[] = (() => {
  const reached = new Set<RolloutState>();
  const visit = (s: RolloutState | undefined) => {
    if (s === undefined || reached.has(s)) return;
    reached.add(s);
    for (const to of Object.values(rolloutTransitions[s]) as RolloutState[]) visit(to);
  };
  for (const from of rolloutStates) for (const e of ROLLBACK_ROLLOUT_EVENTS) visit(nextRolloutState(from, e));
  return rolloutStates.filter((s) => reached.has(s));
})();

/**
 * Whether a rollout entering `to` will never send its unsent instructions: final and not completed
 * (a completed rollout still sends its release to a latecomer). Its `pending` deployments are
 * `cancel`led then, so no view shows them waiting for a wave that will never come.
 */
export function cancelsUnsent(to: RolloutState): boolean {
  return isFinalRollout(to) && !isCompletedRollout(to);
}

/** Where the last wave finishing leads: the one final state that is a success (exit 0 of --watch). */
export function isCompletedRollout(state: RolloutState): boolean {
  return rolloutStates.some((from) => nextRolloutState(from, "complete") === state);
}

export function isFinalRollout(state: RolloutState): boolean {
  return FINAL_ROLLOUT_STATES.includes(state);
}

export function isRunningRollout(state: RolloutState): boolean {
  return RUNNING_ROLLOUT_STATES.includes(state);
}

/** The operator's actions the table allows from `state`. */
export function allowedRolloutActions(state: RolloutState): RolloutAction[] {
  return rolloutActions.filter((a) => nextRolloutState(state, a) !== undefined);
}

/**
 * What the hub accepts now (the API's `actions`, the buttons the dashboard enables): the table's
 * actions, except abort with rollback while none of its agents could be sent back (`rollbackable`:
 * deployments in a state `rollback` leaves from whose previous release the hub knows): refused
 * (409), so not offered either. On an active rollout that updated nobody (nothing sent yet, or a
 * canary whose host restored itself) it was offered, and "aborted; no agent to send back" was all
 * it did: plain abort is what ends it.
 */
export function offeredRolloutActions(state: RolloutState, rollbackable: number): RolloutAction[] {
  return allowedRolloutActions(state).filter((a) => a !== "abort-rollback" || rollbackable > 0);
}

/** "a", "a or b", "a, b or c". */
function orList(words: readonly string[]): string {
  return words.length <= 1 ? words.join("") : `${words.slice(0, -1).join(", ")} or ${words.at(-1)}`;
}

const ACTION_WORDS: Record<RolloutAction, string> = {
  advance: "advance",
  pause: "pause",
  resume: "resume",
  abort: "abort",
  "abort-rollback": "abort with rollback",
};

/** "pause, abort, abort with rollback": actions as a refusal names them. */
export function actionsText(actions: readonly RolloutAction[]): string {
  return actions.map((a) => ACTION_WORDS[a]).join(", ");
}

/**
 * Why `action` is refused on a rollout in `state`, for a 409: the state, which states the action
 * applies to, and what is allowed now. Undefined when the table allows it.
 */
export function rolloutRefusal(
  id: string,
  state: RolloutState,
  action: RolloutAction,
  offered: readonly RolloutAction[] = allowedRolloutActions(state),
  /** Who brought it to its state, and when (`paused 12 s ago by alice (…)`), said beside the state. */
  since?: string,
): string | undefined {
  if (nextRolloutState(state, action) !== undefined) return undefined;
  const from = rolloutStates.filter((s) => nextRolloutState(s, action) !== undefined);
  const none =
    allowedRolloutActions(state).length === 0
      ? `a ${state} rollout allows no action`
      : "nothing is allowed now (none of its agents is left to roll back)";
  return (
    `rollout ${id} is ${state}${since === undefined ? "" : ` (${since})`}: ${ACTION_WORDS[action]} applies to a ${orList(from)} rollout; ` +
    (offered.length === 0 ? none : `allowed now: ${actionsText(offered)}`)
  );
}

/** Waiting for its agent to install: (re)sent when its wave is due, timed out when the agent stays away. */
export const DELIVERABLE_DEPLOYMENT_STATES = deploymentStatesWith("offline-timeout");
/** Timed out, not reported: due again when its agent is back and the rollout runs (`redeliver`). */
export const REDELIVERABLE_DEPLOYMENT_STATES = deploymentStatesWith("redeliver");
/** Never handed to the agent: it has not been told of the release (nor may fetch its artifact). */
export const UNSENT_DEPLOYMENT_STATES = deploymentStatesWith("send");

/** Handed to the agent's socket and not heard from since: where `send` leads. */
export const SENT_DEPLOYMENT_STATES: readonly DeploymentState[] = [
  ...new Set(
    UNSENT_DEPLOYMENT_STATES.map((s) => nextDeploymentState(s, "send")).filter(
      (s): s is DeploymentState => s !== undefined,
    ),
  ),
];

/** Where the agent's progress leads: it told the hub it holds the instruction and is at work on it. */
export const AT_WORK_DEPLOYMENT_STATES = deploymentStatesAfter("progress");

/** Never sent, and not going to be while its rollout no longer delivers (`cancel`). */
export const CANCELLABLE_DEPLOYMENT_STATES = deploymentStatesWith("cancel");

/** Sent and not heard from: what the progress timeout watches. */
export const STALLED_DEPLOYMENT_STATES = deploymentStatesWith("progress-timeout");
/** Touched by this rollout's release: what a rollback sends back. */
export const ROLLBACK_FROM_STATES = deploymentStatesWith("rollback");
/** Failed, and perhaps left on the release by its host: a rollback sends those back too. */
export const LEFT_INSTALLED_FROM_STATES = deploymentStatesWith("rollback-left-installed");
/**
 * Not applicable, owed the release again, cancelled or forgotten, perhaps after it was handed over
 * (an attempt was made): a rollback sends those back too (a forgotten one when it rejoins).
 */
export const HANDED_OVER_FROM_STATES = deploymentStatesWith("rollback-handed-over");
/** Where a rollback reaches an agent only when its host may run the release (`leftOnRelease`). */
export const ROLLBACK_IF_ON_RELEASE_STATES = [...LEFT_INSTALLED_FROM_STATES, ...HANDED_OVER_FROM_STATES];
/** A rollback instruction the agent has not answered: sent whatever the rollout's state. */
export const ROLLBACK_DELIVERABLE_STATES = deploymentStatesWith("rollback-succeeded");
/** A rollback instruction the agent has not answered yet, before its timeout: what the tick watches. */
export const ROLLBACK_TIMEOUT_STATES = deploymentStatesWith("rollback-timeout");

/** Where `event` leads, from any state. */
function deploymentStatesAfter(event: DeploymentEvent): readonly DeploymentState[] {
  return deploymentStates.filter((s) =>
    deploymentStates.some((from) => nextDeploymentState(from, event) === s),
  );
}
/** Where a failed report of the update leads: a host that restored itself is counted there. */
export const REPORTED_FAILED_STATES = deploymentStatesAfter("report-failed");
/** Where an agent's failed answer to a rollback instruction leads. */
export const ROLLBACK_FAILED_STATES = deploymentStatesAfter("rollback-failed");
/** Where a rollback instruction owed to an agent an operator forgot leads. */
export const ROLLBACK_FORGOTTEN_STATES: readonly DeploymentState[] = [
  ...new Set(
    ROLLBACK_DELIVERABLE_STATES.map((s) => nextDeploymentState(s, "forget")).filter(
      (s): s is DeploymentState => s !== undefined,
    ),
  ),
];
/** A rollback instruction was handed out: owed, timed out unanswered, or carried out. */
export const ROLLBACK_SENT_STATES: readonly DeploymentState[] = [
  ...new Set([...ROLLBACK_DELIVERABLE_STATES, ...deploymentStatesAfter("rollback-succeeded")]),
];

/** Counted as on the release: what a hello or report saying the host runs another one re-judges. */
export const LEAVABLE_DEPLOYMENT_STATES = deploymentStatesWith("left-release");

/** Owed to an agent that no longer fits the rollout: left out of the wave's figures and threshold. */
export const NOT_APPLICABLE_DEPLOYMENT_STATES = deploymentStatesWith("eligible");
/** Owed to an agent an operator forgot: left out of the wave's figures and threshold, as not applicable. */
export const FORGOTTEN_DEPLOYMENT_STATES = deploymentStatesWith("rejoin");
/** Open deployments `agents forget` ends (`forget`): what the agent still owed, an update or a rollback. */
export const FORGETTABLE_DEPLOYMENT_STATES = deploymentStatesWith("forget");
/** Open deployments a hello that no longer fits their rollout makes not applicable. */
export const INELIGIBLE_FROM_STATES = deploymentStatesWith("ineligible");

/** Where the agent owes nothing more. */
export const FINISHED_DEPLOYMENT_STATES = deploymentStates.filter(
  (s) => !DELIVERABLE_DEPLOYMENT_STATES.includes(s) && !ROLLBACK_DELIVERABLE_STATES.includes(s),
);
/** Counted against the failure threshold: where a failed report or a timeout leads. */
export const FAILED_DEPLOYMENT_STATES = deploymentStates.filter((s) =>
  (
    [
      "report-failed",
      "report-restore-failed",
      "left-release",
      "offline-timeout",
      "progress-timeout",
      "rollback-failed",
      "rollback-timeout",
    ] as const
  ).some((e) => deploymentStates.some((from) => nextDeploymentState(from, e) === s)),
);
export const SUCCEEDED_DEPLOYMENT_STATES = deploymentStates.filter((s) =>
  deploymentStates.some((from) => nextDeploymentState(from, "report-succeeded") === s),
);

/** Where the agent's report of the update leads: with the instruction sent first, it tested the release. */
export const ANSWERED_DEPLOYMENT_STATES = deploymentStates.filter((s) =>
  (["report-succeeded", "report-failed", "report-restore-failed"] as const).some((e) =>
    deploymentStates.some((from) => nextDeploymentState(from, e) === s),
  ),
);
/** Counted failed because the agent stayed away or silent past a timeout: it answered nothing. */
export const UNANSWERED_DEPLOYMENT_STATES = deploymentStates.filter((s) =>
  (["offline-timeout", "progress-timeout"] as const).some((e) =>
    deploymentStates.some((from) => nextDeploymentState(from, e) === s),
  ),
);

export function isDeliverable(state: DeploymentState): boolean {
  return DELIVERABLE_DEPLOYMENT_STATES.includes(state);
}
export function isRedeliverable(state: DeploymentState): boolean {
  return REDELIVERABLE_DEPLOYMENT_STATES.includes(state);
}
export function isRollbackDeliverable(state: DeploymentState): boolean {
  return ROLLBACK_DELIVERABLE_STATES.includes(state);
}

/**
 * How an operator reads a wave (the dashboard's bar and the rollout list): each deployment state
 * in exactly one group. The API sends these counts, so the dashboard names no state itself.
 */
export const progressGroups = [
  "succeeded",
  "failed",
  "rolled-back",
  "in-progress",
  "pending",
  "cancelled",
  "not-applicable",
  "forgotten",
] as const;
export type ProgressGroup = (typeof progressGroups)[number];
export const PROGRESS_GROUP = {
  pending: "pending",
  sent: "in-progress",
  in_progress: "in-progress",
  rollback_pending: "in-progress",
  succeeded: "succeeded",
  failed: "failed",
  timed_out: "failed",
  rolled_back: "rolled-back",
  cancelled: "cancelled",
  rollback_timed_out: "failed",
  not_applicable: "not-applicable",
  forgotten: "forgotten",
} as const satisfies Record<DeploymentState, ProgressGroup>;

/**
 * The one order every view lists deployment states in (the API's `counts`, `rollout list` and
 * `rollout show`, each wave): by the group the dashboard's bar shows them in, then as the table
 * lists them. So the list, the detail and the dashboard read alike, whatever order the store or
 * the deployments came in.
 */
export const DEPLOYMENT_STATE_ORDER: readonly DeploymentState[] = progressGroups.flatMap((g) =>
  deploymentStates.filter((s) => PROGRESS_GROUP[s] === g),
);

/** `counts` with its keys in `DEPLOYMENT_STATE_ORDER` (a state it does not know goes last, kept). */
export function inStateOrder(counts: Readonly<Record<string, number>>): Record<string, number> {
  const rank = (s: string) => {
    const i = DEPLOYMENT_STATE_ORDER.indexOf(s as DeploymentState);
    return i === -1 ? DEPLOYMENT_STATE_ORDER.length : i;
  };
  return Object.fromEntries(Object.entries(counts).sort(([a], [b]) => rank(a) - rank(b)));
}
