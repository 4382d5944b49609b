import { existsSync } from "node:fs";
import type { AgentConfig } from "../../shared/config/schema.js";
import { errnoCode, LocalWriteError } from "../../shared/fs-errors.js";
import { createLogger, type Logger } from "../../shared/log.js";
import type { GlobalOptions } from "./cli.js";

const levels = { DEBUG: "debug", INFO: "info", WARNING: "warn", ERROR: "error", CRITICAL: "error" } as const;

/**
 * The run's logger (pino): [general.logging] from ship.toml, overridden by --verbose / --quiet.
 * Lines go out synchronously, so none is lost when the CLI exits.
 */
export function cliLogger(options: GlobalOptions, config?: AgentConfig): Logger {
  const configured = config ? levels[config.general.logging.level] : "info";
  const level = options.verbose ? "debug" : options.quiet ? "error" : configured;
  const file = config?.general.logging.file;
  // --check-only changes nothing on disk: it appends to a log file that is there, but creates
  // neither the file nor its directory (pino's mkdir made /var/log/ship/ on a check); it logs to
  // stderr instead, as with no file configured.
  if (file === undefined || (options.checkOnly === true && !existsSync(file)))
    return createLogger({ level, sync: true });
  try {
    return createLogger({ level, sync: true, file });
  } catch (error) {
    // Typically /var/log/ship.log, which the service user may not create: say which key names it.
    if (errnoCode(error) === undefined) throw error;
    throw new LocalWriteError(`log file ${file} ([general.logging] file)`, error);
  }
}
