/**
 * Relative paths in ship.toml are relative to ship.toml's own directory, never to the directory
 * ship was started from. Before, `state_file = "var/state.json"` resolved against the working
 * directory: the timer (WorkingDirectory=) and an operator's shell used two state files, two
 * install records and two global locks, and each installed the same release again.
 * `~/…` (SSH keys, known_hosts) stays for expandHome; `checksum` is a spec, not only a path, and
 * must be absolute where it is a path (configured-files.ts).
 */
import { isAbsolute, resolve } from "node:path";
import type { AgentConfig, Source } from "./schema.js";

export function resolveConfigPaths(config: AgentConfig, baseDir: string): AgentConfig {
  const at = <T extends string | undefined>(path: T): T =>
    (path === undefined || isAbsolute(path) || path.startsWith("~/") ? path : resolve(baseDir, path)) as T;
  const general = config.general;
  return {
    ...config,
    general: {
      ...general,
      state_file: at(general.state_file),
      backup_dir: at(general.backup_dir),
      work_dir: at(general.work_dir),
      lock_file: at(general.lock_file),
      logging: { ...general.logging, file: at(general.logging.file) },
    },
    sources: Object.fromEntries(
      Object.entries(config.sources).map(([name, source]) => [name, resolveSource(source, at)]),
    ),
    ...(config.hub === undefined
      ? {}
      : { hub: { ...config.hub, token_file: at(config.hub.token_file), ca_file: at(config.hub.ca_file) } }),
    ...(config.trust === undefined
      ? {}
      : { trust: { ...config.trust, key_files: config.trust.key_files.map((file) => at(file)) } }),
  };
}

function resolveSource(source: Source, at: <T extends string | undefined>(path: T) => T): Source {
  switch (source.type) {
    case "git":
      return { ...source, key_filename: at(source.key_filename), known_hosts: at(source.known_hosts) };
    case "http":
    case "https":
      return { ...source, metadata_file: at(source.metadata_file), ca_file: at(source.ca_file) };
    case "sftp":
      return {
        ...source,
        key_filename: at(source.key_filename),
        known_hosts: at(source.known_hosts),
        passphrase_file: at(source.passphrase_file),
        metadata_file: at(source.metadata_file),
      };
    default:
      // app_dir, local_path and path must already be absolute (the schema says so).
      return source;
  }
}
