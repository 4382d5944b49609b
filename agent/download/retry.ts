/** Which failures are worth another attempt, and how long to wait before it. */

/** Statuses that say "try again later", as opposed to "this request is wrong". */
export function isRetryableStatus(status: number): boolean {
  return status >= 500 || status === 408 || status === 429;
}

const RETRYABLE_CODES = new Set([
  "ECONNRESET",
  "ECONNREFUSED",
  "ECONNABORTED",
  "EPIPE",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ENETDOWN",
  "EAI_AGAIN",
  "ENOTFOUND",
  "UND_ERR_SOCKET",
  "UND_ERR_CONNECT_TIMEOUT",
  "UND_ERR_HEADERS_TIMEOUT",
  "UND_ERR_BODY_TIMEOUT",
  "UND_ERR_CLOSED",
  "UND_ERR_RES_CONTENT_LENGTH_MISMATCH",
]);

/** Network errors and timeouts retry; TLS verification failures and aborts never do. */
export function isRetryableError(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  if (err.name === "AbortError") return false;
  const code = (err as NodeJS.ErrnoException).code;
  if (code !== undefined && RETRYABLE_CODES.has(code)) return true;
  const cause = (err as Error & { cause?: unknown }).cause;
  return cause !== undefined && cause !== err && isRetryableError(cause);
}

/** Exponential backoff: base, 2×base, 4×base… capped; base 0 (tests) means no wait. */
export function backoffMs(attempt: number, baseMs: number, capMs = 30_000): number {
  return Math.min(capMs, baseMs * 2 ** Math.max(0, attempt - 1));
}

/**
 * Retry-After (RFC 9110 §10.2.3): delay-seconds or an HTTP-date, in ms from now; undefined when
 * absent or unreadable (the backoff then applies).
 */
export function retryAfterMs(value: string | undefined, now = Date.now()): number | undefined {
  if (value === undefined) return undefined;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const date = Date.parse(text);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}
