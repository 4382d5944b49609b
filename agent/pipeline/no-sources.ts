import type { AgentConfig } from "../../shared/config/schema.js";
import { BadInputError } from "../../shared/errors.js";

/**
 * A ship.toml with no `[sources.NAME]` at all (0 bytes, only comments, a file config management wrote
 * empty) has nothing to update or recover: a run said "no sources to run", or "ship ran less than
 * 24 h ago", and `--recover` said nothing at all, each exit 0, so the timer went on succeeding on a
 * host nothing updated and a recovery pointed at the wrong file read as done. Bad input naming the file.
 * `--list-backups` and `--rollback` list and restore only this config's sources' backups: they said
 * "no backups in …" and "holds no backup with id …", as if backup_dir were empty.
 */
export function refuseNoSources(
  config: AgentConfig,
  configFile: string,
  consequence = "nothing to update",
): void {
  if (Object.keys(config.sources).length > 0) return;
  throw BadInputError.single(
    configFile,
    "",
    `configures no source ([sources.NAME] with a type): ${consequence} (README: ship.toml)`,
  );
}
