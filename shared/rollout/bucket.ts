import { hash } from "node:crypto";

export const BUCKETS = 10_000;

/**
 * The bucket (0..9999) an agent falls in for a rollout: stable across processes and hosts, so wave
 * membership is deterministic, and monotonic when a percentage grows (a bucket never moves).
 * The seed's Python used hash(), which is salted per process; this must never change.
 */
export function bucketOf(rolloutId: string, agentId: string): number {
  // One-shot, not a Hash object per call: a wave start hashes every agent of the fleet before the
  // commit every hub waits for (10,000 agents: ~35 → ~15 ms of CPU, round 39). Same digest.
  return hash("sha256", `${rolloutId}\0${agentId}`, "buffer").readUInt32BE(0) % BUCKETS;
}

/** Whether a bucket is covered by a cumulative percentage (0..100, fractions allowed). */
export function bucketWithin(bucket: number, cumulativePercent: number): boolean {
  return bucket < bucketsCovered(cumulativePercent);
}

/**
 * Whether a cumulative percentage covers every bucket (true) or none (false), whatever the agent's
 * bucket; undefined when that depends on the bucket. A 100 % wave takes every agent without hashing
 * any: a wave start places the whole fleet before the commit every hub waits for, and 10,000
 * hashes were ~10-20 ms of the creating hub's CPU, ~50 ms on its first rollout (round 48).
 */
export function coversEveryBucket(cumulativePercent: number): boolean | undefined {
  const covered = bucketsCovered(cumulativePercent);
  return covered >= BUCKETS ? true : covered <= 0 ? false : undefined;
}

function bucketsCovered(cumulativePercent: number): number {
  return Math.round(cumulativePercent * (BUCKETS / 100));
}
