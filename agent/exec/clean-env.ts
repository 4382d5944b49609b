/**
 * The environment the manifest's commands start from: a few essentials, nothing else. The agent's
 * own environment holds secrets (an SFTP `passphrase_env`, SHIP_HUB_TOKEN, cloud credentials from
 * the unit file) that a hook would otherwise inherit and could print into its output and ship.log.
 */
/**
 * The host's forward proxy, as curl, git, pip and apt read it: on a network whose only way out is
 * a proxy, git's fetch and the seed's `pip install -r requirements.txt` hook failed without it.
 */
export const PROXY_VARIABLES = [
  "http_proxy",
  "https_proxy",
  "no_proxy",
  "all_proxy",
  "HTTP_PROXY",
  "HTTPS_PROXY",
  "NO_PROXY",
  "ALL_PROXY",
];

export const PASSED_TO_COMMANDS = [
  "PATH",
  "HOME",
  "LANG",
  "LC_ALL",
  "LC_CTYPE",
  "TZ",
  "USER",
  "LOGNAME",
  "TMPDIR",
  ...PROXY_VARIABLES,
];

const DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

export function cleanEnvironment(from: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { PATH: DEFAULT_PATH };
  for (const name of PASSED_TO_COMMANDS) {
    const value = from[name];
    if (value !== undefined) env[name] = value;
  }
  return env;
}
