/**
 * A CONNECT tunnel through the environment's forward proxy, with the credentials its URL holds sent
 * as Basic at once. The agent channel to the hub runs inside one; a failed git fetch asks for one to
 * learn the status curl did not report (proxyTunnelStatus).
 */
import { request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";
import type { Socket } from "node:net";

/** The tunnel's CONNECT to `target` (`host:port`) through `proxy`: the raw socket, or why not. */
export function openTunnel(
  proxy: URL,
  target: string,
  timeout: { ms: number; error: () => Error },
  callback: (err: Error | null, socket?: Socket) => void,
): void {
  const credentials =
    proxy.username === ""
      ? {}
      : {
          "proxy-authorization": `Basic ${Buffer.from(`${decodeURIComponent(proxy.username)}:${decodeURIComponent(proxy.password)}`).toString("base64")}`,
        };
  const request = (proxy.protocol === "https:" ? httpsRequest : httpRequest)({
    host: proxy.hostname.replace(/^\[|\]$/g, ""),
    port: Number(proxy.port || (proxy.protocol === "https:" ? 443 : 80)),
    method: "CONNECT",
    path: target,
    headers: { host: target, ...credentials },
    agent: false,
  });
  request.once("connect", (answer, socket) => {
    if (answer.statusCode === 200) return callback(null, socket);
    socket.destroy();
    // undici's words for the same refusal: proxy.ts names the proxy and its variable from them.
    const refusal = new Error(`Proxy response (${answer.statusCode}) !== 200 when HTTP Tunneling`);
    callback(Object.assign(refusal, { offeredSchemes: authSchemes(answer.headers["proxy-authenticate"]) }));
  });
  request.once("error", (err) => callback(err));
  // A CONNECT the proxy never answers gives no socket, so no later timer would ever fire.
  request.setTimeout(timeout.ms, () => request.destroy(timeout.error()));
  request.end();
}

/** The schemes a 407's Proxy-Authenticate offers, lower-case ("basic", "ntlm", "negotiate"). */
export function authSchemes(header: string | string[] | undefined): string[] {
  const values = header === undefined ? [] : Array.isArray(header) ? header : [header];
  // One header may list several challenges; a scheme is a token not followed by "=" (a parameter).
  return values.flatMap((v) =>
    [...v.matchAll(/(?:^|,)\s*([A-Za-z][\w-]*)(?=\s|,|$)/g)].map((m) => (m[1] as string).toLowerCase()),
  );
}

export interface TunnelAnswer {
  status: number;
  /** For a 407: the authentication schemes the proxy offers. */
  offeredSchemes: string[];
}

/**
 * What `proxy` answers a CONNECT to `target` with (200 when it opens the tunnel, which is closed at
 * once), or undefined when it gives no status (down, silent, closed the connection).
 */
export function proxyTunnelStatus(
  proxy: URL,
  target: string,
  timeoutMs: number,
): Promise<TunnelAnswer | undefined> {
  return new Promise((resolve) => {
    openTunnel(proxy, target, { ms: timeoutMs, error: () => new Error("timed out") }, (err, socket) => {
      socket?.destroy();
      const status = err === null ? "200" : /^Proxy response \((\d+)\)/.exec(err.message)?.[1];
      const offered = (err as { offeredSchemes?: string[] } | null)?.offeredSchemes ?? [];
      resolve(status === undefined ? undefined : { status: Number(status), offeredSchemes: offered });
    });
  });
}
