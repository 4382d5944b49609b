/**
 * Git's smart HTTP protocol served by the real `git http-backend` (CGI) behind a node HTTPS server,
 * optionally demanding an Authorization header — how a token-protected Git host behaves.
 */
import { spawn } from "node:child_process";
import type { IncomingMessage, ServerResponse } from "node:http";
import { type Handler, startHttpsServer, type TestServer } from "./http-server.js";
import type { TestCert } from "./tls-cert.js";

export const GIT_HTTP_BACKEND = "/usr/lib/git-core/git-http-backend";

/** Serve every repository under `projectRoot` at `<url>/<name>.git`. */
export function startGitHttpsServer(
  projectRoot: string,
  cert: TestCert,
  requiredAuth?: string,
): Promise<TestServer> {
  return startHttpsServer(gitHttpHandler(projectRoot, requiredAuth), cert);
}

export function gitHttpHandler(projectRoot: string, requiredAuth?: string): Handler {
  return (req: IncomingMessage, res: ServerResponse) => {
    if (requiredAuth !== undefined && req.headers.authorization !== requiredAuth) {
      res.writeHead(401, { "content-type": "text/plain" }).end("authorization required");
      return;
    }
    const url = new URL(req.url ?? "/", "http://x");
    const cgi = spawn(GIT_HTTP_BACKEND, [], {
      env: {
        PATH: process.env.PATH,
        GIT_PROJECT_ROOT: projectRoot,
        GIT_HTTP_EXPORT_ALL: "1",
        REQUEST_METHOD: req.method ?? "GET",
        PATH_INFO: decodeURIComponent(url.pathname),
        QUERY_STRING: url.search.slice(1),
        CONTENT_TYPE: req.headers["content-type"] ?? "",
        HTTP_CONTENT_ENCODING: req.headers["content-encoding"] ?? "",
        GIT_PROTOCOL: String(req.headers["git-protocol"] ?? ""),
        REMOTE_ADDR: "127.0.0.1",
      },
      stdio: ["pipe", "pipe", "inherit"],
    });
    // git http-backend may answer and exit before it read the whole request body (a request it
    // refuses, a client that gave up): the rest of the body then meets a closed pipe, EPIPE, which
    // unhandled failed the test run. Its answer (or the client's own error) is what a test checks.
    cgi.stdin.on("error", () => undefined);
    req.pipe(cgi.stdin);
    let head = Buffer.alloc(0);
    let headersSent = false;
    cgi.stdout.on("data", (chunk: Buffer) => {
      if (headersSent) {
        res.write(chunk);
        return;
      }
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf("\r\n\r\n");
      if (end === -1) return;
      let status = 200;
      for (const line of head.subarray(0, end).toString().split("\r\n")) {
        const colon = line.indexOf(":");
        const name = line.slice(0, colon).trim();
        const value = line.slice(colon + 1).trim();
        if (name.toLowerCase() === "status") status = Number.parseInt(value, 10);
        else res.setHeader(name, value);
      }
      res.writeHead(status);
      headersSent = true;
      res.write(head.subarray(end + 4));
    });
    cgi.on("close", () => res.end());
  };
}
