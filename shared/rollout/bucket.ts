import { createHash } from "node:crypto";

export const BUCKETS = 10_000;

/**
 * The bucket (0..9999) an agent falls in for a rollout: stable across processes and hosts, so wave
 * membership is deterministic, and monotonic when a percentage grows (a bucket never moves).
 * The seed's Python used hash(), which is salted per process; this must never change.
 */
export function bucketOf(rolloutId: string, agentId: string): number {
  const digest = createHash("sha256").update(`${rolloutId}\0${agentId}`).digest();
  return digest.readUInt32BE(0) % BUCKETS;
}

/** Whether a bucket is covered by a cumulative percentage (0..100, fractions allowed). */
export function bucketWithin(bucket: number, cumulativePercent: number): boolean {
  return bucket < Math.round(cumulativePercent * (BUCKETS / 100));
}
