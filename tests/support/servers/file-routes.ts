/**
 * A request handler serving release files the way real servers do (ETag, Last-Modified, 304,
 * Range/If-Range), with faults on demand: cut the connection mid-body, ignore Range, fail with
 * a status. Routes are mutable so a test can publish a new release between requests.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Handler } from "./http-server.js";

export interface FileRoute {
  body: Buffer | string;
  etag?: string;
  lastModified?: string;
  /** Answer Range requests with 206 (default true). */
  honorRange?: boolean;
  /** The next N full or partial responses send only `cutAfter` bytes, then drop the connection. */
  cutTimes?: number;
  cutAfter?: number;
  /** The next N requests get `failStatus` instead of the file. */
  failTimes?: number;
  failStatus?: number;
}

/**
 * fileRoutes behind stable names that redirect (302) to where `redirects` says now, as a release
 * server's `latest.tar.gz` does: a test may re-point one between requests.
 */
export function redirectingFileRoutes(
  routes: Map<string, FileRoute>,
  redirects: Map<string, string>,
): Handler {
  const files = fileRoutes(routes);
  return (req: IncomingMessage, res: ServerResponse) => {
    const to = redirects.get(req.url ?? "");
    if (to === undefined) files(req, res);
    else res.writeHead(302, { location: to }).end();
  };
}

export function fileRoutes(routes: Map<string, FileRoute>): Handler {
  return (req: IncomingMessage, res: ServerResponse) => {
    const route = routes.get((req.url ?? "").split("?")[0] ?? "");
    if (route === undefined) {
      res.writeHead(404).end("not found");
      return;
    }
    if ((route.failTimes ?? 0) > 0) {
      route.failTimes = (route.failTimes ?? 0) - 1;
      res.writeHead(route.failStatus ?? 503).end("try later");
      return;
    }
    const body = Buffer.from(route.body);
    const validators: Record<string, string> = {};
    if (route.etag !== undefined) validators.etag = route.etag;
    if (route.lastModified !== undefined) validators["last-modified"] = route.lastModified;
    const inm = req.headers["if-none-match"];
    const ims = req.headers["if-modified-since"];
    if (
      (inm !== undefined && inm === route.etag) ||
      (inm === undefined && ims !== undefined && ims === route.lastModified)
    ) {
      res.writeHead(304, validators).end();
      return;
    }
    let start = 0;
    let status = 200;
    const range = /^bytes=(\d+)-$/.exec(req.headers.range ?? "");
    const ifRange = req.headers["if-range"];
    const rangeStillValid = ifRange === undefined || ifRange === route.etag || ifRange === route.lastModified;
    if (range && (route.honorRange ?? true) && rangeStillValid && Number(range[1]) < body.length) {
      start = Number(range[1]);
      status = 206;
      validators["content-range"] = `bytes ${start}-${body.length - 1}/${body.length}`;
    }
    const slice = body.subarray(start);
    res.writeHead(status, {
      ...validators,
      "content-length": String(slice.length),
      "accept-ranges": "bytes",
    });
    if ((route.cutTimes ?? 0) > 0) {
      route.cutTimes = (route.cutTimes ?? 0) - 1;
      res.write(slice.subarray(0, route.cutAfter ?? Math.floor(slice.length / 2)), () =>
        res.socket?.destroy(),
      );
      return;
    }
    res.end(slice);
  };
}
