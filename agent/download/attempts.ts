/**
 * What a failed request says of the time it took. A silent server ended each attempt after the
 * source's timeout_seconds and the retries added their waits: `timeout_seconds = 3` took 27 s and
 * the line read only "no answer in time", so the operator could not tell where the time went.
 */
import { DownloadError } from "./errors.js";

export interface PatienceSetting {
  /** Silence allowed per request (the client's header and body timeouts); 60 s when unset. */
  timeoutMs?: number;
  /** The operator's key behind timeoutMs, named when silence ends a request ("[sources.web] timeout_seconds"). */
  timeoutSetting?: string;
  /** The operator's key behind the number of retries ("[sources.web] retries"). */
  retriesSetting?: string;
}

/** The client's own timeouts: what fell silent, and for how long of the setting (connect is capped). */
const SILENCES: Record<string, { what: string; capMs?: number }> = {
  UND_ERR_HEADERS_TIMEOUT: { what: "no answer" },
  UND_ERR_BODY_TIMEOUT: { what: "the download stalled: nothing arrived" },
  UND_ERR_CONNECT_TIMEOUT: { what: "no connection", capMs: 30_000 },
};

/**
 * A timeout said with its seconds and the key that sets them ("no answer within 3 s ([sources.web]
 * timeout_seconds) (UND_ERR_HEADERS_TIMEOUT)"); any other failure as it is.
 */
export function silenceSaid(failure: DownloadError, setting: PatienceSetting): DownloadError {
  const silence = failure.code === undefined ? undefined : SILENCES[failure.code];
  if (silence === undefined) return failure;
  const timeoutMs = setting.timeoutMs ?? 60_000;
  const ms = silence.capMs === undefined ? timeoutMs : Math.min(timeoutMs, silence.capMs);
  const key = setting.timeoutSetting === undefined ? "" : ` (${setting.timeoutSetting})`;
  return withReason(failure, `${silence.what} within ${seconds(ms)} s${key} (${failure.code})`);
}

/**
 * The last failure of a request that was tried more than once, with the attempts and the time they
 * took ("…; gave up after 4 attempts in 27 s ([sources.web] retries = 3)").
 */
export function afterAttempts(
  failure: DownloadError,
  attempts: number,
  /** performance.now() when the first attempt began. */
  startedMs: number,
  setting: PatienceSetting,
  retries: number,
  /** Attempts that got more of the file: a download does not count them against `retries`. */
  progressed = 0,
): DownloadError {
  if (attempts < 2) return failure;
  // "3 attempts (retries = 1)" read as a miscount without the attempts that were not counted.
  const uncounted = progressed === 0 ? "" : `, not counting ${progressed} that got more of the file`;
  const key =
    setting.retriesSetting === undefined ? "" : ` (${setting.retriesSetting} = ${retries}${uncounted})`;
  const took = seconds(performance.now() - startedMs);
  return withReason(failure, `${failure.reason}; gave up after ${attempts} attempts in ${took} s${key}`);
}

function seconds(ms: number): string {
  return ms >= 10_000 ? String(Math.round(ms / 1000)) : String(Math.round(ms / 100) / 10);
}

function withReason(failure: DownloadError, reason: string): DownloadError {
  return new DownloadError(
    failure.url,
    reason,
    failure.retryable,
    failure.status,
    failure.retryAfterMs,
    failure.code,
    failure.redirectedTo,
    failure.certificateNames,
  );
}
