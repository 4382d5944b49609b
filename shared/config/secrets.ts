import { stat } from "node:fs/promises";
import type { Issue } from "../errors.js";
import { modeText } from "../file-permissions.js";
import { cloneConfig, remoteUrls } from "../git-clone-config.js";
import { formatKeyPath, type KeyPath } from "../schema/key-path.js";
import type { AgentConfig } from "./schema.js";
import { positionInToml, type TomlKeyPositions } from "./toml-positions.js";

const GROUP_OR_OTHER_READ = 0o044;

/** A URL that carries credentials: `user:password@`, or query values (`?token=…`, a signed URL). */
function hasUrlCredentials(value: string | undefined): boolean {
  if (value === undefined || !URL.canParse(value)) return false;
  const url = new URL(value);
  // ssh authenticates with a key: the user in ssh://deploy@host/… is a login name, not a secret
  // (over http(s) a user alone may be a token: https://TOKEN@host/…).
  if (SSH_SCHEMES.has(url.protocol)) return url.password !== "";
  return url.username !== "" || url.password !== "" || url.search !== "";
}

const SSH_SCHEMES = new Set(["ssh:", "git+ssh:", "ssh+git:"]);

/**
 * Key paths in the config whose values are secrets themselves: request headers (tokens), and URLs
 * with credentials in them (an http(s) source's url or checksum, a git remote; the hub's url may carry none).
 */
function inlineSecrets(config: AgentConfig): KeyPath[] {
  const paths: KeyPath[] = [];
  for (const [name, source] of Object.entries(config.sources)) {
    if ("headers" in source && Object.keys(source.headers).length > 0)
      paths.push(["sources", name, "headers"]);
    for (const key of ["url", "checksum", "remote"] as const) {
      const value = key in source ? (source as Partial<Record<typeof key, string>>)[key] : undefined;
      if (hasUrlCredentials(value)) paths.push(["sources", name, key]);
    }
  }
  return paths;
}

/** Key paths naming files that hold secrets: the hub token and SFTP key passphrases. */
function secretFiles(config: AgentConfig): [KeyPath, string][] {
  const files: [KeyPath, string][] = [];
  if (config.hub !== undefined) files.push([["hub", "token_file"], config.hub.token_file]);
  for (const [name, source] of Object.entries(config.sources)) {
    if (source.type === "sftp" && source.passphrase_file !== undefined) {
      files.push([["sources", name, "passphrase_file"], source.passphrase_file]);
    }
  }
  return files;
}

/** The config file of each git source's clone that keeps a remote URL with credentials. */
async function cloneConfigs(config: AgentConfig): Promise<[KeyPath, string][]> {
  const found: [KeyPath, string][] = [];
  for (const [name, source] of Object.entries(config.sources)) {
    if (source.type !== "git") continue;
    const clone = await cloneConfig(source.local_path);
    if (clone !== undefined && remoteUrls(clone.text).some(hasUrlCredentials))
      found.push([["sources", name, "local_path"], clone.file]);
  }
  return found;
}

/**
 * Warnings (not errors: the agent still runs) for secrets other users can read: a config file
 * with headers that is group/other-readable, and token or passphrase files that are.
 */
export async function secretExposureWarnings(
  config: AgentConfig,
  file: string,
  mode: number,
  positions: TomlKeyPositions,
): Promise<Issue[]> {
  const warnings: Issue[] = [];
  const warn = (path: KeyPath, message: string) => {
    const at = positionInToml(positions, path);
    const base: Issue = { file, path: formatKeyPath(path), message, severity: "warning" };
    warnings.push(at === undefined ? base : { ...base, line: at.line, column: at.column });
  };
  if ((mode & GROUP_OR_OTHER_READ) !== 0) {
    for (const path of inlineSecrets(config)) {
      warn(
        path,
        `holds secrets but ${file} is readable by other users (mode ${modeText(mode)}); chmod 600 it`,
      );
    }
  }
  for (const [path, cloneConfig] of await cloneConfigs(config)) {
    const cloneMode = (await stat(cloneConfig).catch(() => undefined))?.mode;
    if (cloneMode !== undefined && (cloneMode & GROUP_OR_OTHER_READ) !== 0)
      warn(
        path,
        `${cloneConfig} holds a remote URL with credentials and is readable by other users (mode ${modeText(cloneMode)}); chmod 600 it, or set them in sources.${path[1]}.remote or headers of this file instead`,
      );
  }
  for (const [path, secretFile] of secretFiles(config)) {
    // Only a file that holds something: a directory or an empty file is refused by the read that
    // follows, and "readable by other users (mode 755); chmod 600 it" before that one line misled.
    const secretMode = await stat(secretFile).then(
      (s) => (s.isFile() && s.size > 0 ? s.mode : undefined),
      () => undefined,
    );
    if (secretMode !== undefined && (secretMode & GROUP_OR_OTHER_READ) !== 0) {
      warn(path, `${secretFile} is readable by other users (mode ${modeText(secretMode)}); chmod 600 it`);
    }
  }
  return warnings;
}
