import { createServer, request, type Server } from "node:http";
import type { AddressInfo } from "node:net";

/**
 * A reverse proxy publishing `target` under `prefix` (as nginx's `location /ship/ { proxy_pass
 * http://hub/; }` does), so the browser tests prove the page uses relative URLs only.
 */
export async function startSubPathProxy(
  target: string,
  prefix = "/ship/",
): Promise<{ url: string; close(): Promise<void> }> {
  const upstream = new URL(target);
  const server: Server = createServer((req, res) => {
    const url = req.url ?? "/";
    if (!url.startsWith(prefix)) {
      res.writeHead(404, { "content-type": "text/plain" }).end("outside the proxied prefix\n");
      return;
    }
    const forward = request(
      {
        host: upstream.hostname,
        port: upstream.port,
        method: req.method,
        path: `/${url.slice(prefix.length)}`,
        headers: { ...req.headers, host: upstream.host },
      },
      (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      },
    );
    forward.on("error", () => res.writeHead(502).end());
    req.pipe(forward);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}${prefix}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
