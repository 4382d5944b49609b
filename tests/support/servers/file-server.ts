/**
 * One real HTTP server serving release files (fileRoutes) for the calling file or describe block:
 * started in its beforeAll, closed in its afterAll. Eleven files wrote that pair out by hand.
 */
import { afterAll, beforeAll } from "vitest";
import { type FileRoute, fileRoutes } from "./file-routes.js";
import { type RecordedRequest, startHttpServer, type TestServer } from "./http-server.js";

export interface FileServer {
  /** What the server answers, by path: a test may set or change a route between requests. */
  readonly routes: Map<string, FileRoute>;
  /** Base URL without a trailing slash; read inside tests (the server starts in beforeAll). */
  readonly url: string;
  /** Every request the server got, oldest first. */
  readonly requests: RecordedRequest[];
}

/** Serves `routes` (a new empty map if none) from one server for the calling block's tests. */
export function fileServerForFile(routes: Map<string, FileRoute> = new Map()): FileServer {
  let server: TestServer | undefined;
  const started = (): TestServer => {
    if (server === undefined)
      throw new Error("the file server is read outside a test: it starts in beforeAll");
    return server;
  };
  beforeAll(async () => {
    server = await startHttpServer(fileRoutes(routes));
  });
  afterAll(async () => {
    await server?.close();
    server = undefined;
  });
  return {
    routes,
    get url() {
      return started().url;
    },
    get requests() {
      return started().requests;
    },
  };
}
