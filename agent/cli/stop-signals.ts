/**
 * SIGTERM/SIGINT for `ship` and `ship agent`: the first asks the work in hand to finish and stop
 * at a safe boundary; a second one exits at once (the journal lets the next start recover).
 */
import { constants } from "node:os";
import type { Logger } from "../../shared/log.js";

/** The shell's code for "ended by SIGNAL" (143 for SIGTERM, 130 for SIGINT). */
export function signalExitCode(signal: NodeJS.Signals): number {
  return 128 + constants.signals[signal];
}

export interface StopSignals {
  /** The first signal received, if any. */
  readonly received: NodeJS.Signals | undefined;
  /** Stops listening (the default handlers return). */
  dispose(): void;
}

/**
 * Calls `onFirst` for the first SIGTERM/SIGINT. A second one exits with 128+signal, not 0: the work
 * was cut short, and systemd must not read that as a clean stop.
 * SIGHUP is not a stop: `ship` runs let it pass (outlive-terminal.ts), `ship agent` reopens its log.
 */
export function onStopSignals(log: Logger, onFirst: (signal: NodeJS.Signals) => void): StopSignals {
  let received: NodeJS.Signals | undefined;
  const handler = (signal: NodeJS.Signals) => {
    if (received !== undefined) {
      log.warn(`second signal (${signal}): exiting now, cut short; the next start recovers`, { signal });
      process.exit(signalExitCode(signal));
    }
    received = signal;
    onFirst(signal);
  };
  process.on("SIGTERM", handler);
  process.on("SIGINT", handler);
  return {
    get received() {
      return received;
    },
    dispose() {
      process.off("SIGTERM", handler);
      process.off("SIGINT", handler);
    },
  };
}
