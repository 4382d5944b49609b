/**
 * What the state file says of an instruction the pipeline never carried to its end (given up after
 * the agent stopped in it three times, or broken by something unexpected). The hub heard "failed"
 * and on_failure went out, but the state kept the run before it ("updated", no error), so
 * `ship --check-only`, `--json` readers and the next hello said all was well: README says the
 * attempt that ends an instruction is recorded.
 */
import type { AgentConfig } from "../../shared/config/schema.js";
import type { Logger } from "../../shared/log.js";
import { syncInstalledState, unlessStateUnwritable } from "../pipeline/sync-installed.js";

/**
 * Records failed_unchanged with `error` (nothing of the release went in: its leftovers were taken
 * out); a restore_failed already there stays, as a refused rollback keeps it: the app is still
 * partly restored and that is what the operator must hear. Best effort: a state that cannot be
 * written is a WARNING, the report still goes.
 */
export async function recordEndedInstruction(
  config: AgentConfig,
  app: string,
  error: string,
  log: Logger,
): Promise<void> {
  const source = config.sources[app];
  if (source === undefined) return;
  await unlessStateUnwritable(
    syncInstalledState(
      config,
      app,
      source,
      new Date(),
      (s) =>
        s.last_result === "restore_failed" ? s : { ...s, last_result: "failed_unchanged", last_error: error },
      log,
    ).then(() => undefined),
    log,
    undefined,
    app,
  );
}
