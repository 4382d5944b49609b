/**
 * Sources name the config file "ship.toml" in their bad-input errors (`ship.toml
 * sources.web.branch: the remote has no branch "nope"`): they are given a source's table, not the
 * path it came from. The run knows the file it read (`--config /etc/ship/staging.toml`), and an
 * operator with several configs must be told which one to fix, so the run's path replaces the
 * placeholder here, once, for every source kind.
 */
import { issuesMoved } from "../../shared/errors.js";
import type { ReleaseSource } from "./types.js";

/** The file name sources put in their errors' `file` for "the config this run read". */
export const CONFIG_FILE_PLACEHOLDER = "ship.toml";

/** `error` with CONFIG_FILE_PLACEHOLDER replaced by `configFile`; any other error as it is. */
export function inConfigFile(error: unknown, configFile: string): unknown {
  return issuesMoved(error, CONFIG_FILE_PLACEHOLDER, configFile);
}

/** `source`, whose check, fetch and commit errors name `configFile` (undefined: unchanged). */
export function namingConfigFile(source: ReleaseSource, configFile: string | undefined): ReleaseSource {
  if (configFile === undefined || configFile === CONFIG_FILE_PLACEHOLDER) return source;
  const named = <T>(work: Promise<T>): Promise<T> =>
    work.catch((error: unknown) => {
      throw inConfigFile(error, configFile);
    });
  return {
    name: source.name,
    check: () => named(source.check()),
    fetch: (stagingDir, options) => named(source.fetch(stagingDir, options)),
    commit: (release) => named(source.commit(release)),
    close: async () => source.close?.(),
  };
}
