import { existsSync } from "node:fs";
import { defaultConfigPath } from "../../shared/config/load.js";
import type { AgentConfig } from "../../shared/config/schema.js";
import { creationErrorText } from "../../shared/creatable-file.js";
import { BadInputError } from "../../shared/errors.js";
import { errnoCode } from "../../shared/fs-errors.js";
import { createLogger, type Logger } from "../../shared/log.js";
import type { GlobalOptions } from "./cli.js";

const levels = { DEBUG: "debug", INFO: "info", WARNING: "warn", ERROR: "error", CRITICAL: "error" } as const;

/**
 * The run's logger (pino): [general.logging] from ship.toml, overridden by --verbose / --quiet.
 * Lines go out synchronously, so none is lost when the CLI exits.
 */
export function cliLogger(options: GlobalOptions, config?: AgentConfig, configFile?: string): Logger {
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
    // Typically /var/log/ship.log, which the service user may not create: bad input naming the key
    // (exit 2), as every other path ship.toml names that ship cannot create. It was exit 1, which
    // says an update failed and was undone, and /proc's refusal read "no such file or directory".
    if (errnoCode(error) === undefined) throw error;
    throw BadInputError.single(
      configFile ?? options.config ?? defaultConfigPath(process.cwd()),
      "general.logging.file",
      `cannot write log file ${file}: ${creationErrorText(error)}`,
    );
  }
}
