/**
 * git's words for a server it could not reach differ by transport (curl for http(s), ssh, git's
 * own daemon protocol), and the first line is often only "fatal: unable to access '…':" or ssh's
 * "Could not read from remote repository". One sentence for all of them, as http and sftp sources
 * say it: the run stays exit 1 (the server may be back next run), the line says what to look at.
 */
import type { BadInputError } from "../../shared/errors.js";
import { bypassesProxy } from "../download/no-proxy.js";
import { environmentProxies, proxyAt, proxyCredentialsError, proxyRefusalText } from "../download/proxy.js";
import { proxyTunnelStatus } from "../download/proxy-tunnel.js";

const patterns: readonly [RegExp, (m: RegExpExecArray) => string][] = [
  // curl (http, https): "Failed to connect to 127.0.0.1 port 1 after 0 ms: Couldn't connect to server"
  [/Failed to connect to (\S+) port (\d+)[^:\r\n]*: ([^\r\n]+)/, (m) => `${m[1]} port ${m[2]} (${m[3]})`],
  // ssh: "ssh: connect to host 127.0.0.1 port 1: Connection refused"
  [/ssh: connect to host (\S+) port (\d+): ([^\r\n]+)/, (m) => `${m[1]} port ${m[2]} (${m[3]})`],
  // git://: "unable to connect to 127.0.0.1:\n127.0.0.1[0: 127.0.0.1]: errno=Connection refused"
  [/unable to connect to ([^\s:]+):?\s*\n[^\n]*errno=([^\r\n]+)/, (m) => `${m[1]} (${m[2]})`],
  [/Could not resolve host(?:name)?:? ([^\s:]+)/, (m) => `${m[1]} (no such host)`],
  [/Connection timed out after \d+ milliseconds|Operation timed out/, () => "the server (timed out)"],
];

/**
 * curl's words when the environment's proxy (https_proxy: git reads it) is what failed: "Failed to
 * connect to HOST port N" then names the proxy, which read as the git server.
 */
function proxyFault(gitOutput: string, status = proxyStatus(gitOutput)): string | undefined {
  if (status !== undefined) return proxyRefusalText(status);
  const unresolved = /Could not resolve proxy:? ([^\s:]+)/.exec(gitOutput)?.[1];
  const down = /Failed to connect to (\S+) port (\d+)[^:\r\n]*: ([^\r\n]+)/.exec(gitOutput);
  if (unresolved !== undefined) {
    const proxy = proxyAt(unresolved);
    return proxy === undefined ? undefined : `cannot reach ${proxy}: no such host`;
  }
  if (down === null) return undefined;
  const proxy = proxyAt(String(down[1]), Number(down[2]));
  return proxy === undefined ? undefined : `cannot reach ${proxy} that git goes through: ${down[3]}`;
}

export function proxyStatus(gitOutput: string): string | undefined {
  const refused =
    /CONNECT tunnel failed, response (\d+)|Received HTTP code (\d+) from proxy after CONNECT/.exec(gitOutput);
  return refused?.[1] ?? refused?.[2];
}

/**
 * The proxy's 407 as bad input naming the variable (proxy.ts): git retried it three times and
 * said exit 1 "it wants credentials", also of credentials the proxy had just refused.
 */
export function gitProxyCredentialsError(
  gitOutput: string,
  status = proxyStatus(gitOutput),
  offeredSchemes: string[] = [],
): BadInputError | undefined {
  if (status !== "407") return undefined;
  const url = /unable to access '([a-z]+:)/i.exec(gitOutput)?.[1] ?? "https:";
  return proxyCredentialsError(url.toLowerCase(), offeredSchemes);
}

/**
 * curl's "Proxy CONNECT aborted" names no status: a proxy that closes the connection after its 407
 * (no keep-alive) leaves curl no way to send the credentials, and a wrong password read as a
 * network fault, exit 1 after three fetches. ship asks the proxy once itself, credentials sent at
 * once, to learn what it says (and, for a 407, which schemes it takes: one taking only NTLM refuses
 * any password ship sends); undefined when it says nothing either (or opens the tunnel).
 */
export async function abortedTunnelStatus(gitOutput: string): Promise<TunnelRefusal | undefined> {
  if (!/Proxy CONNECT aborted/.test(gitOutput)) return undefined;
  const quoted = /unable to access '([^']+)'/.exec(gitOutput)?.[1];
  if (quoted === undefined || !URL.canParse(quoted)) return undefined;
  const remote = new URL(quoted);
  let proxies: ReturnType<typeof environmentProxies>;
  try {
    proxies = environmentProxies();
  } catch {
    return undefined;
  }
  const proxy = remote.protocol === "https:" ? proxies.https : proxies.http;
  if (proxy === undefined || bypassesProxy(remote, proxies.noProxy)) return undefined;
  const port = remote.port || (remote.protocol === "https:" ? "443" : "80");
  const answer = await proxyTunnelStatus(new URL(proxy.url), `${remote.hostname}:${port}`, 10_000);
  return answer === undefined || answer.status === 200
    ? undefined
    : { status: String(answer.status), offeredSchemes: answer.offeredSchemes };
}

/** A proxy's refusal of a tunnel: its status, and for a 407 the authentication schemes it offers. */
export interface TunnelRefusal {
  status: string;
  offeredSchemes: string[];
}

/** "cannot reach the git server at HOST port N (why)", or undefined when git reached it. */
export function unreachableText(gitOutput: string, status = proxyStatus(gitOutput)): string | undefined {
  const proxy = proxyFault(gitOutput, status);
  if (proxy !== undefined) return proxy;
  for (const [pattern, words] of patterns) {
    const m = pattern.exec(gitOutput);
    if (m !== null) return `cannot reach the git server at ${words(m).trim()}`;
  }
  return undefined;
}
