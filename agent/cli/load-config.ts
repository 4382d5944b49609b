import { defaultConfigPath, loadConfigFile } from "../../shared/config/load.js";
import type { AgentConfig } from "../../shared/config/schema.js";
import { formatIssue } from "../../shared/errors.js";
import { checkAppDirs, checkGeneralPaths } from "../pipeline/configured-paths.js";
import type { Output } from "./output.js";

/** Loads ship.toml from --config or the default place, printing its warnings once. */
export async function loadCliConfig(
  configOption: string | undefined,
  out: Output,
): Promise<{ config: AgentConfig; path: string }> {
  const path = configOption ?? defaultConfigPath(process.cwd());
  const { config, warnings } = await loadConfigFile(path);
  for (const w of warnings) out.problem(formatIssue(w));
  await checkGeneralPaths(config, path);
  await checkAppDirs(config, path);
  return { config, path };
}
