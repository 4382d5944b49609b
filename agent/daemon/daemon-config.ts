/**
 * The checks a `ship agent` start makes of ship.toml before it connects, in one place: the start
 * runs them, and so does the check of an edited ship.toml (config-changed.ts) before the daemon
 * exits to be started again with it. That check used to only parse the file: an edit that parsed
 * but could not start a daemon (a `token_file` typo, the [hub] table commented out, a missing
 * `ca_file`) made the agent exit 75, and the start that followed exit 2, again at every restart.
 */
import { loadConfigFile } from "../../shared/config/load.js";
import type { AgentConfig } from "../../shared/config/schema.js";
import { BadInputError, type Issue } from "../../shared/errors.js";
import { type Logger, memoryLogger } from "../../shared/log.js";
import { loadTrustedKeys } from "../../shared/signing/trust.js";
import { checkAgentFiles, checkScratchDirs } from "../pipeline/configured-files.js";
import { checkAppDirs, checkGeneralPaths } from "../pipeline/configured-paths.js";
import { daemonDir } from "./agent-daemon.js";
import { type AgentIdentity, loadAgentIdentity } from "./agent-identity.js";
import { checkStateReadable } from "./readable-state.js";

export interface DaemonConfig {
  config: AgentConfig & { hub: NonNullable<AgentConfig["hub"]> };
  log: Logger;
  identity: AgentIdentity;
}

export interface DaemonConfigOptions {
  /** The file's warnings (unknown keys), told before a problem stops the start. */
  onWarnings?: (warnings: Issue[]) => void;
  /**
   * The logger the config asks for, for the warnings of the checks that only warn: made once every
   * check has passed, since opening a log file creates it (and its directory), which a refused
   * start must not leave behind.
   */
  logFor?: (config: AgentConfig) => Logger | Promise<Logger>;
}

/** Throws what stops a start: exit 2, naming the file and key. */
export async function loadDaemonConfig(
  path: string,
  options: DaemonConfigOptions = {},
): Promise<DaemonConfig> {
  const { config, warnings } = await loadConfigFile(path);
  options.onWarnings?.(warnings);
  const hub = config.hub;
  if (hub === undefined) {
    throw BadInputError.single(path, "hub", "`ship agent` needs a [hub] table (url, token_file)");
  }
  // As every other mode does: a state_file that is a directory was "recovery failed: EISDIR" and a
  // daemon that ran on, failing every instruction.
  await checkGeneralPaths(config, path);
  await checkStateReadable(config, path, daemonDir(config));
  const enabled = Object.keys(config.sources).filter((n) => config.sources[n]?.enabled);
  await checkAppDirs(config, path, enabled);
  await checkScratchDirs(
    config,
    Object.entries(config.sources).filter(([n]) => enabled.includes(n)),
    path,
  );
  // Before connecting: a missing CA or key file would otherwise only show as endless reconnects.
  await checkAgentFiles(config, path);
  // And the [trust] keys themselves: a private key or a mangled file is refused now, not at the first release.
  await loadTrustedKeys(config.trust, path);
  // Its warnings (a token file others may read) are held until the last check has passed.
  const held: HeldLine[] = [];
  const identity = await loadAgentIdentity(hub, memoryLogger(held), path);
  const log = (await options.logFor?.(config)) ?? memoryLogger();
  for (const line of held) log[line.level](line.msg, line.data);
  return { config: { ...config, hub }, log, identity };
}

type HeldLine = { level: "debug" | "info" | "warn" | "error"; msg: string; data?: Record<string, unknown> };
