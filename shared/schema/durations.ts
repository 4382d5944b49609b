import * as z from "zod";

/**
 * The longest wait Node's timers hold: past 2^31 - 1 ms (24.8 days) `setTimeout` fires after 1 ms
 * and `AbortSignal.timeout` throws, so a hook given `timeout: 1e12` was killed at once ("timed out
 * after 1000000000000s") and a webhook with such a timeout was never sent. Bounded here, the value
 * is refused where it is written (exit 2 naming the key) instead of acting as its opposite.
 */
export const MAX_TIMER_SECONDS = 2_147_483;

/**
 * Hours that are added to dates (min_interval_hours, a rollout stage's wait_hours): past about
 * 2.4e9 hours from now a JavaScript Date is invalid, and `min_interval_hours = 1e12` or
 * `wait_hours: 1e300` ended the run with "internal error: Invalid time value". A hundred million
 * hours (11,400 years) still reads as "never" to whoever writes it.
 */
export const MAX_HOURS = 100_000_000;

/**
 * The shortest timeout: timers count whole milliseconds. `timeout: 1e-9` was taken and then killed
 * the command at its first millisecond ("timed out after 1e-9s").
 */
export const MIN_TIMER_SECONDS = 0.001;

/**
 * The longest a notification waits for its endpoint. It is tried twice, each time with its timeout,
 * while the run holds the app's lock (and `ship agent` its next instruction): a webhook with
 * `timeout: 2000000` whose endpoint took the connection and never answered held both for 46 days.
 * An endpoint that has not answered in five minutes will not.
 */
export const MAX_NOTIFY_SECONDS = 300;

/**
 * A timeout in seconds: at least a millisecond (0 killed every command before it ran) and timeable,
 * or at most `max` where a longer wait holds up more than the one thing it bounds.
 */
export function timeoutSeconds(max = MAX_TIMER_SECONDS) {
  // 0 and below are said as before; a positive fraction of a millisecond by the second rule.
  return z
    .number()
    .positive({ abort: true })
    .min(MIN_TIMER_SECONDS, `must be ≥ ${MIN_TIMER_SECONDS} (a millisecond: a timer counts no finer)`)
    .max(max);
}

/**
 * Seconds as a timer's whole milliseconds. `AbortSignal.timeout` and undici refuse a fraction of a
 * millisecond, which `timeout: 1.0001` (1000.1 ms) or `timeout_seconds = 0.3` read back from a
 * float made: the webhook was never sent, every download failed with "headersTimeout must be a
 * positive integer or zero".
 */
export function timerMs(seconds: number): number {
  return Math.max(1, Math.round(seconds * 1000));
}

/** A pause in seconds: 0 means none. */
export function delaySeconds() {
  return z.number().nonnegative().max(MAX_TIMER_SECONDS);
}

/**
 * The most retries a key may ask for (a health check's retry_count, an http source's retries).
 * `retry_count: 1000000000` validated and then held the app's lock for ever: every attempt of a
 * failing check ran to its timeout, and the update neither finished nor rolled back. A wait longer
 * than a hundred tries gives is a longer retry_delay, not more tries.
 */
export const MAX_RETRIES = 100;

/** How many times to try again after the first attempt: 0 (never) to MAX_RETRIES. */
export function retryCount() {
  return z.number().int().nonnegative().max(MAX_RETRIES);
}

/** A span of hours that is added to a date. */
export function spanHours() {
  return z.number().nonnegative().max(MAX_HOURS);
}

/**
 * The longest an agent waits before it tries the hub again (`[hub] reconnect_max_seconds`), which
 * caps its backoff. Taken as any timeout, `0.001` had an agent whose hub was down reconnect every
 * millisecond, logging each failure; `2000000` left a fleet away for 23 days after a hub restart,
 * long past the hub's offline and progress timeouts. The first wait is half a second, so a cap of a
 * second still backs off.
 */
export const MIN_RECONNECT_SECONDS = 1;
export const MAX_RECONNECT_SECONDS = 3600;

export function reconnectMaxSeconds() {
  return z
    .number()
    .min(
      MIN_RECONNECT_SECONDS,
      `must be ≥ ${MIN_RECONNECT_SECONDS} (below it a hub that is down is tried again every millisecond)`,
    )
    .max(
      MAX_RECONNECT_SECONDS,
      `must be ≤ ${MAX_RECONNECT_SECONDS} (an hour: longer leaves agents away from a restarted hub past its timeouts)`,
    );
}
