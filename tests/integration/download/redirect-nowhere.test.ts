/**
 * A redirect that leads nowhere: a Location that is no URL was "Invalid URL (ERR_INVALID_URL)", a
 * bare code naming neither the header nor its value; a 302 with no Location was "HTTP 302". Both
 * are said once, naming the URL, the status and the Location (its secrets masked), exit 1,
 * the app untouched. A real `ship` run against a real HTTP server.
 */
import { mkdtemp, readdir, rm } from "node:fs/promises";
import type { IncomingMessage, ServerResponse } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { httpApp } from "../../support/http-app.js";
import { startHttpServer, type TestServer } from "../../support/servers/http-server.js";
import { runShip } from "../../support/ship-cli.js";

const LOCATIONS: Record<string, string | undefined> = {
  "/no-url.tar.gz": "http://[::1/myapp.tar.gz?sig=s3cret",
  "/nowhere.tar.gz": undefined,
};

describe("an http source whose server redirects nowhere", () => {
  let root: string;
  let server: TestServer;
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), "ship-redirect-nowhere-"));
    server = await startHttpServer((req: IncomingMessage, res: ServerResponse) => {
      const location = LOCATIONS[req.url ?? ""];
      res.writeHead(302, location === undefined ? {} : { location }).end();
    });
  });
  afterAll(async () => {
    await server.close();
    await rm(root, { recursive: true, force: true });
  });

  it.each([
    ["/no-url.tar.gz", 'has the Location "http://[::1/myapp.tar.gz?***", which is not a URL'],
    ["/nowhere.tar.gz", "names no Location: a redirect to nowhere"],
  ])("%s: said once, exit 1, the app untouched", async (path, said) => {
    const { config, app } = await httpApp(join(root, path.slice(1)), `${server.url}${path}`);
    server.requests.length = 0;
    const run = await runShip(["--config", config]);
    expect(run.stdout + run.stderr).toContain(
      `web: download of ${server.url}${path} failed: the HTTP 302 redirect ${said}\n`,
    );
    expect(run.stdout + run.stderr).not.toContain("s3cret");
    expect(run.code).toBe(1);
    // Asked once: the same request gets the same redirect.
    expect(server.requests).toHaveLength(1);
    expect(await readdir(app)).toEqual([]);
  });
});
