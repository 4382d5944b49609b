/**
 * Request bodies of the hub's HTTP API. The hub validates with them, the CLI builds them, and
 * /api/v1/openapi.json is generated from them: one schema, three uses.
 */
import * as z from "zod";
import { AppName } from "../app-name.js";
import { AgentId, RequestedLabels } from "../protocol/agent-id.js";
import { ReleaseSourceRef } from "../protocol/messages.js";
import { nonEmptyText } from "../schema/non-empty.js";
import { nameAsRead, PRINTED_PROBLEM, shownNameProblem } from "../schema/shows-nothing.js";
import { UNPRINTABLE } from "../schema/unprintable.js";
import {
  MAX_VERSION_LENGTH,
  MAX_VERSION_MESSAGE,
  ONE_WORD_VERSION,
  ONE_WORD_VERSION_MESSAGE,
} from "../versions.js";

const name = z.string().min(1, "must not be empty").max(200);
/** Printed as it is by the CLI ("advanced from wave 1/3 canary …"), the dashboard and the event log. */
const printed = <T extends z.ZodString>(text: T) => text.refine((n) => !UNPRINTABLE.test(n), PRINTED_PROBLEM);
const waveName = z
  .string()
  .min(1, { error: "must not be empty", abort: true })
  .max(200)
  .superRefine((n, ctx) => {
    const problem = shownNameProblem(n);
    if (problem !== undefined) ctx.addIssue({ code: "custom", message: problem });
  });

/** The longest a wave may wait before it auto-advances: 30 days (a longer soak is a manual advance). */
export const MAX_WAIT_MINUTES = 43_200;
/** A failure count above any fleet a hub serves would only mean "never halt". */
export const MAX_FAILURE_COUNT = 1_000_000;
export const MAX_WAVES = 100;
/** The most failures a resume may say it saw: more than any fleet holds agents. */
export const MAX_FAILED_SEEN = 1_000_000_000;
/**
 * Agent ids a rollout's `agents` waves may name in all: a hand-picked list that long is already
 * past what anyone checks by eye (labels and percent waves are for larger groups), and every id
 * is carried in the stored spec each read of the rollout parses.
 */
export const MAX_NAMED_AGENTS = 10_000;

/**
 * The most characters a release's source may name its location in (`url`, `remote_path`, `tag`): 16
 * KiB holds any presigned URL. Every deploy carries them, and an agent takes at most 512 KiB in one
 * message from the hub (agent/daemon/hub-connection.ts): a release whose url was 1.5 MB was
 * published (201), and no agent could ever take an instruction to install it.
 */
export const MAX_SOURCE_LOCATION = 16_384;

/** The release's source as agents read it, its location bounded (MAX_SOURCE_LOCATION). */
const PublishedSource = ReleaseSourceRef.superRefine((source, ctx) => {
  const locations: [string, string | undefined][] = [
    ["url", "url" in source ? source.url : undefined],
    ["remote_path", "remote_path" in source ? source.remote_path : undefined],
    ["tag", "tag" in source ? source.tag : undefined],
  ];
  for (const [key, value] of locations)
    if (value !== undefined && value.length > MAX_SOURCE_LOCATION)
      ctx.addIssue({
        code: "custom",
        path: [key],
        message: `must be at most ${MAX_SOURCE_LOCATION} characters (got ${value.length}): every agent is sent it in one message, of 512 KiB at most`,
      });
});

export const PublishRelease = z.strictObject({
  app: AppName,
  version: nonEmptyText()
    .max(MAX_VERSION_LENGTH, MAX_VERSION_MESSAGE)
    .regex(ONE_WORD_VERSION, ONE_WORD_VERSION_MESSAGE),
  /** update-manifest.yaml as text; validated with the shared manifest schema at the hub. */
  manifest: z.string().min(1, "must not be empty").max(1_000_000),
  source: PublishedSource,
  /**
   * Ed25519 signature by CI (base64); agents with [trust] keys check it. Empty is refused: agents
   * would read it as "unsigned", and a signature that is there but empty is a broken CI step.
   */
  signature: z
    .string()
    .min(1, "must not be empty (leave it out for an unsigned release)")
    .max(1000)
    .optional(),
});
export type PublishRelease = z.infer<typeof PublishRelease>;

/**
 * A percent finer than a hundredth: a wave takes whole buckets of the 10,000 agents hash into
 * (0.01 % each, shared/rollout/bucket.ts), so 5e-324 % was accepted, held no bucket, and was printed
 * back as 5e-324 %; 0.015 % took 0.02 %.
 */
export const PERCENT_STEP_PROBLEM =
  "must be in steps of 0.01 (a share of the 10,000 buckets agents hash into: 0.01 % is the smallest)";

/**
 * The failure threshold's percent comes in the waves' steps, said as they are. It is a share of the
 * agents in the waves started, not of buckets: its refusal gave the waves' reason, and sent an
 * operator looking for buckets in a halt rule.
 */
export const THRESHOLD_STEP_PROBLEM =
  "must be in steps of 0.01 (a percent said to two decimals, as a wave's is: 0.01 % is the smallest)";

/**
 * Whether `percent` is a whole number of hundredths (2.5, 0.01, 33.33; not 5e-324 or 0.015). One
 * past 100 passes: its bound says what is wrong with it, alone.
 */
export function inPercentSteps(percent: number): boolean {
  // Exact: n / 100 is the double nearest to n hundredths, as the literal "33.33" parses to.
  return percent > 100 || Math.round(percent * 100) / 100 === percent;
}

/**
 * A wave's success bar is a fraction said as a percent (the dashboard's Min success %, a waiting
 * wave's "below its minSuccessRate (99.5 %)"), so it comes in the percent's steps: 1e-9 was taken
 * and said back as "0 %" ("0 of 3 succeeded (0 %), below its minSuccessRate (0 %)").
 */
export const RATE_STEP_PROBLEM =
  "must be in steps of 0.0001 (a fraction said as a percent in steps of 0.01: 0.0001 is 0.01 %, the smallest)";

/** Whether `rate` is a whole number of ten-thousandths (0.995, 0.3333; not 1e-9). One past 1 passes, as for percents. */
export function inRateSteps(rate: number): boolean {
  return rate > 1 || Math.round(rate * 10_000) / 10_000 === rate;
}

/**
 * A wave's wait is said back as written ("waitMinutes 1.5" in the hub's warnings, `rollout show`,
 * the dashboard), so it comes in hundredths as percents do: 1e-7 was taken and said back as
 * "waitMinutes 1e-7", 5e-324 as "waitMinutes 5e-324".
 */
export const WAIT_STEP_PROBLEM =
  "must be in steps of 0.01 (minutes said to two decimals: 0.01 is 0.6 s, the smallest)";

/** Whether `minutes` is a whole number of hundredths. One past the longest wait passes: its bound says what is wrong with it. */
export function inWaitSteps(minutes: number): boolean {
  return minutes > MAX_WAIT_MINUTES || Math.round(minutes * 100) / 100 === minutes;
}

export const Wave = z
  .strictObject({
    name: waveName,
    /** Cumulative share of the fleet covered once this wave has started (percent waves only). */
    percent: z
      .number()
      .gt(0, "must be > 0 (a 0 % wave would hold no agent)")
      .max(100, "must be ≤ 100")
      .refine(inPercentSteps, PERCENT_STEP_PROBLEM)
      .optional(),
    /** Bounded as agents' labels are: a longer one could match no agent, and would only be stored. */
    labels: RequestedLabels.optional(),
    agents: z.array(AgentId).min(1, "must name at least one agent").optional(),
    waitMinutes: z
      .number()
      .min(0, "must be ≥ 0")
      .max(MAX_WAIT_MINUTES, `must be ≤ ${MAX_WAIT_MINUTES} (30 days)`)
      .refine(inWaitSteps, WAIT_STEP_PROBLEM)
      .default(0),
    /** 0..1: share of the wave that must succeed before it auto-advances. */
    minSuccessRate: z
      .number()
      .min(0, "must be ≥ 0")
      .max(1, "must be ≤ 1 (a fraction)")
      .refine(inRateSteps, RATE_STEP_PROBLEM)
      .default(1),
  })
  .refine(
    (w) => [w.percent, w.labels, w.agents].filter((x) => x !== undefined).length === 1,
    "a wave needs exactly one of percent, labels, agents",
  );
export type Wave = z.infer<typeof Wave>;

export const FailureThreshold = z.union(
  [
    z.strictObject({
      percent: z
        .number()
        .min(0, "must be ≥ 0")
        .max(100, "must be ≤ 100")
        .refine(inPercentSteps, THRESHOLD_STEP_PROBLEM),
    }),
    z.strictObject({
      count: z
        .number()
        .int("must be a whole number")
        .min(1, "must be ≥ 1")
        .max(MAX_FAILURE_COUNT, `must be ≤ ${MAX_FAILURE_COUNT}`),
    }),
  ],
  // Said when neither shape fits at all ({}, both keys, a misspelt key); a value out of range in
  // one of them gets that field's own message.
  { error: "must be {count: N} (a whole number ≥ 1) or {percent: P} (0 to 100)" },
);
export type FailureThreshold = z.infer<typeof FailureThreshold>;

/** Why a percent wave at or below an earlier one's cumulative percent is refused (API and CLI alike). */
export function percentRefusal(percent: number, previous: number, previousIndex: number): string {
  const head = `${percent} must be > wave ${previousIndex + 1}'s ${previous}: percentages are cumulative (the share of the fleet covered once the wave has started)`;
  if (percent < previous) return `${head} and never go back`;
  const example =
    previous * 2 <= 100 ? ` (two waves of ${previous} % each are ${previous} then ${previous * 2})` : "";
  return `${head}, so this wave would add no agent${example}`;
}

type WaveShape = Pick<Wave, "name" | "percent" | "labels" | "agents">;

function describeLabels(labels: Record<string, string>): string {
  const pairs = Object.entries(labels).map(([k, v]) => `${k}=${v}`);
  return pairs.length === 0 ? "no labels" : pairs.join(",");
}

/**
 * Waves the spec itself leaves without an agent whoever registers (an agent is in the first wave
 * that takes it): an agent named again after an agents wave named it, a labels wave asking for
 * every label of an earlier labels wave (each agent it matches is taken there), and any wave after
 * one that takes every agent left (100 %, or labels {}). Like `c=5 d=5`, none is what was meant.
 * The hub refuses them (RolloutSpec) and the CLI names the `--wave` (`wave` is the index).
 */
export function shadowedWaves(
  waves: readonly WaveShape[],
  /** Stop after this many: one id named 450,000 times made as many issues (seconds of CPU). */
  limit = Number.POSITIVE_INFINITY,
): { wave: number; path: (string | number)[]; message: string }[] {
  const found: { wave: number; path: (string | number)[]; message: string }[] = [];
  const named = new Map<string, number>();
  let everyone: number | undefined;
  waves.forEach((w, i) => {
    if (found.length >= limit) return;
    const label = (at: number) => `wave ${at + 1} (${waves[at]?.name})`;
    if (everyone !== undefined) {
      // A percent wave after 100 % is refused by the cumulative rule already (one message, not two).
      if (w.percent === undefined || waves[everyone]?.percent === undefined)
        found.push({
          wave: i,
          path: [],
          message: `${label(everyone)} takes every agent left (${waves[everyone]?.percent === undefined ? "labels {}" : "100 %"}), so this wave would hold none: put it before ${label(everyone)} or remove it`,
        });
      return;
    }
    w.agents?.forEach((agent, j) => {
      const first = named.get(agent);
      if (first === undefined) named.set(agent, i);
      else if (found.length < limit)
        found.push({
          wave: i,
          path: ["agents", j],
          message:
            first === i
              ? `"${agent}" is named twice in this wave`
              : `"${agent}" is in ${label(first)} already (an agent is in the first wave that names it), so naming it here adds nothing`,
        });
    });
    if (w.labels !== undefined) {
      const labels = w.labels;
      const wider = waves
        .slice(0, i)
        .findIndex(
          (e) => e.labels !== undefined && Object.entries(e.labels).every(([k, v]) => labels[k] === v),
        );
      if (wider !== -1)
        found.push({
          wave: i,
          path: ["labels"],
          message: `${describeLabels(labels)} asks for every label of ${label(wider)} (${describeLabels(waves[wider]?.labels ?? {})}), whose agents are in that wave already, so this wave would hold none`,
        });
    }
    if (w.percent === 100 || (w.labels !== undefined && Object.keys(w.labels).length === 0)) everyone = i;
  });
  return found;
}

export const RolloutSpec = z
  .strictObject({
    /** Optional rollout id; it does not change the split (see `seed`). */
    id: z.uuid().optional(),
    /**
     * What agents' buckets are hashed with (default: the release id). The same seed, agents and
     * waves give the same split, in a preview and in the rollout it creates.
     */
    seed: printed(z.string().min(1, "must not be empty").max(200)).optional(),
    /** Release id as returned by POST /releases. */
    release: name,
    /** Only agents carrying all these labels take part. */
    selector: z.strictObject({ labels: RequestedLabels.default({}) }).optional(),
    waves: z
      .array(Wave)
      .min(1, "needs at least one wave")
      .max(MAX_WAVES, `must have at most ${MAX_WAVES} waves`),
    failureThreshold: FailureThreshold.default({ count: 1 }),
    autoAdvance: z.boolean().default(false),
    autoRollback: z.boolean().default(false),
  })
  .superRefine((spec, ctx) => {
    // Operators, the CLI and the dashboard tell waves apart by name ("advanced from wave 1/3 canary").
    // Two must not look alike either, so they are compared as they read.
    const named = new Map<string, number>();
    spec.waves.forEach((w, i) => {
      const first = named.get(nameAsRead(w.name));
      if (first !== undefined) {
        const earlier = spec.waves[first]?.name;
        ctx.addIssue({
          code: "custom",
          path: ["waves", i, "name"],
          message:
            earlier === w.name
              ? `"${w.name}" already names wave ${first + 1}: wave names must differ`
              : `"${w.name}" reads as wave ${first + 1} ("${earlier}"): wave names must differ`,
        });
      } else named.set(nameAsRead(w.name), i);
    });
    // Percentages are cumulative: a wave at the previous wave's percent adds nobody, so it either
    // holds no agent or takes one from a later wave; neither is what `c=5 d=5` was meant to say.
    let last: { percent: number; index: number } | undefined;
    spec.waves.forEach((w, i) => {
      if (w.percent === undefined) return;
      if (last !== undefined && w.percent <= last.percent)
        ctx.addIssue({
          code: "custom",
          path: ["waves", i, "percent"],
          message: percentRefusal(w.percent, last.percent, last.index),
        });
      last = { percent: w.percent, index: i };
    });
    // The count in all, said at the wave that crosses it.
    let namedAgents = 0;
    spec.waves.forEach((w, i) => {
      const before = namedAgents;
      namedAgents += w.agents?.length ?? 0;
      if (before <= MAX_NAMED_AGENTS && namedAgents > MAX_NAMED_AGENTS)
        ctx.addIssue({
          code: "custom",
          path: ["waves", i, "agents"],
          message: `the rollout's agents waves name ${spec.waves.reduce((n, x) => n + (x.agents?.length ?? 0), 0)} agents in all, more than the ${MAX_NAMED_AGENTS} one rollout may name: use labels or percent waves for larger groups`,
        });
    });
    // Over the count, that is the answer: every id is not looked at again. Under it, the first few
    // shadowed waves or ids are named (the one-line answer shows no more).
    if (namedAgents > MAX_NAMED_AGENTS) return;
    for (const shadowed of shadowedWaves(spec.waves, 10))
      ctx.addIssue({
        code: "custom",
        path: ["waves", shadowed.wave, ...shadowed.path],
        message: shadowed.message,
      });
  });
export type RolloutSpec = z.infer<typeof RolloutSpec>;
export type RolloutSpecInput = z.input<typeof RolloutSpec>;

/** A body naming no field: one naming any is refused, not silently ignored. */
export const NoFields = z.strictObject({});

/**
 * `failedSeen`: how many failed agents the caller saw (the view's `progress.failed`) and accepts by
 * resuming. When more have failed since, the resume is refused (409) instead of accepting them
 * unseen. Without it, every failure so far is accepted.
 */
export const ResumeRollout = z.strictObject({
  failedSeen: z
    .number()
    .int("must be a whole number")
    .min(0, "must be ≥ 0")
    .max(MAX_FAILED_SEEN, `must be ≤ ${MAX_FAILED_SEEN}`)
    .optional(),
});

/**
 * `fromWave`: the wave index the caller saw as current. When the rollout has moved on since (another
 * operator or hub advanced it), the advance is refused with 409 instead of skipping a wave nobody
 * looked at. Without it the hub compares with the wave it read when the request arrived.
 */
export const AdvanceRollout = z.strictObject({
  fromWave: z
    .number()
    .int("must be a whole number")
    .min(0, "must be ≥ 0 (waves count from 0 here)")
    .max(MAX_WAVES - 1, `must be ≤ ${MAX_WAVES - 1}`)
    .optional(),
  /**
   * How long ago (ms, by the caller's own clock) the caller decided to advance: the CLI sends the
   * time since its command started. A wave that started after that moment was not the one the
   * caller decided on (another advance, or auto-advance, got there first), so it is not left: 409.
   */
  decidedMsAgo: z
    .number()
    .int("must be a whole number")
    .min(0, "must be ≥ 0")
    .max(86_400_000, "must be ≤ 86400000 (a day)")
    .optional(),
});

/**
 * Pause takes the same two: a pause is never refused for arriving after the rollout left the wave
 * the caller decided in (stopping is always safe), but the answer then says which wave it paused
 * and that its agents were already sent the release.
 */
export const PauseRollout = AdvanceRollout;

/**
 * Abort takes pause's two as well, for the same reason: an abort decided in one wave that lands
 * after the rollout moved on still aborts (stopping is always safe), and the answer says so.
 */
export const AbortRollout = AdvanceRollout.extend({ rollback: z.boolean().default(false) });
