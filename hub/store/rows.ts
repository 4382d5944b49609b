/**
 * Row → record mapping for the SQLite and PostgreSQL stores; columns are snake_case, records
 * camelCase. Both hand JSON columns over as text and numbers as numbers (or numeric strings).
 */
import type { RolloutSpec } from "../../shared/api/bodies.js";
import type { AppStatus, ReleaseSourceRef } from "../../shared/protocol/messages.js";
import type {
  AgentDeploymentPage,
  AgentRecord,
  DeploymentRecord,
  DeploymentState,
  EventRecord,
  ReleaseRecord,
  ReportRecord,
  Role,
  RolloutRecord,
  RolloutState,
  TokenRecord,
} from "./store.js";

export type Row = Record<string, unknown>;
export const str = (v: unknown): string => String(v);
export const strOrNull = (v: unknown): string | null => (v === null || v === undefined ? null : String(v));
export const num = (v: unknown): number => Number(v);
// Stored JSON was written by the store from validated values; parsing it back needs no re-check.
export const json = <T>(v: unknown): T => JSON.parse(String(v)) as T;

export function toToken(r: Row): TokenRecord {
  return {
    jti: str(r.jti),
    role: str(r.role) as Role,
    name: str(r.name),
    agentId: strOrNull(r.agent_id),
    created: num(r.created),
    expires: num(r.expires),
    revoked: r.revoked === null ? null : num(r.revoked),
    renewedFrom: strOrNull(r.renewed_from),
  };
}

export function toRelease(r: Row): ReleaseRecord {
  return {
    id: str(r.id),
    app: str(r.app),
    version: str(r.version),
    manifest: str(r.manifest),
    source: json<ReleaseSourceRef>(r.source),
    signature: strOrNull(r.signature),
    created: num(r.created),
    createdBy: str(r.created_by),
    ...(r.warnings === null || r.warnings === undefined ? {} : { warnings: json<string[]>(r.warnings) }),
  };
}

/**
 * The agents columns toAgent reads, which agent reads select instead of `*`: a wave start lists
 * every agent of the fleet before the commit every hub waits for, and the presence columns
 * (hub_id, epoch, instance_id, instance_remote) are no part of a record; on PostgreSQL the
 * listing of 10,000 agents cost ~20 % more of the database's CPU with them (round 40).
 */
export const AGENT_COLUMNS = [
  "id",
  "hostname",
  "labels",
  "agent_version",
  "apps",
  "online",
  "last_seen",
  "allow_downgrade",
  "forgotten_at",
] as const;
/** AGENT_COLUMNS as a select list. */
export const AGENT_SELECT = AGENT_COLUMNS.join(", ");

export function toAgent(r: Row): AgentRecord {
  return {
    id: str(r.id),
    hostname: str(r.hostname),
    labels: json<Record<string, string>>(r.labels),
    agentVersion: str(r.agent_version),
    apps: json<AppStatus[]>(r.apps),
    online: num(r.online) === 1,
    lastSeen: num(r.last_seen),
    ...(r.allow_downgrade === null || r.allow_downgrade === undefined
      ? {}
      : { allowDowngrade: r.allow_downgrade === true || r.allow_downgrade === 1 }),
    ...(r.forgotten_at === null || r.forgotten_at === undefined ? {} : { forgottenAt: num(r.forgotten_at) }),
  };
}

export function toRollout(r: Row): RolloutRecord {
  return {
    id: str(r.id),
    releaseId: str(r.release_id),
    spec: json<RolloutSpec>(r.spec),
    state: str(r.state) as RolloutState,
    currentWave: num(r.current_wave),
    waveStartedAt: num(r.wave_started_at),
    reason: strOrNull(r.reason),
    failureAllowance: num(r.failure_allowance),
    created: num(r.created),
    updated: num(r.updated),
  };
}

export function toDeployment(r: Row): DeploymentRecord {
  return {
    id: str(r.id),
    rolloutId: str(r.rollout_id),
    agentId: str(r.agent_id),
    wave: num(r.wave),
    desiredRelease: str(r.desired_release),
    previousRelease: strOrNull(r.previous_release),
    state: str(r.state) as DeploymentState,
    attempts: num(r.attempts),
    started: num(r.started),
    updatedAt: num(r.updated_at),
    ...errorAndWarnings(strOrNull(r.error), strOrNull(r.warnings)),
  };
}

/**
 * `pageAgentDeployments`' answer from at most `limit + 1` rows in its order, each with its
 * rollout's `created` as `rollout_created`: the extra row only says that more exist.
 */
export function toAgentDeploymentPage(rows: readonly Row[], limit: number): AgentDeploymentPage {
  const page = rows.slice(0, limit);
  const last = page.at(-1);
  return {
    deployments: page.map(toDeployment),
    ...(rows.length > limit && last
      ? { next: { created: num(last.rollout_created), id: str(last.id) } }
      : {}),
  };
}

const WARNING_MARK = "warning: ";
const MORE_WARNINGS = / more on the agent's page \(dashboard, GET \/api\/v1\/agents\/[^)]*\)$/;

/**
 * A row's error and warnings. Rows written before warnings had their own column (NULL there) carry
 * them in `error` after any reason, as `warning: …; warning: …[; N more on the agent's page (…)]`:
 * read apart, so an old success does not show its warnings as an error.
 */
function errorAndWarnings(
  error: string | null,
  warnings: string | null,
): Pick<DeploymentRecord, "error" | "warnings"> {
  if (warnings !== null) {
    const list = json<string[]>(warnings);
    return list.length === 0 ? { error } : { error, warnings: list };
  }
  if (error === null) return { error };
  const at = error.startsWith(WARNING_MARK) ? 0 : error.indexOf(`; ${WARNING_MARK}`);
  if (at === -1) return { error };
  const said = at === 0 ? null : error.slice(0, at);
  const parts = error
    .slice(at === 0 ? WARNING_MARK.length : at + 2 + WARNING_MARK.length)
    .split(`; ${WARNING_MARK}`);
  const last = parts.pop() ?? "";
  const more = last.lastIndexOf("; ");
  const tail = more === -1 ? "" : last.slice(more + 2);
  const list = MORE_WARNINGS.test(tail) ? [...parts, last.slice(0, more), tail] : [...parts, last];
  return { error: said, warnings: list };
}

export function toReport(r: Row): ReportRecord {
  return {
    id: str(r.id),
    agentId: str(r.agent_id),
    deploymentId: strOrNull(r.deployment_id),
    payload: json<unknown>(r.payload),
    receivedAt: num(r.received_at),
  };
}

export function toEvent(r: Row): EventRecord {
  return {
    id: num(r.id),
    at: num(r.at),
    actor: str(r.actor),
    kind: str(r.kind),
    subject: str(r.subject),
    data: json<unknown>(r.data),
  };
}
