import type { CountedFigures } from "./rollout-rules.js";
/**
 * What the hub's API returns, as far as the dashboard reads it. The hub's zod schemas are the
 * authority (shared/api/bodies.ts, hub/rollouts/view.ts); these mirror the fields shown.
 */
export interface AppStatus {
  app: string;
  version: string | null;
  state: string;
  releaseId?: string;
}

export interface Agent {
  id: string;
  hostname: string;
  labels: Record<string, string>;
  agentVersion: string;
  apps: AppStatus[];
  online: boolean;
  lastSeen: string;
}

export interface AgentPage {
  agents: Agent[];
  total: number;
  online: number;
  /** Matching agents before this page (with `after` or `before`, the hub counts them). */
  offset: number;
  limit: number | null;
  /** When matching agents follow the page: its last agent's id, passed back as `after`. */
  next?: string;
  fleet: number;
  facets?: { labels: Record<string, string[]>; apps: string[]; versions: string[]; states: string[] };
}

export interface ReportStep {
  name: string;
  ok: boolean;
  ms: number;
  log?: string;
}

/** One merged config file of an update: which keys kept the user's value, were added/updated/removed. */
export interface MergeReport {
  file: string;
  kept: string[];
  added: string[];
  updated: string[];
  removed: string[];
  /** Keys the operator deleted that stay deleted; absent when none. */
  deleted?: string[];
  warnings?: string[];
}

export interface ReportPayload {
  app?: string;
  outcome?: string;
  fromVersion?: string | null;
  toVersion?: string | null;
  error?: string;
  steps?: ReportStep[];
  merges?: MergeReport[];
  warnings?: string[];
}

export interface AgentDetail extends Agent {
  deployments: {
    id: string;
    rolloutId: string;
    state: string;
    wave: number;
    error: string | null;
    /** What its last report warned about; absent when nothing. */
    warnings?: string[];
  }[];
  /** `more`: the agent has deployments older than this page; `next` reads them (`?deployments_after=`). */
  deploymentsPage: { limit: number; more?: boolean; next?: string };
  /** `receivedAt`: ISO 8601, as every time the API gives. */
  reports: { id: string; deploymentId: string | null; payload: ReportPayload; receivedAt: string }[];
}

export interface Release {
  id: string;
  app: string;
  version: string;
  /** Absent in a listing without manifests (`releases?manifest=false`): read by id when opened. */
  manifest?: string;
  /** The manifest's description, as the hub reads it ("" when it has none). */
  description: string;
  /** What the hub's reader of the manifest warns about (an unknown key), one line each. */
  warnings?: string[];
  source: { type: string } & Record<string, unknown>;
  signature: string | null;
  /** ISO 8601, as every time the API gives. */
  created: string;
  createdBy: string;
}

export interface WaveSpec {
  name: string;
  percent?: number;
  labels?: Record<string, string>;
  agents?: string[];
  waitMinutes?: number;
  minSuccessRate?: number;
}

export interface RolloutSpec {
  id?: string;
  release: string;
  selector?: { labels: Record<string, string> };
  waves: WaveSpec[];
  failureThreshold: { percent: number } | { count: number };
  autoAdvance: boolean;
  autoRollback: boolean;
}

/** The hub's state machine table decides these; the dashboard only reads them (hub/rollouts/states.ts). */
export type RolloutAction = "advance" | "pause" | "resume" | "abort" | "abort-rollback";
export type ProgressGroup =
  | "succeeded"
  | "failed"
  | "rolled-back"
  | "in-progress"
  | "pending"
  | "cancelled"
  | "not-applicable"
  | "forgotten";

export interface RolloutSummary {
  id: string;
  state: string;
  /** Nothing more is delivered (completed, failed or aborted). */
  final: boolean;
  /** What the hub accepts now: every other action is refused with a 409. */
  actions: RolloutAction[];
  /** Deployments per group an operator reads a wave by. */
  progress: Record<ProgressGroup, number>;
  /** Of progress.failed, the updates whose host restored the previous version by itself. */
  restored: number;
  /** Of progress.succeeded, the agents on the release already, sent nothing (absent from older hubs). */
  alreadyOn?: number;
  reason: string | null;
  /** Halted on its failure threshold: a resume accepts the failures so far (absent from an older hub). */
  halted?: boolean;
  release: { id: string; app: string; version: string };
  currentWave: number;
  currentWaveName: string;
  /** A running auto-advancing rollout: the earliest time it leaves this wave (its waitMinutes). */
  autoAdvanceAt?: string;
  /** Agents not heard since the hub started, holding the auto-advance until then at the latest. */
  advanceHeldUntilHeard?: { agents: string[]; until: string };
  created: string;
  updated: string;
  counts: Record<string, number>;
}

export interface RolloutDetail extends RolloutSummary {
  spec: RolloutSpec;
  /** Agents a requested rollback could not reach. */
  notRolledBack: string[];
  /** What a percent failure threshold is of, as the engine counts it (over the waves started). */
  counted: CountedFigures;
  waves: {
    index: number;
    name: string;
    /** cancelled: never reached, and never will be (the rollout was aborted or failed first). */
    status: "done" | "active" | "waiting" | "cancelled";
    counts: Record<string, number>;
    progress: Record<ProgressGroup, number>;
    /** Failed updates whose host restored the previous version by itself. */
    restored: number;
    /** What its minSuccessRate is of, as the engine counts it. */
    counted: CountedFigures;
    agents: {
      agentId: string;
      state: string;
      online: boolean;
      /** The hub still owes it a rollback instruction (sent when it is online, else at its hello). */
      rollbackOwed: boolean;
      /** Runs of the update the agent started (deliveries and re-sends are not counted). */
      attempts: number;
      error: string | null;
      /** What its last report warned about (a success that warned is still a success). */
      warnings: string[];
      /** An offline agent the running rollout waits for: when it counts as failed if still away. */
      offlineFailsAt?: string;
    }[];
  }[];
}

export interface Preview {
  rolloutId: string;
  waves: { index: number; name: string; agents: string[] }[];
  unassigned: string[];
  /** Why the hub would refuse to start this rollout: it would hold no agent (a 400 at create). */
  nobody?: string;
  /** Why the hub would refuse it now: another rollout of the app is active (a 409 at create). */
  busy?: string;
  /** What the hub would accept but an operator should know first (a release older than agents run). */
  warnings?: string[];
}

export interface AuditEvent {
  id: number;
  at: string;
  actor: string;
  kind: string;
  subject: string;
  data: unknown;
}
