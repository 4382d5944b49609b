import { existsSync } from "node:fs";
import { defaultConfigPath } from "../../shared/config/load.js";
import { BadInputError } from "../../shared/errors.js";
import { readState } from "../state/state-file.js";
import type { GlobalOptions } from "./cli.js";
import { loadCliConfig } from "./load-config.js";
import type { Output } from "./output.js";

export interface AppTarget {
  appDir: string;
  currentVersion: string | undefined;
  /** The source the target came from, when it came from ship.toml. */
  source?: string;
}

/**
 * Which app a manifest check is about: --app-dir, else the one source named with --sources (or the
 * only one configured). The installed version comes from --current-version or the state file.
 */
export async function resolveAppTarget(options: GlobalOptions, out: Output): Promise<AppTarget> {
  const configPath = options.config ?? defaultConfigPath(process.cwd());
  const haveConfig = options.config !== undefined || existsSync(configPath);
  if (options.appDir !== undefined && !haveConfig) {
    return { appDir: options.appDir, currentVersion: options.currentVersion };
  }
  if (!haveConfig) {
    throw BadInputError.single(configPath, "", "no config file: pass --app-dir DIR (or --config PATH)");
  }
  const { config } = await loadCliConfig(configPath, out);
  const names = options.sources ?? Object.keys(config.sources);
  const name = names.length === 1 ? names[0] : undefined;
  const source = name === undefined ? undefined : config.sources[name];
  if (options.appDir === undefined && (name === undefined || source === undefined)) {
    const known = Object.keys(config.sources).join(", ") || "(none)";
    throw BadInputError.single(
      configPath,
      "sources",
      `say which app: --sources NAME or --app-dir DIR (configured: ${known})`,
    );
  }
  const state = await readState(config.general.state_file);
  const installed = name === undefined ? undefined : (state.sources[name]?.current_version ?? undefined);
  return {
    appDir: options.appDir ?? (source?.app_dir as string),
    currentVersion: options.currentVersion ?? installed,
    ...(name === undefined ? {} : { source: name }),
  };
}
