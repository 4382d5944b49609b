import { existsSync } from "node:fs";
import { stat } from "node:fs/promises";
import { resolve } from "node:path";
import { defaultConfigPath } from "../../shared/config/load.js";
import type { AgentConfig } from "../../shared/config/schema.js";
import { BadInputError } from "../../shared/errors.js";
import { errnoCode, fsErrorText } from "../../shared/fs-errors.js";
import { commandLineVersionProblem } from "../../shared/versions.js";
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

export interface TargetDefaults {
  /**
   * The app when there is no config and no --app-dir: `--check-rollout` answers a host question
   * (the working directory stands in for criteria that read files); the other checks refuse.
   */
  withoutConfig?: string;
  /**
   * A --app-dir that does not exist yet is the app before its first install (`--check-requirements`
   * asks about the host: disk space is measured where the directory will be).
   */
  appDirMayBeMissing?: boolean;
}

/**
 * Which app a manifest check is about: --app-dir, else the one source named with --sources (or the
 * only one configured). The installed version comes from --current-version, else the state file's
 * record of the source that fills that app directory.
 */
export async function resolveAppTarget(
  options: GlobalOptions,
  out: Output,
  defaults: TargetDefaults = {},
): Promise<AppTarget> {
  // As `--approve` refuses it: a typo (`1.9,0`, `latest`) still has a place in the version order,
  // and the check answered for it (`'latest' < '2.0.0'` holds) as if it were the installed version.
  const versionProblem =
    options.currentVersion === undefined ? undefined : commandLineVersionProblem(options.currentVersion);
  if (versionProblem !== undefined)
    throw BadInputError.single(
      "--current-version",
      JSON.stringify(options.currentVersion?.slice(0, 100)),
      versionProblem,
    );
  const configPath = options.config ?? defaultConfigPath(process.cwd());
  const haveConfig = options.config !== undefined || existsSync(configPath);
  if (!haveConfig) {
    if (options.appDir !== undefined) await checkAppDirOption(options.appDir, defaults.appDirMayBeMissing);
    const appDir = options.appDir ?? defaults.withoutConfig;
    if (appDir === undefined)
      throw BadInputError.single(configPath, "", "does not exist: pass --app-dir DIR (or --config PATH)");
    return { appDir, currentVersion: options.currentVersion };
  }
  const { config } = await loadCliConfig(configPath, out);
  const name = targetSource(config, configPath, options);
  const source = name === undefined ? undefined : config.sources[name];
  if (options.appDir !== undefined) {
    // A source's app_dir before its first install is that app, as `--sources NAME` would name it.
    const configured = source !== undefined && resolve(source.app_dir) === resolve(options.appDir);
    await checkAppDirOption(options.appDir, configured || defaults.appDirMayBeMissing);
  }
  const state = await readState(config.general.state_file);
  const installed = name === undefined ? undefined : (state.sources[name]?.current_version ?? undefined);
  return {
    appDir: options.appDir ?? (source?.app_dir as string),
    currentVersion: options.currentVersion ?? installed,
    ...(name === undefined ? {} : { source: name }),
  };
}

/**
 * The source the check is about: the one --sources names, else the one whose app_dir is --app-dir,
 * else the only one configured. --app-dir alone never borrows another app's installed version.
 */
function targetSource(config: AgentConfig, configPath: string, options: GlobalOptions): string | undefined {
  const names = Object.keys(config.sources);
  if (options.sources !== undefined) {
    const unknown = options.sources.filter((n) => config.sources[n] === undefined);
    if (unknown.length > 0)
      throw BadInputError.single(
        "--sources",
        unknown.join(" "),
        `no such source; configured: ${names.join(", ") || "(none)"}`,
      );
    if (options.sources.length === 1) return options.sources[0];
  } else if (options.appDir !== undefined) {
    const dir = resolve(options.appDir);
    return names.find((n) => resolve(config.sources[n]!.app_dir) === dir);
  } else if (names.length === 1) {
    return names[0];
  }
  const known = names.join(", ") || "(none)";
  throw BadInputError.single(
    configPath,
    "sources",
    `say which app: --sources NAME or --app-dir DIR (configured: ${known})`,
  );
}

/**
 * --app-dir must name a directory: a file or a typo would make every file_exists() false. One that
 * does not exist yet is allowed where it cannot mislead (`mayBeMissing`).
 */
async function checkAppDirOption(dir: string, mayBeMissing = false): Promise<void> {
  const found = await stat(dir).catch((error: unknown) => error);
  if (found instanceof Error && mayBeMissing && errnoCode(found) === "ENOENT") return;
  if (found instanceof Error) throw BadInputError.single("--app-dir", "", `${dir}: ${fsErrorText(found)}`);
  if (!(found as { isDirectory(): boolean }).isDirectory())
    throw BadInputError.single("--app-dir", "", `${dir} is not a directory`);
}
