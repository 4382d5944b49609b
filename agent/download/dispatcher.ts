/**
 * The HTTP client every download shares: TLS verified (optionally against the operator's CA),
 * through the environment's proxy where one applies (proxy.ts). Redirects are followed by
 * follow-redirects.ts, which decides per hop which headers may go along.
 */
import { readFile } from "node:fs/promises";
import { Agent, type Dispatcher, EnvHttpProxyAgent } from "undici";
import { bypassesProxy } from "./no-proxy.js";
import { environmentProxies } from "./proxy.js";

export interface ClientOptions {
  /** PEM file of the CA that signed the server's certificate (replaces the system roots). */
  caFile?: string;
  /** Time to wait for response headers, and for each pause in the body. */
  timeoutMs?: number;
}

export interface HttpClient {
  dispatcher: Dispatcher;
  close(): Promise<void>;
}

export async function createHttpClient(options: ClientOptions = {}): Promise<HttpClient> {
  const ca = options.caFile === undefined ? undefined : await readFile(options.caFile);
  const timeout = options.timeoutMs ?? 60_000;
  return proxiedDispatcher({
    ...(ca === undefined ? {} : { ca }),
    timeoutMs: timeout,
  });
}

export interface DispatcherOptions {
  /** Trusted CA for the servers' TLS (replaces the system roots), also inside a proxy's tunnel. */
  ca?: Buffer;
  timeoutMs: number;
}

/**
 * An undici dispatcher that goes through the environment's proxy where it applies, else a plain
 * Agent. Which requests go around the proxy is decided here, per URL (no-proxy.ts reads `no_proxy`
 * as curl does), not by undici's EnvHttpProxyAgent, which reads it otherwise. https goes through a
 * CONNECT tunnel, so TLS is still verified end to end against the server's certificate; http is
 * sent to the proxy as an absolute URL (squid, by default, allows CONNECT to port 443 only).
 */
export function proxiedDispatcher(options: DispatcherOptions): HttpClient {
  const agentOptions = {
    connect: options.ca === undefined ? {} : { ca: options.ca },
    headersTimeout: options.timeoutMs,
    bodyTimeout: options.timeoutMs,
    connectTimeout: Math.min(options.timeoutMs, 30_000),
  };
  const { https, http, noProxy } = environmentProxies();
  if (https === undefined && http === undefined) {
    const agent = new Agent(agentOptions);
    return { dispatcher: agent, close: () => agent.close() };
  }
  const proxied = new EnvHttpProxyAgent({
    ...agentOptions,
    ...(options.ca === undefined ? {} : { requestTls: { ca: options.ca } }),
    httpsProxy: https?.url ?? "",
    httpProxy: http?.url ?? "",
    // Every request that reaches it goes through the proxy: the choice is made below.
    noProxy: "",
    proxyTunnel: false,
  });
  const direct = new Agent(agentOptions);
  // With http_proxy alone undici sends https through it too; curl, git, pip and apt send https
  // there only when https_proxy says so, and so does ship (README).
  const goesDirect = (origin: string): boolean => {
    if (!URL.canParse(origin)) return false;
    const url = new URL(origin);
    const proxy = url.protocol === "https:" ? https : http;
    return proxy === undefined || bypassesProxy(url, noProxy);
  };
  const dispatcher = proxied.compose(
    (dispatch) => (opts, handler) =>
      goesDirect(String(opts.origin ?? "")) ? direct.dispatch(opts, handler) : dispatch(opts, handler),
  );
  return { dispatcher, close: async () => void (await Promise.all([proxied.close(), direct.close()])) };
}
