/**
 * The agent channel through the environment's proxy, as ship's downloads go (https_proxy for an
 * https:// [hub] url, http_proxy for http://, no_proxy read as curl reads it). The WebSocket went
 * straight to the hub whatever the environment said: on a network whose only way out is the proxy
 * the agent never got online ("no such host", reconnecting for ever) while its downloads worked.
 * The tunnel is a CONNECT, for ws:// too (a proxy passes an Upgrade on a tunnel, not on a forwarded
 * request), and TLS to the hub runs inside it, so the hub's certificate is verified end to end.
 */
import { type ClientRequestArgs, Agent as HttpAgent } from "node:http";
import { Agent as HttpsAgent } from "node:https";
import { type Duplex, PassThrough } from "node:stream";
import { type ConnectionOptions, connect as tlsConnect } from "node:tls";
import { bypassesProxy } from "../download/no-proxy.js";
import { environmentProxies } from "../download/proxy.js";
import { openTunnel } from "../download/proxy-tunnel.js";
import { HANDSHAKE_TIMED_OUT } from "./connect-failure.js";

type Created = (err: Error | null, stream: Duplex) => void;

/** Node's agent reads no stream beside an error, but its type wants one: an empty, closed one. */
function failed(callback: Created | undefined, err: Error): void {
  callback?.(err, new PassThrough().destroy());
}

function targetOf(options: ClientRequestArgs, defaultPort: number): string {
  const host = String(options.host ?? options.hostname ?? "localhost");
  const port = Number(options.port ?? defaultPort);
  return `${host.includes(":") ? `[${host}]` : host}:${port}`;
}

/** ws's handshake timer waits for a socket, which a CONNECT the proxy never answers never gives. */
function timeoutOf(options: ClientRequestArgs): { ms: number; error: () => Error } {
  const ms = typeof options.timeout === "number" && options.timeout > 0 ? options.timeout : 30_000;
  return { ms, error: () => new Error(HANDSHAKE_TIMED_OUT) };
}

/** An https:// hub: TLS with the request's own options (ca, servername) over the tunnel. */
class TunnelledTls extends HttpsAgent {
  constructor(private readonly proxy: URL) {
    super();
  }
  override createConnection(options: ClientRequestArgs, callback?: Created): Duplex | undefined {
    openTunnel(this.proxy, targetOf(options, 443), timeoutOf(options), (err, socket) => {
      if (err !== null || socket === undefined) return failed(callback, err ?? new Error("no tunnel"));
      const tls = tlsConnect({ ...(options as ConnectionOptions), socket });
      const onError = (e: Error) => failed(callback, e);
      tls.once("error", onError);
      tls.once("secureConnect", () => {
        tls.off("error", onError);
        callback?.(null, tls);
      });
    });
    return undefined;
  }
}

/** An http:// hub: the tunnel's socket as it is. */
class TunnelledPlain extends HttpAgent {
  constructor(private readonly proxy: URL) {
    super();
  }
  override createConnection(options: ClientRequestArgs, callback?: Created): Duplex | undefined {
    openTunnel(this.proxy, targetOf(options, 80), timeoutOf(options), (err, socket) =>
      err !== null || socket === undefined
        ? failed(callback, err ?? new Error("no tunnel"))
        : callback?.(null, socket),
    );
    return undefined;
  }
}

/**
 * The agent that opens the channel to `hubUrl` through the environment's proxy, or undefined when
 * it goes directly. Throws the bad input of a proxy variable ship cannot use (proxy.ts).
 */
export function hubProxyAgent(hubUrl: string, env: NodeJS.ProcessEnv = process.env): HttpAgent | undefined {
  const { https, http, noProxy } = environmentProxies(env);
  const url = new URL(hubUrl);
  const secure = url.protocol === "https:" || url.protocol === "wss:";
  const proxy = secure ? https : http;
  if (proxy === undefined || bypassesProxy(url, noProxy)) return undefined;
  return secure ? new TunnelledTls(new URL(proxy.url)) : new TunnelledPlain(new URL(proxy.url));
}
