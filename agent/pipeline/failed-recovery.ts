/**
 * What a recovery that failed (a killed restore or update it could not finish: an immutable file, an
 * I/O error) leaves in the state file. The app is partly restored and needs a person; the state
 * says so, and names the version the install index does. Nothing recorded it: after `ship --recover`
 * exit 3 the state kept the last update's `updated` with no error, and the daemon's hello (which
 * reads it) told the hub all was well.
 */
import type { AgentConfig, Source } from "../../shared/config/schema.js";
import type { Logger } from "../../shared/log.js";
import { syncInstalledState, unlessStateUnwritable } from "./sync-installed.js";

/** Records restore_failed with `detail`; resolves to the version on disk (null: unknown or none). */
export async function recordFailedRecovery(
  config: AgentConfig,
  name: string,
  source: Source,
  detail: string,
  now: Date,
  log: Logger,
): Promise<string | null> {
  return unlessStateUnwritable(
    syncInstalledState(
      config,
      name,
      source,
      now,
      (s) => ({ ...s, last_result: "restore_failed", last_error: detail }),
      log,
    ).then((synced) => synced.version),
    log,
    null,
  );
}
