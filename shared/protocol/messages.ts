/**
 * Messages on the agent ↔ hub WebSocket (`/api/v1/agent`). Both halves parse every message with
 * these schemas; a message that does not parse is refused, never half-understood.
 */

import * as z from "zod";
import { MAX_APP_NAME } from "../app-name.js";
import { gitRefName } from "../schema/git-ref-name.js";
import { sha256Hex } from "../schema/sha256.js";
import { textStart } from "../text-cut.js";
import { MAX_VERSION_LENGTH } from "../versions.js";
import { AgentId, HelloLabels } from "./agent-id.js";
import { type ReportOutcome, reportOutcomes } from "./app-states.js";

/** Bumped when a message changes incompatibly; the hub refuses agents speaking another major. */
export const PROTOCOL_VERSION = 1;

const id = z.string().min(1).max(200);
const version = z.literal(PROTOCOL_VERSION).default(PROTOCOL_VERSION);
const labels = HelloLabels;

/** A release's version is at most this long (the API's body.version): no longer one can match one. */
export const MAX_REPORTED_VERSION = MAX_VERSION_LENGTH;

/**
 * A version an agent reports (its apps in a hello, a report's from and to): it was taken at any
 * length, so one agent token's hello naming a 300 KB version was stored, and every GET /agents page
 * carried it from then on. Cut, not refused: an agent that installed such a version by hand before
 * would otherwise be shut out of its hub, and no cut text matches a release either way.
 */
const reportedVersion = z
  .string()
  .transform((v) => (v.length > MAX_REPORTED_VERSION ? `${textStart(v, MAX_REPORTED_VERSION)}…` : v));

/** zod runs refinements even after `z.url()` failed, so they must not throw on a non-URL. */
function parsedUrl(text: string): URL | undefined {
  return URL.canParse(text) ? new URL(text) : undefined;
}

/** Release sources an agent resolves with its own credentials (DESIGN.md "Hub contract"). */
export const ReleaseSourceRef = z.discriminatedUnion("type", [
  z.strictObject({
    type: z.literal("hub"),
    sha256: sha256Hex(),
  }),
  z.strictObject({
    type: z.enum(["https", "http"]),
    url: z
      .url()
      .refine(
        (url) => /^https?:$/.test(parsedUrl(url)?.protocol ?? "http:"),
        "must be an http:// or https:// URL",
      )
      // The hub stores, lists and sends releases to every agent: a password in one would leak to all.
      .refine((url) => {
        const parsed = parsedUrl(url);
        return parsed === undefined || (parsed.username === "" && parsed.password === "");
      }, "must not contain credentials (user:password@); agents send their own [sources.APP.headers]"),
    sha256: sha256Hex(),
  }),
  z.strictObject({
    type: z.literal("sftp"),
    remote_path: z.string().min(1),
    sha256: sha256Hex(),
  }),
  z.strictObject({
    type: z.literal("git"),
    commit: z.string().regex(/^[0-9a-f]{7,64}$/, "must be a commit hash"),
    // Goes into the agent's fetch refspec: refused here, naming the field, before git sees it.
    tag: gitRefName().optional(),
  }),
]);
export type ReleaseSourceRef = z.infer<typeof ReleaseSourceRef>;

export const AppStatus = z.object({
  app: id,
  version: reportedVersion.nullable(),
  state: z.string().max(100),
  releaseId: id.optional(),
});
export type AppStatus = z.infer<typeof AppStatus>;

/**
 * Apps one agent's record keeps. A hello of 1,000 apps (each name, version, state and release id
 * near their limits: ~500 KB, under max_message_kb) was stored whole, and every GET /agents page
 * carried it from then on; a host runs a handful. A hello keeps the first ones, as its labels (a
 * hub refusing it would drop the agent from the fleet), and a report adds no app past them.
 */
export const MAX_APPS = 100;

/**
 * A hello's apps as the hub keeps them: each app once (its first entry), named as an app can be
 * (at most 100 characters: no release is named longer, so a longer one is no app the hub can act
 * on), the first MAX_APPS of them.
 */
const helloApps = z
  .array(AppStatus)
  .max(1000)
  .default([])
  .transform((apps) => {
    const kept = new Map<string, AppStatus>();
    for (const status of apps)
      if (status.app.length <= MAX_APP_NAME && !kept.has(status.app)) kept.set(status.app, status);
    return [...kept.values()].slice(0, MAX_APPS);
  });

export const Hello = z.object({
  type: z.literal("hello"),
  v: version,
  agentId: AgentId,
  hostname: z.string().max(255),
  labels: labels.default({}),
  agentVersion: z.string().max(100),
  apps: helloApps,
  /**
   * The agent's `[trust] allow_downgrade`: whether it takes a release older than what it runs.
   * Absent from older agents (the hub then assumes it refuses). The rollout preview warns by it.
   */
  allowDowngrade: z.boolean().optional(),
});

export const Progress = z.object({
  type: z.literal("progress"),
  v: version,
  deploymentId: id,
  step: z.string().max(200),
  percent: z.number().min(0).max(100).optional(),
  message: z.string().max(4000).optional(),
});

export { type ReportOutcome, reportOutcomes };

const keyPaths = z.array(z.string().max(1000)).max(1000);

/**
 * Which sending of an update instruction this is (the deployment's send count): a hub sends the
 * instruction again once the agent declined it (its app disabled, a conditional, a window) and it
 * fits again, and the agent echoes the number in its report. An older agent, which answered such a
 * second send from its record under the old reportId, echoes none: the hub, which dropped that
 * answer as a resend, tells it from a resend by that (found-declined-record.ts). Optional both
 * ways: an older hub sends none and ignores the echo.
 */
const instructionAttempt = z.number().int().positive().max(Number.MAX_SAFE_INTEGER);

/**
 * What one config merge did (`merge_toml` / `merge_json` / `merge_yaml`): dotted key paths the user's
 * value was kept for, and the keys added, updated and removed; warnings say what the file's form
 * lost (a rewrite, a rebuilt YAML file). The agent shortens longer lists to fit.
 */
export const MergeReport = z.object({
  file: z.string().max(1000),
  kept: keyPaths,
  added: keyPaths,
  updated: keyPaths,
  removed: keyPaths,
  /** Keys the operator deleted that stay deleted (the release ships them unchanged); absent when none. */
  deleted: keyPaths.optional(),
  warnings: z.array(z.string().max(2000)).max(50).default([]),
});
export type MergeReport = z.infer<typeof MergeReport>;

export const Report = z.object({
  type: z.literal("report"),
  v: version,
  /** Agent-generated; the hub stores each id once, so a resent report is harmless. */
  reportId: z.uuid(),
  deploymentId: id.optional(),
  app: id,
  releaseId: id.optional(),
  /** The hub release the app runs after this report (after a local rollback: the earlier one). */
  installedReleaseId: id.optional(),
  outcome: z.enum(reportOutcomes),
  fromVersion: reportedVersion.nullable(),
  toVersion: reportedVersion.nullable(),
  error: z.string().max(10_000).optional(),
  steps: z
    .array(
      z.object({
        name: z.string().max(200),
        ok: z.boolean(),
        ms: z.number().nonnegative(),
        log: z.string().max(20_000).optional(),
      }),
    )
    .max(200)
    .default([]),
  /** One entry per merged config file of the update (absent when nothing was merged). */
  merges: z.array(MergeReport).max(200).optional(),
  /**
   * What the update warned about, as `ship` prints it (a file ship had not installed replaced, its
   * copy in the backup; a `warn` conditional). Absent when there was nothing.
   */
  warnings: z.array(z.string().max(2000)).max(50).optional(),
  /**
   * The `attempt` of the Deploy this report answers, echoed (instructionAttempt). Absent from
   * older agents, and from a report of no instruction or of an instruction that carried none.
   */
  attempt: instructionAttempt.optional(),
});
export type Report = z.infer<typeof Report>;

export const AgentMessage = z.discriminatedUnion("type", [Hello, Progress, Report]);
export type AgentMessage = z.infer<typeof AgentMessage>;
export type Hello = z.infer<typeof Hello>;
export type Progress = z.infer<typeof Progress>;

export const DeployRelease = z.object({
  id: id,
  app: id,
  version: z.string(),
  manifest: z.string(),
  source: ReleaseSourceRef,
  signature: z.string().optional(),
});
export type DeployRelease = z.infer<typeof DeployRelease>;

export const Deploy = z.object({
  type: z.literal("deploy"),
  v: version,
  /** Stable per instruction: an agent that already handled this id does nothing. */
  deploymentId: id,
  app: id,
  release: DeployRelease,
  /** True when the hub sends the agent back to its previous release. */
  rollback: z.boolean(),
  /** Which sending of this update instruction it is (instructionAttempt); none on a rollback. */
  attempt: instructionAttempt.optional(),
});
export type Deploy = z.infer<typeof Deploy>;

export const HubMessage = z.discriminatedUnion("type", [
  Deploy,
  z.object({ type: z.literal("ack"), v: version, reportId: z.string() }),
  z.object({ type: z.literal("check_now"), v: version }),
  /** A fresh agent token (the current one is past half its life): the agent saves and uses it. */
  z.object({ type: z.literal("token"), v: version, token: z.string().min(1).max(4000), expires: z.string() }),
  z.object({ type: z.literal("error"), v: version, message: z.string() }),
]);
export type HubMessage = z.infer<typeof HubMessage>;

/** WebSocket path on the hub; the agent derives ws(s)://host:port + this from its hub url. */
export const AGENT_CHANNEL_PATH = "/api/v1/agent";
/**
 * Upgrade header naming the agent process (a random id per start): hubs sharing one database refuse
 * a second live connection of one agent id from another process (two hosts with one agent_id), and
 * let the same process move from one hub to another.
 */
export const AGENT_INSTANCE_HEADER = "x-ship-instance";

const ROLLBACK_SUFFIX = "~rollback";

/** The instruction id of a rollback differs from the update's, so agents do not dedupe it away. */
export function rollbackDeploymentId(deploymentId: string): string {
  return `${deploymentId}${ROLLBACK_SUFFIX}`;
}

export function parseDeploymentId(instructionId: string): { deploymentId: string; rollback: boolean } {
  return instructionId.endsWith(ROLLBACK_SUFFIX)
    ? { deploymentId: instructionId.slice(0, -ROLLBACK_SUFFIX.length), rollback: true }
    : { deploymentId: instructionId, rollback: false };
}
