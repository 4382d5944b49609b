/**
 * A refusal or a 404 that comes from where a redirect led, not from the configured url. ship sends
 * [sources.NAME.headers] to the url's own host only, so a 401 from another host is no verdict on
 * them: the message used to say "refused the credentials sent … check or renew them" (or "set them
 * in headers", which would not go there either) and named only the url, which answers 302. Two
 * real HTTP servers on different ports: the first redirects, the second refuses or has nothing.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DownloadError } from "../../../agent/download/errors.js";
import { createSource } from "../../../agent/sources/create.js";
import { HttpSource as HttpSourceConfig } from "../../../shared/config/schema.js";
import { BadInputError } from "../../../shared/errors.js";
import { memoryLogger } from "../../../shared/log.js";
import { startHttpServer, type TestServer } from "../../support/servers/http-server.js";

describe("an http source whose url redirects to a refusal or to nothing", () => {
  let dir: string;
  let origin: TestServer;
  let elsewhere: TestServer;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "ship-redirect-refusal-"));
    elsewhere = await startHttpServer((req, res) => {
      const path = req.url ?? "";
      res.writeHead(path.startsWith("/private") ? 401 : path.startsWith("/forbidden") ? 403 : 404).end();
    });
    // /here/* redirects within the origin (to the same refusals), everything else to the other host.
    origin = await startHttpServer((req, res) => {
      const path = req.url ?? "";
      if (path.startsWith("/here/")) res.writeHead(302, { location: `/${path.slice(6)}` }).end();
      else if (path.startsWith("/login")) res.writeHead(302, { location: "/session?next=app" }).end();
      else if (path.startsWith("/session")) res.writeHead(302, { location: "/login" }).end();
      else if (path.startsWith("/locked")) res.writeHead(401).end();
      else res.writeHead(302, { location: `${elsewhere.url}${path}` }).end();
    });
  });
  afterAll(async () => {
    await Promise.all([origin.close(), elsewhere.close()]);
    await rm(dir, { recursive: true, force: true });
  });

  const source = (path: string, extra: Record<string, unknown> = {}) =>
    createSource(
      "web",
      HttpSourceConfig.parse({
        type: "http",
        app_dir: join(dir, "app"),
        url: `${origin.url}${path}`,
        ...extra,
      }),
      { stateDir: join(dir, `state-${Math.random()}`), log: memoryLogger(), retryDelayMs: 0 },
    );
  const refusal = async (run: Promise<unknown>) => {
    const error = await run.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(BadInputError);
    return (error as Error).message;
  };
  const host = () => new URL(origin.url).host;

  it("a 401 from another host names it and says the headers never went there (check and fetch)", async () => {
    const src = source("/private/app.tar.gz", { headers: { Authorization: "Bearer fine-token" } });
    const expected = `ship.toml sources.web.url: ${origin.url}/private/app.tar.gz redirects to ${elsewhere.url}/private/app.tar.gz, which refused the request (HTTP 401): ship sends [sources.web.headers] to ${host()} only, never to another host; point url at where the file is, or have the server redirect to a link that needs no credentials (a signed link that expired?)`;
    expect(await refusal(src.check())).toBe(expected);
    expect(await refusal(src.fetch(await mkdtemp(join(dir, "stage-"))))).toBe(expected);
    // With no headers configured, "set them in [sources.web.headers]" would not reach that host either.
    expect(await refusal(source("/forbidden/app.tar.gz").check())).toBe(
      `ship.toml sources.web.url: ${origin.url}/forbidden/app.tar.gz redirects to ${elsewhere.url}/forbidden/app.tar.gz, which refused the request (HTTP 403): ship sends [sources.web.headers] to ${host()} only, never to another host; point url at where the file is, or have the server redirect to a link that needs no credentials (a signed link that expired?)`,
    );
  });

  it("a 401 after a redirect within the origin is still about the credentials sent, and names the hop", async () => {
    const src = source("/here/locked/app.tar.gz", { headers: { Authorization: "Bearer old-token" } });
    expect(await refusal(src.check())).toBe(
      `ship.toml sources.web.headers: ${origin.url}/here/locked/app.tar.gz refused the credentials sent (HTTP 401 at ${origin.url}/locked/app.tar.gz, where it redirects; headers Authorization): check or renew them`,
    );
  });

  it("a 404 where the url redirects names that URL, not only the one that answers 302", async () => {
    expect(await refusal(source("/moved/app.tar.gz").check())).toBe(
      `ship.toml sources.web.url: ${origin.url}/moved/app.tar.gz redirects to ${elsewhere.url}/moved/app.tar.gz, which is not on the server (HTTP 404)`,
    );
  });

  it("a checksum URL on another host that refuses: the key is checksum, and the headers never went there", async () => {
    const src = source("/here/app.tar.gz", {
      headers: { Authorization: "Bearer fine-token" },
      checksum: `${elsewhere.url}/private/app.tar.gz.sha256`,
    });
    // The archive itself is a 404 at the origin; the checksum is asked for first.
    expect(await refusal(src.fetch(await mkdtemp(join(dir, "stage-"))))).toBe(
      `ship.toml sources.web.checksum: ${elsewhere.url}/private/app.tar.gz.sha256 refused the request (HTTP 401): ship sends [sources.web.headers] to ${host()} only, never to another host; serve it there without credentials, or from that host`,
    );
  });

  it("a redirect loop names its hops (query values masked), not only that there were more than 5", async () => {
    const error = await source("/login/app.tar.gz")
      .check()
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(error).toBeInstanceOf(DownloadError);
    expect((error as Error).message).toBe(
      `download of ${origin.url}/login/app.tar.gz failed: the server redirects in a loop (${origin.url}/login/app.tar.gz -> ${origin.url}/session?next=*** -> ${origin.url}/login -> ${origin.url}/session?next=***), never to the file: check the url, or the server's redirect rules`,
    );
  });
});
