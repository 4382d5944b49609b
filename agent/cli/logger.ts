import type { AgentConfig } from "../../shared/config/schema.js";
import { createJsonLinesLogger } from "../../shared/json-lines-log.js";
import type { Logger } from "../../shared/log.js";
import type { GlobalOptions } from "./cli.js";

const levels = { DEBUG: "debug", INFO: "info", WARNING: "warn", ERROR: "error", CRITICAL: "error" } as const;

/**
 * The run's logger: [general.logging] from ship.toml, overridden by --verbose / --quiet. pino's JSON
 * lines without pino (its start-up cost is a good part of a quick `ship --rollback`).
 */
export function cliLogger(options: GlobalOptions, config?: AgentConfig): Logger {
  const configured = config ? levels[config.general.logging.level] : "info";
  const level = options.verbose ? "debug" : options.quiet ? "error" : configured;
  const file = config?.general.logging.file;
  return createJsonLinesLogger({ level, ...(file === undefined ? {} : { file }) });
}
