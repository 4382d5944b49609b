/**
 * Re-running a transaction the database gave up on. PostgreSQL aborts one side of a deadlock
 * (40P01) and, under SERIALIZABLE, a transaction whose reads went stale (40001); both mean "run it
 * again from the start", and nothing else does: a constraint violation would fail the same way.
 */
const RETRYABLE = new Set(["40001", "40P01"]);

export function isRetryableTxError(error: unknown): boolean {
  const code = typeof error === "object" && error !== null ? (error as { code?: unknown }).code : undefined;
  return typeof code === "string" && RETRYABLE.has(code);
}

export interface RetryPolicy {
  attempts: number;
  /** Upper bound of the random delay before retry n (1-based): the two sides must not collide again. */
  delayMs: (retry: number) => number;
}

export const defaultRetryPolicy: RetryPolicy = {
  attempts: 8,
  delayMs: (retry) => Math.random() * Math.min(5 * 2 ** retry, 200),
};

export async function withTxRetry<T>(
  run: () => Promise<T>,
  policy: RetryPolicy = defaultRetryPolicy,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await run();
    } catch (error) {
      if (attempt >= policy.attempts || !isRetryableTxError(error)) throw error;
      const delay = policy.delayMs(attempt);
      if (delay > 0) await new Promise((resolve) => setTimeout(resolve, delay));
    }
  }
}
