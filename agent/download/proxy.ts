/**
 * The forward proxy of the host's environment, read as curl, git and apt read it: `https_proxy`
 * for https URLs, `http_proxy` for http ones (the lower-case name first, then the upper-case one),
 * hosts in `no_proxy` reached directly. On a network whose only way out is such a proxy, ship's
 * downloads went straight to the server and failed with "no such host" or a timeout on every run.
 * The dispatcher that uses them is in dispatcher.ts; this module loads no HTTP client (error texts
 * import it, and most runs make no request).
 */
import { BadInputError } from "../../shared/errors.js";
import { redactUrl } from "./redact.js";

type ProxyVariable = "https_proxy" | "http_proxy";

interface ProxySetting {
  variable: ProxyVariable;
  /** The variable as the environment spells it (`HTTPS_PROXY` when only that one is set). */
  name: string;
  url: string;
}

/** A scheme at the start of a proxy value (`http://`, `socks5h://`). */
const SCHEME = /^[a-z][a-z0-9+.-]*:\/\//i;

function fromEnvironment(variable: ProxyVariable, env: NodeJS.ProcessEnv): ProxySetting | undefined {
  for (const name of [variable, variable.toUpperCase()]) {
    const value = env[name]?.trim();
    // curl and pip read a proxy written without a scheme (`proxy:3128`) as http://; undici threw
    // "Invalid URL", which ship said as an internal error.
    if (value !== undefined && value !== "")
      return { variable, name, url: SCHEME.test(value) ? value : `http://${value}` };
  }
  return undefined;
}

/**
 * The proxy, when ship's own requests can go through it: an http:// or https:// URL. Anything else
 * (a SOCKS proxy, which git and the manifest's commands can use, or a value that is no URL) is bad
 * input naming the variable: the request would otherwise fail with undici's bare "Invalid URL".
 */
function usable(p: ProxySetting | undefined): ProxySetting | undefined {
  if (p === undefined) return undefined;
  const protocol = URL.canParse(p.url) ? new URL(p.url).protocol : undefined;
  if (protocol === "http:" || protocol === "https:") return p;
  // A value no URL parser reads cannot be masked: it is not shown (it may hold a password).
  const said =
    protocol === undefined
      ? "is not a URL (its value is not shown: it may hold a password)"
      : `${redactUrl(p.url)} is a ${protocol.slice(0, -1)} proxy`;
  throw BadInputError.single(
    "the environment",
    p.name,
    `${said}: ship's own requests go through an http:// or https:// proxy only (git and the manifest's commands read the variable themselves)`,
  );
}

/** The proxies the environment names (none: undefined each). */
export function environmentProxies(env: NodeJS.ProcessEnv = process.env): {
  https?: ProxySetting;
  http?: ProxySetting;
  noProxy: string;
} {
  const noProxy = env.no_proxy ?? env.NO_PROXY ?? "";
  return {
    https: usable(fromEnvironment("https_proxy", env)),
    http: usable(fromEnvironment("http_proxy", env)),
    noProxy,
  };
}

/** "the proxy http://***@proxy:3128/ (https_proxy)": its credentials masked, its variable named. */
function proxyName(p: ProxySetting): string {
  return `the proxy ${redactUrl(p.url)} (${p.name})`;
}

function configuredProxies(): ProxySetting[] {
  // For error texts only: a request never got this far with a proxy variable it cannot use.
  let https: ProxySetting | undefined;
  let http: ProxySetting | undefined;
  try {
    ({ https, http } = environmentProxies());
  } catch {
    return [];
  }
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
    proxies.length > 1 ? `the proxy (${proxies.map((p) => p.name).join(" or ")})` : proxyName(first);
  // A 407 from a proxy whose variable holds a user and password is those credentials refused, not
  // missing (the agent's channel to the hub words its tunnel's 407 here; downloads and git say the
  // same through proxyCredentialsError).
  if (status === "407" && proxies.every(holdsCredentials))
    return `${which} refused the credentials in it (HTTP 407): check the user and password (%-encode @ : / in them)`;
  const hint =
    status === "407"
      ? ": it wants credentials; give them in the variable as http://user:password@host:port"
      : "";
  return `${which} refused to pass the request on (HTTP ${status})${hint}`;
}

function holdsCredentials(proxy: ProxySetting): boolean {
  return URL.canParse(proxy.url) && new URL(proxy.url).username !== "";
}

/**
 * The failure when it is the proxy's, in words naming it and the variable it came from (its
 * credentials masked); undefined when it is not. undici said "aborted (UND_ERR_ABORTED)" for a
 * proxy that refused the tunnel, and "connection refused" for a proxy that is down, of a download
 * whose server was never asked.
 */
export function proxyFailureText(err: Error, because: string): string | undefined {
  const status = proxyStatus(err);
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

/** The status a proxy refused a request with, from undici's error (CONNECT tunnel, or plain http). */
function proxyStatus(err: Error): string | undefined {
  return (
    /^Proxy response \((\d+)\) !== 200 when HTTP Tunneling$/.exec(err.message)?.[1] ??
    /^Proxy Authentication Required \((407)\)$/.exec(err.message)?.[1]
  );
}

/**
 * A proxy's 407 for a request to `url`: the credentials in the variable are missing or wrong, which
 * no retry and no later run fixes, so it is bad input naming the variable (exit 2), as a release
 * server's 401 names the source's headers. It was exit 1, "it wants credentials", also when the
 * variable held credentials the proxy had just refused.
 */
export function proxyCredentialsRefused(err: unknown, url: string): BadInputError | undefined {
  if (!(err instanceof Error) || proxyStatus(err) !== "407") return undefined;
  return proxyCredentialsError(url);
}

/** The bad input a proxy's 407 for `url` is (git's, whose words git-unreachable.ts reads, too). */
export function proxyCredentialsError(url: string, offeredSchemes: string[] = []): BadInputError | undefined {
  const proxy = configuredProxies().find(
    (p) => p.variable === (url.startsWith("https:") ? "https_proxy" : "http_proxy"),
  );
  if (proxy === undefined) return undefined;
  // A proxy taking only NTLM or Negotiate (Windows domain logins) refuses any password sent as
  // Basic: "refused the credentials" sent operators to retype a password that was right.
  if (offeredSchemes.length > 0 && !offeredSchemes.includes("basic"))
    return BadInputError.single(
      "the environment",
      proxy.name,
      `${proxyName(proxy)} takes only ${[...new Set(offeredSchemes)].map(schemeName).join(" or ")} authentication (HTTP 407), and ship sends credentials as Basic: have the proxy accept Basic for this host, or point the variable at a local proxy that does the login (cntlm, px)`,
    );
  return BadInputError.single(
    "the environment",
    proxy.name,
    holdsCredentials(proxy)
      ? `${proxyName(proxy)} refused the credentials in it (HTTP 407): check the user and password (%-encode @ : / in them)`
      : `${proxyName(proxy)} wants credentials (HTTP 407): give them in the variable as http://user:password@host:port`,
  );
}

function schemeName(scheme: string): string {
  return scheme === "ntlm" ? "NTLM" : `${scheme.charAt(0).toUpperCase()}${scheme.slice(1)}`;
}
