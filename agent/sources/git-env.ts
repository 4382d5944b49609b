/**
 * The environment git runs in for a source: no prompts, ssh with the configured key and a
 * strictly checked known_hosts, and https headers (tokens) passed as config through the
 * environment — never on the command line, where `ps` would show them to every local user.
 */
import type { GitSource as GitSourceConfig } from "../../shared/config/schema.js";
import { expandHome } from "./home-path.js";

export function gitEnvironment(cfg: GitSourceConfig): Record<string, string> {
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? "/usr/local/bin:/usr/bin:/bin",
    HOME: process.env.HOME ?? "/root",
    LANG: "C",
    GIT_TERMINAL_PROMPT: "0",
    GIT_SSH_COMMAND: sshCommand(cfg),
  };
  const headers = Object.entries(cfg.headers);
  if (headers.length > 0) {
    // git sends http.extraHeader to wherever a redirect leads; with headers configured it follows
    // none, so a token cannot be handed to another origin (point `remote` at the final URL).
    const config: [string, string][] = [
      ["http.followRedirects", "false"],
      ...headers.map(([name, value]): [string, string] => ["http.extraHeader", `${name}: ${value}`]),
    ];
    env.GIT_CONFIG_COUNT = String(config.length);
    config.forEach(([key, value], i) => {
      env[`GIT_CONFIG_KEY_${i}`] = key;
      env[`GIT_CONFIG_VALUE_${i}`] = value;
    });
  }
  return env;
}

/** StrictHostKeyChecking=yes always: an unknown or changed host key fails the fetch. */
export function sshCommand(cfg: Pick<GitSourceConfig, "key_filename" | "known_hosts">): string {
  const args = ["ssh", "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=yes"];
  if (cfg.key_filename !== undefined) {
    args.push("-i", expandHome(cfg.key_filename), "-o", "IdentitiesOnly=yes");
  }
  if (cfg.known_hosts !== undefined) args.push("-o", `UserKnownHostsFile=${expandHome(cfg.known_hosts)}`);
  return args.map(shellQuote).join(" ");
}

/** git runs GIT_SSH_COMMAND through a shell: quote every word. */
function shellQuote(word: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, "'\\''")}'`;
}

/** True for `remote` values that are URLs or paths rather than remote names. */
export function isRemoteUrl(remote: string): boolean {
  return remote.includes("://") || remote.startsWith("/") || /^[^/]+@[^:]+:/.test(remote);
}
