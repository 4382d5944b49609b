/**
 * The time `report_keep_days` is counted against. A hub started with its clock months ahead (a VM
 * whose clock NTP had not yet put right) read every stored report as past the age and deleted
 * the whole history at its first prune: the hub's time, but never further on than the last stored
 * report's arrival plus the time this hub has run. A clock stepped ahead then moves nothing; the
 * cost is that the hours the hub was down (since that last report) are not counted as age.
 */
export function retentionClock(
  /** The hub's time, as it stamps reports. */
  time: () => number,
  /** Monotonic ms: the time this hub has run. */
  elapsed: () => number,
  /** When the report that arrived last was received, before this hub started; undefined when none. */
  lastReportAt: number | undefined,
): () => number {
  const startedAt = elapsed();
  const anchor = lastReportAt ?? time();
  return () => Math.min(time(), anchor + (elapsed() - startedAt));
}
