/**
 * The environment the manifest's commands start from: a few essentials, nothing else. The agent's
 * own environment holds secrets (an SFTP `passphrase_env`, SHIP_HUB_TOKEN, cloud credentials from
 * the unit file) that a hook would otherwise inherit and could print into its output and ship.log.
 */
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
