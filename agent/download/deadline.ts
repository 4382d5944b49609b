/**
 * A request's total time limit, retries and their waits included. The client's timeouts only
 * measure silence (headers, then each pause in the body), so a server that sends a byte a second
 * kept a download, and the run's lock, going for ever; an abort on this signal ends it.
 */
import { DownloadError } from "./errors.js";

export interface DeadlineSetting {
  /** Total milliseconds; undefined means no limit (callers that set none). */
  deadlineMs?: number;
  /** The operator's key behind it, named when it ends a download ("[sources.web] max_download_seconds"). */
  deadlineSetting?: string;
}

export interface Deadline {
  /** The operator's key behind the limit, in words. */
  readonly limit: string;
  /** Aborts when the time is up or the caller's own signal aborts. */
  readonly signal: AbortSignal | undefined;
  /** Time left; Infinity without a limit. */
  remainingMs(): number;
  /** The failure to report when the limit ended the request, else undefined. */
  failure(url: string, progress?: string): DownloadError | undefined;
  /** Stops the timer (a finished request must not keep the process alive). */
  clear(): void;
}

export function startDeadline(setting: DeadlineSetting, outer?: AbortSignal): Deadline {
  const ms = setting.deadlineMs;
  if (ms === undefined) {
    return {
      limit: "no limit",
      signal: outer,
      remainingMs: () => Number.POSITIVE_INFINITY,
      failure: () => undefined,
      clear() {},
    };
  }
  // Elapsed time: on the wall clock, NTP stepping it forward mid-download left no time for a
  // Retry-After the server asked for, and the download was given up at once.
  const ends = performance.now() + ms;
  const controller = new AbortController();
  let expired = false;
  const limit = setting.deadlineSetting ?? "the time limit";
  const timer = setTimeout(() => {
    expired = true;
    controller.abort(new Error("deadline"));
  }, ms);
  return {
    limit,
    signal: outer === undefined ? controller.signal : AbortSignal.any([outer, controller.signal]),
    remainingMs: () => Math.max(0, ends - performance.now()),
    failure(url, progress) {
      if (!expired) return undefined;
      const got = progress === undefined ? "" : ` (${progress})`;
      return new DownloadError(
        url,
        `not done after ${ms / 1000} s, the most ${limit} allows${got}: the server sends too slowly or holds the connection open; the next run tries again`,
        false,
      );
    },
    clear: () => clearTimeout(timer),
  };
}

/**
 * The longest Retry-After ship waits for within one run: a server that asks for more is left
 * alone until the next run rather than holding the lock for it.
 */
export const MAX_RETRY_AFTER_MS = 300_000;

/**
 * How long to wait before the next attempt: what the server asked for (429 / 503 with
 * Retry-After), else the backoff. A server that asks for longer than ship waits, or than the
 * deadline leaves, ends the download now, saying so, instead of being asked again too soon.
 */
export function waitBeforeRetry(failure: DownloadError, backoff: number, deadline: Deadline): number {
  const asked = failure.retryAfterMs;
  if (asked === undefined) return backoff;
  const left = deadline.remainingMs();
  if (asked <= Math.min(MAX_RETRY_AFTER_MS, left)) return asked;
  const beyond =
    asked > MAX_RETRY_AFTER_MS
      ? `longer than ship waits within a run (${MAX_RETRY_AFTER_MS / 1000} s)`
      : `past what ${deadline.limit} leaves`;
  throw new DownloadError(
    failure.url,
    `${failure.reason}; the server asks to try again in ${Math.ceil(asked / 1000)} s (Retry-After), ${beyond}: the next run tries again`,
    false,
    failure.status,
  );
}
