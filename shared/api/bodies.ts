/**
 * Request bodies of the hub's HTTP API. The hub validates with them, the CLI builds them, and
 * /api/v1/openapi.json is generated from them: one schema, three uses.
 */
import { z } from "zod";
import { ReleaseSourceRef } from "../protocol/messages.js";

const name = z.string().min(1, "must not be empty").max(200);

export const PublishRelease = z.strictObject({
  app: z.string().regex(/^[A-Za-z0-9_.-]+$/, "use letters, digits, _ . -"),
  version: z.string().min(1, "must not be empty").max(100),
  /** update-manifest.yaml as text; validated with the shared manifest schema at the hub. */
  manifest: z.string().min(1, "must not be empty").max(1_000_000),
  source: ReleaseSourceRef,
  /** Ed25519 signature by CI (base64); agents with [trust] keys check it. */
  signature: z.string().max(1000).optional(),
});
export type PublishRelease = z.infer<typeof PublishRelease>;

export const Wave = z
  .strictObject({
    name,
    /** Cumulative share of the fleet covered once this wave has started (percent waves only). */
    percent: z.number().min(0, "must be ≥ 0").max(100, "must be ≤ 100").optional(),
    labels: z.record(z.string(), z.string()).optional(),
    agents: z.array(name).min(1, "must name at least one agent").optional(),
    waitMinutes: z.number().min(0, "must be ≥ 0").default(0),
    /** 0..1: share of the wave that must succeed before it auto-advances. */
    minSuccessRate: z.number().min(0, "must be ≥ 0").max(1, "must be ≤ 1 (a fraction)").default(1),
  })
  .refine(
    (w) => [w.percent, w.labels, w.agents].filter((x) => x !== undefined).length === 1,
    "a wave needs exactly one of percent, labels, agents",
  );
export type Wave = z.infer<typeof Wave>;

export const FailureThreshold = z.union(
  [
    z.strictObject({ percent: z.number().min(0, "must be ≥ 0").max(100, "must be ≤ 100") }),
    z.strictObject({ count: z.number().int().min(1, "must be ≥ 1") }),
  ],
  // Said when neither shape fits at all ({}, both keys, a misspelt key); a value out of range in
  // one of them gets that field's own message.
  { error: "must be {count: N} (a whole number ≥ 1) or {percent: P} (0 to 100)" },
);
export type FailureThreshold = z.infer<typeof FailureThreshold>;

export const RolloutSpec = z
  .strictObject({
    /** Optional rollout id; it does not change the split (see `seed`). */
    id: z.uuid().optional(),
    /**
     * What agents' buckets are hashed with (default: the release id). The same seed, agents and
     * waves give the same split, in a preview and in the rollout it creates.
     */
    seed: z.string().min(1, "must not be empty").max(200).optional(),
    /** Release id as returned by POST /releases. */
    release: name,
    /** Only agents carrying all these labels take part. */
    selector: z.strictObject({ labels: z.record(z.string(), z.string()).default({}) }).optional(),
    waves: z.array(Wave).min(1, "needs at least one wave").max(100),
    failureThreshold: FailureThreshold.default({ count: 1 }),
    autoAdvance: z.boolean().default(false),
    autoRollback: z.boolean().default(false),
  })
  .superRefine((spec, ctx) => {
    // Operators, the CLI and the dashboard tell waves apart by name ("advanced from wave 1/3 canary").
    const named = new Map<string, number>();
    spec.waves.forEach((w, i) => {
      const first = named.get(w.name);
      if (first !== undefined)
        ctx.addIssue({
          code: "custom",
          path: ["waves", i, "name"],
          message: `"${w.name}" already names wave ${first + 1}: wave names must differ`,
        });
      else named.set(w.name, i);
    });
    let last = -1;
    spec.waves.forEach((w, i) => {
      if (w.percent === undefined) return;
      if (w.percent < last)
        ctx.addIssue({
          code: "custom",
          path: ["waves", i, "percent"],
          message: `must be ≥ the previous wave's ${last} (percentages are cumulative)`,
        });
      last = w.percent;
    });
  });
export type RolloutSpec = z.infer<typeof RolloutSpec>;
export type RolloutSpecInput = z.input<typeof RolloutSpec>;

export const AbortRollout = z.strictObject({ rollback: z.boolean().default(false) });

/** Pause and resume take no fields: a body naming any is refused, not silently ignored. */
export const NoFields = z.strictObject({});

/**
 * `fromWave`: the wave index the caller saw as current. When the rollout has moved on since (another
 * operator or hub advanced it), the advance is refused with 409 instead of skipping a wave nobody
 * looked at. Without it the hub compares with the wave it read when the request arrived.
 */
export const AdvanceRollout = z.strictObject({ fromWave: z.number().int().min(0).optional() });
