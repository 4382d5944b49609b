/** Real HTTP and HTTPS servers on 127.0.0.1 (random port) that record every request they get. */
import {
  createServer as createHttp,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type ServerResponse,
} from "node:http";
import { createServer as createHttps } from "node:https";
import type { AddressInfo } from "node:net";
import type { TestCert } from "./tls-cert.js";

export interface RecordedRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
}

export type Handler = (req: IncomingMessage, res: ServerResponse) => void;

export interface TestServer {
  /** Base URL without a trailing slash, e.g. https://127.0.0.1:43123 */
  url: string;
  requests: RecordedRequest[];
  close(): Promise<void>;
}

export function startHttpServer(handler: Handler): Promise<TestServer> {
  return listen(createHttp(), "http", handler);
}

export function startHttpsServer(handler: Handler, cert: TestCert): Promise<TestServer> {
  return listen(createHttps({ key: cert.key, cert: cert.cert }), "https", handler);
}

function listen(
  server: ReturnType<typeof createHttp> | ReturnType<typeof createHttps>,
  scheme: string,
  handler: Handler,
): Promise<TestServer> {
  const requests: RecordedRequest[] = [];
  server.on("request", (req: IncomingMessage, res: ServerResponse) => {
    requests.push({ method: req.method ?? "", path: req.url ?? "", headers: req.headers });
    handler(req, res);
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as AddressInfo;
      resolve({
        url: `${scheme}://127.0.0.1:${port}`,
        requests,
        close: () =>
          new Promise<void>((done) => {
            server.closeAllConnections();
            server.close(() => done());
          }),
      });
    });
  });
}
