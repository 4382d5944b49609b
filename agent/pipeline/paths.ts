/** Where the pipeline keeps its files, all derived from `[general]` so an operator sets two keys. */
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import type { AgentConfig, Source } from "../../shared/config/schema.js";
import { dirNames } from "../tree/dir-names.js";
import { realDir } from "../tree/path-on-disk.js";
import type { UpdatePaths } from "./context.js";

export function stateRoot(config: AgentConfig): string {
  return dirname(config.general.state_file);
}

export function globalLockFile(config: AgentConfig): string {
  return config.general.lock_file ?? join(stateRoot(config), "ship.lock");
}

export function lockDir(config: AgentConfig): string {
  return join(stateRoot(config), "locks");
}

/**
 * Staging defaults under the state directory; set general.work_dir on the apps' filesystem so the
 * apply renames instead of copying (the engine logs when it has to copy).
 */
export function updatePaths(config: AgentConfig, name: string, source: Source): UpdatePaths {
  const root = stateRoot(config);
  const workDir = config.general.work_dir ?? join(root, "work");
  return {
    stagingDir: join(workDir, `${name}.staging`),
    appStateDir: appStateDir(config, source.app_dir),
    sourceStateDir: join(root, "sources", name),
  };
}

/** What appStateDir is, in an error about it. */
export const APP_STATE_WHAT = "ship's state directory of the app: its install index, journal and run records";

/**
 * Keyed by app_dir, not source name: the install index describes a directory, whoever fills it.
 * The key is the directory's real path, so `/opt/app/`, `/opt/app` and a symlink to it are one
 * directory with one record: before, changing app_dir between a link and its target (or adding a
 * trailing slash) made ship forget what it had installed there. A record an older ship kept under
 * the resolved or the unresolved spelling is still used while no real-path one exists.
 */
export function appStateDir(config: AgentConfig, appDir: string): string {
  const dir = (key: string) => {
    const readable = key.replace(/^\/+/, "").replace(/[^A-Za-z0-9_.-]+/g, "_") || "root";
    const hash = createHash("sha256").update(key).digest("hex").slice(0, 8);
    return join(stateRoot(config), "apps", `${readable}-${hash}`);
  };
  const [real = realDir(appDir), ...bound] = dirNames(realDir(appDir));
  const named = dir(real);
  if (existsSync(named)) return named;
  const other = [...bound, resolve(appDir), appDir].map(dir).find((d) => d !== named && existsSync(d));
  return other ?? named;
}
