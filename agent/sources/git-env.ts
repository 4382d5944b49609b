/**
 * The environment git runs in for a source: no prompts, ssh with the configured key and a
 * strictly checked known_hosts, and https headers (tokens) and a `remote` URL's user:password
 * passed as config through the environment — never on the command line, where `ps` would show them
 * to every local user.
 */
import type { GitSource as GitSourceConfig } from "../../shared/config/schema.js";
import { PROXY_VARIABLES } from "../exec/clean-env.js";
import { expandHome } from "./home-path.js";

export function gitEnvironment(
  cfg: GitSourceConfig,
  /**
   * The URL the clone gives a `remote` that is a name (`origin`), when it was read: one holding
   * user:password@ (a clone made with `git clone https://TOKEN@host/…`) went, as git does, on the
   * command line of the git-remote-https git starts for every fetch, for `ps` to show.
   */
  cloneUrl?: string,
): Record<string, string> {
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? "/usr/local/bin:/usr/bin:/bin",
    HOME: process.env.HOME ?? "/root",
    LANG: "C",
    GIT_TERMINAL_PROMPT: "0",
    GIT_SSH_COMMAND: sshCommand(cfg),
  };
  // git (libcurl) reads the host's proxy from these; without them a fetch behind a proxy failed.
  for (const name of PROXY_VARIABLES) {
    const value = process.env[name];
    if (value !== undefined) env[name] = value;
  }
  // A remote that stops sending (a network cut with no reset, a hung server) held the fetch, the
  // run and its lock for ever: git's own low-speed rule ends an https transfer that moves no byte
  // for timeout_seconds, ssh's keepalives (sshCommand) an ssh one.
  const config: [string, string][] = [
    ["http.lowSpeedLimit", "1"],
    ["http.lowSpeedTime", String(Math.ceil(cfg.timeout_seconds))],
    // `git archive` (a first install, an unknown installed commit) gives files the modes tar.umask
    // leaves; an update that writes only changed blobs gives git's default, 664/775 (git-tree.ts
    // modeOf). Pinned to that default, so a host's or clone's tar.umask cannot make the two differ
    // (an update then rewrote every unchanged file for its mode).
    ["tar.umask", "0002"],
    // The gc ship runs once a fetch is kept (git.ts) finishes before ship goes on: detached, it
    // could still be repacking when the next fetch is refused past max_download_mb, whose cleanup
    // removes the packs that appeared meanwhile (git-pack-size.ts) — the repack's among them.
    ["gc.autoDetach", "false"],
  ];
  const headers = Object.entries(cfg.headers);
  if (headers.length > 0) {
    // git sends http.extraHeader to wherever a redirect leads; with headers configured it follows
    // none, so a token cannot be handed to another origin (point `remote` at the final URL).
    config.push(
      ["http.followRedirects", "false"],
      ...headers.map(([name, value]): [string, string] => ["http.extraHeader", `${name}: ${value}`]),
    );
  }
  const credentials = remoteCredentialSettings(cfg.remote, cloneUrl === undefined ? [] : [cloneUrl]);
  return { ...env, ...credentials.env, ...gitConfigVariables([...config, ...credentials.config]) };
}

/**
 * What gives git an http(s) remote's user:password without a command line holding them: the
 * credential helper below, the secrets in its environment, and for a remote that is a name, an
 * `insteadOf` rewriting each URL the repository's config gives it (`namedUrls`: its url, and for a
 * push its pushurl) to one without them. Nothing for a remote without credentials. ship's git
 * sources and `ship release git --push`.
 */
export function remoteCredentialSettings(
  remote: string,
  namedUrls: readonly string[] = [],
): { config: [string, string][]; env: Record<string, string> } {
  const config: [string, string][] = [];
  let credentials = remoteCredentials(remote);
  if (credentials === undefined)
    for (const namedUrl of namedUrls) {
      const found = remoteCredentials(namedUrl);
      // git reads that URL from the repository's config, not from ship: it is rewritten (insteadOf)
      // to the same URL without user:password@ before git starts its remote helper with it.
      const written = /^[A-Za-z][\w+.-]*:\/\/[^/?#]*@[^/?#]*/.exec(namedUrl)?.[0];
      if (found === undefined || written === undefined) continue;
      config.push([`url.${found.origin}.insteadOf`, written]);
      // The helper answers with the first URL's; another's different ones are refused by the server
      // (exit 1), never put on a command line.
      credentials ??= found;
    }
  if (credentials === undefined) return { config, env: {} };
  // The empty value first drops every helper the host's git config names (a `store` helper
  // would write the password to ~/.git-credentials); ours answers only for the remote's origin.
  config.push(["credential.helper", ""], ["credential.helper", CREDENTIAL_HELPER]);
  return {
    config,
    env: {
      SHIP_GIT_ORIGIN: credentials.origin,
      SHIP_GIT_USERNAME: credentials.username,
      SHIP_GIT_PASSWORD: credentials.password,
    },
  };
}

/**
 * `config` as git's GIT_CONFIG_COUNT/KEY/VALUE variables, after those `from` sets already (a CI
 * job's own), so neither replaces the other.
 */
export function gitConfigVariables(
  config: readonly [string, string][],
  from: NodeJS.ProcessEnv = {},
): Record<string, string> {
  if (config.length === 0) return {};
  const given = Number(from.GIT_CONFIG_COUNT ?? 0);
  const start = Number.isInteger(given) && given > 0 ? given : 0;
  const env: Record<string, string> = { GIT_CONFIG_COUNT: String(start + config.length) };
  config.forEach(([key, value], i) => {
    env[`GIT_CONFIG_KEY_${start + i}`] = key;
    env[`GIT_CONFIG_VALUE_${start + i}`] = value;
  });
  return env;
}

/**
 * A git credential helper (run by git through sh) that gives the remote's user and password, read
 * from the environment, to requests for the remote's own origin only; the script holds no secret.
 */
const CREDENTIAL_HELPER =
  '!f() { test "$1" = get || exit 0; p=; h=; while IFS= read -r l; do case "$l" in ' +
  // biome-ignore lint/suspicious/noTemplateCurlyInString: shell parameter expansion, not a JS template
  'protocol=*) p="${l#protocol=}";; host=*) h="${l#host=}";; esac; done; ' +
  'test "$p://$h" = "$SHIP_GIT_ORIGIN" || exit 0; ' +
  'printf "username=%s\\npassword=%s\\n" "$SHIP_GIT_USERNAME" "$SHIP_GIT_PASSWORD"; }; f';

interface RemoteCredentials {
  /** `https://host[:port]`, as git names it to a credential helper. */
  origin: string;
  username: string;
  password: string;
}

/**
 * The user:password of an http(s) `remote` URL, decoded; undefined when it has neither. A user
 * alone is a secret too: `https://TOKEN@host/…` is how GitHub and Gitea write a token, and went on
 * git's command line as written (git then asked for a password it could not prompt for); it now
 * goes to the server as the user with an empty password, as `https://TOKEN:@host/…` would.
 */
function remoteCredentials(remote: string): RemoteCredentials | undefined {
  if (!/^https?:\/\//i.test(remote) || !URL.canParse(remote)) return undefined;
  const url = new URL(remote);
  if (url.username === "" && url.password === "") return undefined;
  return {
    origin: `${url.protocol.slice(0, -1)}://${url.host}`,
    username: decodeURIComponent(url.username),
    password: decodeURIComponent(url.password),
  };
}

/**
 * The URL git is given on its command line: an http(s) `remote` without its user:password, which
 * reach git through the credential helper above instead (gitEnvironment).
 */
export function remoteForCommandLine(remote: string): string {
  if (remoteCredentials(remote) === undefined) return remote;
  const url = new URL(remote);
  url.username = "";
  url.password = "";
  return url.toString();
}

/**
 * StrictHostKeyChecking=yes always: an unknown or changed host key fails the fetch. Keepalives
 * every quarter of timeout_seconds, three unanswered end the connection.
 */
export function sshCommand(
  cfg: Pick<GitSourceConfig, "key_filename" | "known_hosts" | "timeout_seconds">,
): string {
  const alive = Math.max(1, Math.floor(cfg.timeout_seconds / 4));
  const args = [
    "ssh",
    ...["-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=yes"],
    ...["-o", `ServerAliveInterval=${alive}`, "-o", "ServerAliveCountMax=3"],
    ...["-o", `ConnectTimeout=${Math.ceil(cfg.timeout_seconds)}`],
  ];
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
