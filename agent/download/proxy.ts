/**
 * The forward proxy of the host's environment, read as curl, git and apt read it: `https_proxy`
 * for https URLs, `http_proxy` for http ones (the lower-case name first, then the upper-case one),
 * hosts in `no_proxy` reached directly. On a network whose only way out is such a proxy, ship's
 * downloads went straight to the server and failed with "no such host" or a timeout on every run.
 * The dispatcher that uses them is in dispatcher.ts; this module loads no HTTP client (error texts
 * import it, and most runs make no request).
 */
import { redactUrl } from "./redact.js";

type ProxyVariable = "https_proxy" | "http_proxy";

interface ProxySetting {
  variable: ProxyVariable;
  url: string;
}

function fromEnvironment(variable: ProxyVariable, env: NodeJS.ProcessEnv): ProxySetting | undefined {
  for (const name of [variable, variable.toUpperCase()]) {
    const value = env[name];
    if (value !== undefined && value !== "") return { variable, url: value };
  }
  return undefined;
}

/** The proxies the environment names (none: undefined each). */
export function environmentProxies(env: NodeJS.ProcessEnv = process.env): {
  https?: ProxySetting;
  http?: ProxySetting;
  noProxy: string;
} {
  const noProxy = env.no_proxy ?? env.NO_PROXY ?? "";
  return { https: fromEnvironment("https_proxy", env), http: fromEnvironment("http_proxy", env), noProxy };
}

/** "the proxy http://***@proxy:3128/ (https_proxy)": its credentials masked, its variable named. */
function proxyName(p: ProxySetting): string {
  return `the proxy ${redactUrl(p.url)} (${p.variable})`;
}

function configuredProxies(): ProxySetting[] {
  const { https, http } = environmentProxies();
  return [https, http].filter((p): p is ProxySetting => p !== undefined);
}

/** The environment's proxy at `host` (and `port`, when known), named; undefined when none is there. */
export function proxyAt(host: string, port?: number): string | undefined {
  const proxy = configuredProxies().find((p) => {
    if (!URL.canParse(p.url)) return false;
    const url = new URL(p.url);
    const proxyPort = Number(url.port || (url.protocol === "https:" ? 443 : 80));
    return url.hostname.replace(/^\[|\]$/g, "") === host && (port === undefined || port === proxyPort);
  });
  return proxy === undefined ? undefined : proxyName(proxy);
}

/** A proxy's refusal to pass a request on (its HTTP status), naming it. */
export function proxyRefusalText(status: string): string | undefined {
  const proxies = configuredProxies();
  const [first] = proxies;
  if (first === undefined) return undefined;
  const which =
    proxies.length > 1 ? `the proxy (${proxies.map((p) => p.variable).join(" or ")})` : proxyName(first);
  const hint =
    status === "407"
      ? ": it wants credentials; give them in the variable as http://user:password@host:port"
      : "";
  return `${which} refused to pass the request on (HTTP ${status})${hint}`;
}

/**
 * The failure when it is the proxy's, in words naming it and the variable it came from (its
 * credentials masked); undefined when it is not. undici said "aborted (UND_ERR_ABORTED)" for a
 * proxy that refused the tunnel, and "connection refused" for a proxy that is down, of a download
 * whose server was never asked.
 */
export function proxyFailureText(err: Error, because: string): string | undefined {
  const status =
    /^Proxy response \((\d+)\) !== 200 when HTTP Tunneling$/.exec(err.message)?.[1] ??
    /^Proxy Authentication Required \((407)\)$/.exec(err.message)?.[1];
  if (status !== undefined) return proxyRefusalText(status);
  // A proxy that cannot be reached: the error names its address, not the server's.
  const { address, port, hostname } = err as { address?: unknown; port?: unknown; hostname?: unknown };
  const proxy =
    typeof address === "string" && typeof port === "number"
      ? proxyAt(address, port)
      : typeof hostname === "string"
        ? proxyAt(hostname)
        : undefined;
  return proxy === undefined ? undefined : `cannot reach ${proxy}: ${because}`;
}
