/**
 * The update manifest (`update-manifest.yaml` at a release's root): every key of the seed README
 * plus DESIGN.md. This schema is the type, the validator and the JSON Schema; objects are strict so
 * the loader can report unknown keys (a typo must never silently disable a safety setting).
 */
import * as z from "zod";
import {
  delaySeconds,
  MAX_NOTIFY_SECONDS,
  retryCount,
  spanHours,
  timeoutSeconds,
} from "../schema/durations.js";
import { httpHeaders } from "../schema/http-headers.js";
import { httpUrl } from "../schema/http-url.js";
import { freeSpaceMegabytes } from "../schema/megabytes.js";
import { nonEmptyText } from "../schema/non-empty.js";
import { serviceName } from "../schema/service-name.js";
import {
  MAX_VERSION_LENGTH,
  MAX_VERSION_MESSAGE,
  ONE_WORD_VERSION,
  ONE_WORD_VERSION_MESSAGE,
} from "../versions.js";
import { SecurityPolicy } from "./security-policy.js";

export const fileActions = [
  "replace",
  "merge_toml",
  "merge_json",
  "merge_yaml",
  "skip",
  "backup_replace",
] as const;
export const mergeStrategies = ["preserve_user", "update_only", "replace"] as const;
export const sectionStrategies = ["preserve_user", "update_only", "replace", "merge_smart"] as const;
export const conditionalActions = ["skip_update", "warn", "require_manual_intervention"] as const;
export const rollbackTriggers = ["health_check_fail", "service_start_fail", "critical_error"] as const;

/** A command, name, step, path or key: neither empty nor white space alone. */
const nonEmpty = nonEmptyText();
const seconds = timeoutSeconds();

/** A shell command, optionally with its own timeout in seconds. */
export const CommandSpec = z.union([
  nonEmpty,
  z.strictObject({ command: nonEmpty, timeout: seconds.optional() }),
]);
export type CommandSpec = z.infer<typeof CommandSpec>;

export const FileRule = z.strictObject({
  action: z.enum(fileActions),
  merge_strategy: z.enum(mergeStrategies).default("preserve_user"),
  backup: z.boolean().default(false),
  description: z.string().optional(),
});
export type FileRule = z.infer<typeof FileRule>;

/** Per-section strategy inside one merged file: a bare strategy or one with keys to keep. */
export const SectionStrategy = z.union(
  [
    z.enum(sectionStrategies),
    z.strictObject({
      strategy: z.enum(sectionStrategies),
      preserve_keys: z.array(nonEmpty).default([]),
    }),
  ],
  { error: `must be a strategy (${sectionStrategies.join(", ")}) or {strategy, preserve_keys}` },
);
export type SectionStrategy = z.infer<typeof SectionStrategy>;

const SectionStrategies = z.record(z.string(), SectionStrategy);

/**
 * One file's `merge_strategies` entry, section → strategy. The upstream project's manifests nest
 * them under `sections:` ({config.toml: {sections: {api: {strategy: merge_smart}}}}); ship's
 * shorthand leaves `sections:` out. Both parse to the same flat mapping the merge engine takes.
 */
export const FileMergeStrategies = z.union(
  [z.strictObject({ sections: SectionStrategies }).transform((entry) => entry.sections), SectionStrategies],
  {
    error:
      "must be a mapping of section → strategy, e.g. {database: preserve_user, api: {strategy: merge_smart, preserve_keys: [api_key]}}, optionally nested under sections:",
  },
);

const MAX_KEEP_DAYS = 36_500;
/** `keep_backups: 1e300` read as a count and kept every backup; more than this is no count anyone means. */
const MAX_KEEP_BACKUPS = 1000;

export const DirectoryRule = z.strictObject({
  preserve: z.boolean().default(true),
  description: z.string().optional(),
  cleanup_old: z.boolean().default(false),
  /** Unbounded, `keep_days: 1e300` counted back from now to no date at all; 100 years as hub.toml's report_keep_days. */
  keep_days: z
    .number()
    .int()
    .positive()
    .max(MAX_KEEP_DAYS, `must be ≤ ${MAX_KEEP_DAYS} (100 years)`)
    .optional(),
});
export type DirectoryRule = z.infer<typeof DirectoryRule>;

export const Hooks = z.strictObject({
  pre_update: z.array(CommandSpec).default([]),
  post_update: z.array(CommandSpec).default([]),
  rollback: z.array(CommandSpec).default([]),
});

export const EnvironmentCheck = z.strictObject({
  name: nonEmpty,
  command: nonEmpty,
  timeout: seconds.default(30),
});

export const Requirements = z.strictObject({
  // Unquoted, YAML reads `3.10` as the number 3.1: "must be a string (got number 3.1)" named
  // neither the quoting nor the version the operator wrote.
  min_python_version: z
    .string({
      error: (issue) =>
        typeof issue.input === "number"
          ? `must be a quoted string, e.g. min_python_version: "3.10" (unquoted, YAML reads a version as the number ${issue.input})`
          : undefined,
    })
    .min(1, "must not be empty")
    .optional(),
  min_disk_space_mb: freeSpaceMegabytes().optional(),
  required_commands: z.array(nonEmpty).default([]),
  required_services: z.array(serviceName.schema).default([]),
  environment_checks: z.array(EnvironmentCheck).default([]),
});
export type Requirements = z.infer<typeof Requirements>;

export const rollbackStrategies = ["full_backup", "changed_only"] as const;

export const RollbackPolicy = z.strictObject({
  /**
   * Accepted for the seed's manifests; both values behave the same. Every backup is a changeset (the
   * old bytes of what the update changes), and restoring one brings back the whole pre-update tree.
   */
  strategy: z
    .enum(rollbackStrategies, {
      error: (issue) =>
        `unknown rollback strategy ${JSON.stringify(issue.input)} (expected ${rollbackStrategies.join(" or ")}; both mean the same: every backup is a changeset of what the update changes, and a restore brings back the whole previous version)`,
    })
    .default("full_backup"),
  keep_backups: z
    .number()
    .int()
    .min(1)
    .max(MAX_KEEP_BACKUPS, `must be ≤ ${MAX_KEEP_BACKUPS} (each backup holds what its update replaced)`)
    .default(5),
  auto_rollback_on: z.array(z.enum(rollbackTriggers)).default([...rollbackTriggers]),
  custom_rollback_command: nonEmpty.optional(),
});
export type RollbackPolicy = z.infer<typeof RollbackPolicy>;

/**
 * A notification's or conditional's text. Left out, ship writes its own; given blank it said
 * nothing (`{"text":""}`, which Slack refuses, so the alert was lost; "manual intervention
 * required …: ;"), so it is refused.
 */
const message = z.string().regex(/\S/, "must not be blank: leave message out for ship's own text").optional();

/**
 * A log notification's level, in any case and in Python's names too: the seed's ship.toml spells
 * levels so (`level = "WARNING"`), ship.toml takes them so, and the same word here was refused.
 * Never debug: the record is one the release asked for, written whatever the log's level.
 */
const notificationLevels = {
  INFO: "info",
  WARN: "warn",
  WARNING: "warn",
  ERROR: "error",
  CRITICAL: "error",
  FATAL: "error",
} as const;
const notificationLevel = z.string().transform((spelt, ctx) => {
  const level = Object.hasOwn(notificationLevels, spelt.toUpperCase())
    ? notificationLevels[spelt.toUpperCase() as keyof typeof notificationLevels]
    : undefined;
  if (level !== undefined) return level;
  ctx.addIssue({
    code: "custom",
    message: `unknown level ${JSON.stringify(spelt)} (expected info, warn, error, or Python's WARNING, CRITICAL, FATAL; any case: the record is written whatever the log's level, so never debug)`,
  });
  return z.NEVER;
});
export const Notification = z.discriminatedUnion("type", [
  z.strictObject({ type: z.literal("log"), message, level: notificationLevel.optional() }),
  z.strictObject({
    type: z.literal("webhook"),
    url: httpUrl(),
    message,
    headers: httpHeaders(),
    timeout: timeoutSeconds(MAX_NOTIFY_SECONDS).default(10),
  }),
  // A channel of white space went to Slack as is, which finds no such channel and drops the message.
  z.strictObject({ type: z.literal("slack"), url: httpUrl(), message, channel: nonEmpty.optional() }),
]);
export type Notification = z.infer<typeof Notification>;

export const Notifications = z.strictObject({
  on_success: z.array(Notification).default([]),
  on_failure: z.array(Notification).default([]),
});

export { SecurityPolicy };

export const Conditional = z.strictObject({
  /** Parsed by shared/conditions (never eval); syntax errors are reported with their column. */
  condition: nonEmpty,
  action: z.enum(conditionalActions),
  message,
  manual_steps: z.array(nonEmpty).default([]),
  /**
   * Seconds each `command('…')` of the condition may run before it is killed and reads false
   * (default 30): a check slow by nature needs longer, one that must not hold a run up less.
   */
  timeout: seconds.optional(),
});
export type Conditional = z.infer<typeof Conditional>;

export const Cleanup = z.strictObject({
  remove_files: z.array(nonEmpty).default([]),
  remove_directories: z.array(nonEmpty).default([]),
  commands: z.array(CommandSpec).default([]),
});

export const PostUpdateTest = z.strictObject({
  name: nonEmpty,
  command: nonEmpty,
  timeout: seconds.default(30),
  retry_count: retryCount().default(0),
  retry_delay: delaySeconds().default(0),
});
export type PostUpdateTest = z.infer<typeof PostUpdateTest>;

export const RolloutStage = z.strictObject({
  /** Left out, `stage N`; given blank, what ship says of it read "next stage  opens at …". */
  name: nonEmpty.optional(),
  percentage: z.number().min(0).max(100),
  /** A condition expression the host must also satisfy to take part in this stage. */
  criteria: nonEmpty.optional(),
  wait_hours: spanHours().default(0),
});

/** Standalone staged rollout (no hub): stages open one after another from `start`. */
export const Rollout = z.strictObject({
  strategy: z.enum(["staged", "immediate"]).default("staged"),
  /** ISO date-time the first stage opens; defaults to release_date. */
  start: z.string().optional(),
  stages: z.array(RolloutStage).default([]),
});
export type Rollout = z.infer<typeof Rollout>;

/** How the modes of installed files follow the release. */
export const Permissions = z.strictObject({
  /**
   * Bits cleared from every released file's and directory's mode before it is installed, as a
   * quoted octal string: "022" (default) drops group/other write, "002" keeps group write, "000"
   * installs the release's modes exactly. Only group and other bits: the owner's stay.
   */
  umask: z
    .string({ error: 'must be a quoted octal string, e.g. umask: "022"' })
    .regex(/^0?[0-7]{3}$/, { error: 'must be three octal digits, e.g. "022"', abort: true })
    // The owner's bits are ship's own way in: "700" made every directory 000, so a non-root ship
    // could not put files into the directories it had just made (exit 3, "needs a person").
    .regex(/^0?0[0-7]{2}$/, {
      error: (issue) =>
        `${JSON.stringify(issue.input)} masks the owner's bits: ship and the app's owner could no longer read, write or enter what it installs; its owner digit (the first of three, after an optional leading 0) must be 0, e.g. "022", "0022" or "027"`,
    })
    .default("022"),
});
export type Permissions = z.infer<typeof Permissions>;

/** The permissions.umask of a parsed manifest as a number. */
export function installUmask(manifest: { permissions: Permissions }): number {
  return Number.parseInt(manifest.permissions.umask, 8);
}

export const Manifest = z.strictObject({
  // The hub's rule (body.version must equal it): --test-manifest in CI says so before a publish does.
  version: z
    .string({ error: 'must be a quoted string, e.g. version: "1.2.3"' })
    // Its own words, and the only line: `version: ""` read "must be a quoted string" (it is one)
    // and then "must be one word" as a second line for the same value.
    .min(1, { error: 'must not be empty, e.g. version: "1.2.3"', abort: true })
    .max(MAX_VERSION_LENGTH, { error: MAX_VERSION_MESSAGE, abort: true })
    .regex(ONE_WORD_VERSION, ONE_WORD_VERSION_MESSAGE),
  release_date: z.string().optional(),
  description: z.string().optional(),
  files: z.record(nonEmpty, FileRule).default({}),
  merge_strategies: z.record(nonEmpty, FileMergeStrategies).default({}),
  directories: z.record(nonEmpty, DirectoryRule).default({}),
  hooks: Hooks.prefault({}),
  requirements: Requirements.prefault({}),
  rollback: RollbackPolicy.prefault({}),
  notifications: Notifications.prefault({}),
  security: SecurityPolicy.optional(),
  conditionals: z.array(Conditional).default([]),
  migrations: z.record(nonEmpty, z.array(CommandSpec)).default({}),
  cleanup: Cleanup.prefault({}),
  post_update_tests: z.array(PostUpdateTest).default([]),
  rollout: Rollout.optional(),
  permissions: Permissions.prefault({}),
});
export type Manifest = z.infer<typeof Manifest>;
export type ManifestInput = z.input<typeof Manifest>;

export const MANIFEST_FILENAME = "update-manifest.yaml";
