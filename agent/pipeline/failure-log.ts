/**
 * Where a failed run says why. A failure its caller tries again later (the daemon: a release
 * server away, the app locked by another run) is the caller's to say, once, at WARNING with the
 * reason: the pipeline's ERROR before "trying again later" read as a failed deployment under
 * `journalctl -p err`, and said it twice.
 */
import type { Logger } from "../../shared/log.js";
import type { UpdateSettings } from "./context.js";

export function logFailure(
  log: Logger,
  settings: Pick<UpdateSettings, "retriedLater">,
  error: unknown,
  message: string,
  data?: Record<string, unknown>,
): void {
  if (settings.retriedLater?.(error) === true) log.debug(message, data);
  else log.error(message, data);
}
