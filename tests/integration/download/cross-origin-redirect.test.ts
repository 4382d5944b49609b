/**
 * Every request a source makes (the change probe, the artifact, its .sig, a checksum URL; in hub
 * mode the probe and the artifact, from the hub's store or from the release's URL) keeps the
 * source's configured headers on its own origin and drops all of them once a redirect leaves it.
 * Two real HTTP servers on different ports: the first sends 302s, the second records what arrives.
 */
import { createHash } from "node:crypto";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import type { IncomingHttpHeaders, ServerResponse } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { create as createTar } from "tar";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { HubReleaseSource } from "../../../agent/daemon/hub-release-source.js";
import { createSource } from "../../../agent/sources/create.js";
import { AgentConfig, HttpSource as HttpSourceConfig, type Source } from "../../../shared/config/schema.js";
import { memoryLogger } from "../../../shared/log.js";
import { APP, writeRelease } from "../../e2e/fleet.js";
import { startHttpServer, type TestServer } from "../../support/servers/http-server.js";

const SECRETS = {
  Authorization: "Bearer secret-auth",
  "X-Api-Key": "secret-api-key",
  "PRIVATE-TOKEN": "secret-private-token",
};
const SECRET_NAMES = ["authorization", "x-api-key", "private-token"];

function secretsIn(headers: IncomingHttpHeaders): string[] {
  return SECRET_NAMES.filter((name) => headers[name] !== undefined);
}

describe("configured headers never follow a redirect to another origin", () => {
  let dir: string;
  let body: Buffer;
  let sha256: string;
  let manifest: string;
  let origin: TestServer;
  let elsewhere: TestServer;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "ship-redirect-"));
    await writeRelease(join(dir, "tree"), { version: "7.0.0" });
    await createTar({ gzip: true, file: join(dir, "r.tar.gz"), cwd: join(dir, "tree"), portable: true }, [
      ".",
    ]);
    body = await readFile(join(dir, "r.tar.gz"));
    sha256 = createHash("sha256").update(body).digest("hex");
    manifest = await readFile(join(dir, "tree", "update-manifest.yaml"), "utf8");
    // The second server holds the files: the artifact under any path, its .sig, a checksum file.
    const serve = (path: string, res: ServerResponse) => {
      if (path.endsWith(".sig")) res.writeHead(404).end();
      else if (path.endsWith(".sha256")) res.writeHead(200).end(`${sha256}  r.tar.gz\n`);
      else res.writeHead(200, { "content-length": body.length, etag: '"v7"' }).end(body);
    };
    // /back/* sends the request home again, to the configured origin's /home/*.
    elsewhere = await startHttpServer((req, res) => {
      const path = req.url ?? "";
      if (path.startsWith("/back/"))
        res.writeHead(302, { location: `${origin.url}/home${path.slice("/back".length)}` }).end();
      else serve(path, res);
    });
    // The configured origin redirects every request: /same/* stays on it first, the rest leaves;
    // /home/* is served by it (reached only by coming back).
    origin = await startHttpServer((req, res) => {
      const path = req.url ?? "";
      if (path.startsWith("/home/")) serve(path, res);
      else if (path.startsWith("/same/")) res.writeHead(302, { location: path.slice("/same".length) }).end();
      else res.writeHead(302, { location: `${elsewhere.url}${path}` }).end();
    });
  });
  afterAll(async () => {
    await Promise.all([origin.close(), elsewhere.close()]);
    await rm(dir, { recursive: true, force: true });
  });
  beforeEach(() => {
    origin.requests.length = 0;
    elsewhere.requests.length = 0;
  });

  const expectHeadersStayedHome = (kinds: RegExp) => {
    const atOrigin = origin.requests.filter((r) => kinds.test(r.path));
    const away = elsewhere.requests.filter((r) => kinds.test(r.path));
    expect(atOrigin.length).toBeGreaterThan(0);
    expect(away.length).toBeGreaterThan(0);
    for (const r of atOrigin) expect(secretsIn(r.headers)).toEqual(SECRET_NAMES);
    for (const r of away)
      expect({ path: r.path, secrets: secretsIn(r.headers) }).toEqual({ path: r.path, secrets: [] });
  };

  describe("timer mode: an http source", () => {
    const source = (extra: Record<string, unknown>, signatures = false) =>
      createSource(
        "web",
        HttpSourceConfig.parse({
          type: "http",
          app_dir: join(dir, "app"),
          url: `${origin.url}/same/r.tar.gz`,
          headers: SECRETS,
          ...extra,
        }),
        { stateDir: join(dir, `state-${Math.random()}`), log: memoryLogger(), retryDelayMs: 0, signatures },
      );

    it("the change probe", async () => {
      expect((await source({}).check()).available).toBe(true);
      expectHeadersStayedHome(/r\.tar\.gz$/);
    });

    // The .sig is requested for an agent with [trust] keys (ctx.signatures).
    it("the artifact request and the .sig request", async () => {
      const fetched = await source({}, true).fetch(await mkdtemp(join(dir, "stage-")));
      expect(await readFile(join(fetched.dir, "app.txt"), "utf8")).toBe("7.0.0\n");
      expectHeadersStayedHome(/r\.tar\.gz$/);
      expectHeadersStayedHome(/\.sig$/);
    });

    it("the checksum URL request", async () => {
      const src = source({ checksum: `${origin.url}/same/r.tar.gz.sha256` });
      await src.fetch(await mkdtemp(join(dir, "stage-")));
      expectHeadersStayedHome(/\.sha256$/);
    });

    // Left once, the headers stay gone when a later hop comes back to the configured origin
    // (follow-redirects.ts): a host that bounces requests through another one (a CDN's edge, a
    // login service) must not see its way back rewarded with the secrets. Every request kind.
    it("a chain that leaves the origin and comes back: none of the requests home carries the headers", async () => {
      const src = source(
        { url: `${origin.url}/back/r.tar.gz`, checksum: `${origin.url}/back/r.tar.gz.sha256` },
        true,
      );
      expect((await src.check()).available).toBe(true);
      const fetched = await src.fetch(await mkdtemp(join(dir, "stage-")));
      expect(await readFile(join(fetched.dir, "app.txt"), "utf8")).toBe("7.0.0\n");
      const home = origin.requests.filter((r) => r.path.startsWith("/home/"));
      const kinds = home.map((r) => r.path.replace(/^.*r\.tar\.gz/, "r.tar.gz"));
      // The probe and the artifact, the checksum, and the .sig beside the url and beside the hops.
      expect(new Set(kinds)).toEqual(new Set(["r.tar.gz", "r.tar.gz.sha256", "r.tar.gz.sig"]));
      for (const r of home)
        expect({ path: r.path, secrets: secretsIn(r.headers) }).toEqual({ path: r.path, secrets: [] });
      // Where they started, they were sent.
      for (const r of origin.requests.filter((q) => q.path.startsWith("/back/")))
        expect({ path: r.path, secrets: secretsIn(r.headers) }).toEqual({
          path: r.path,
          secrets: SECRET_NAMES,
        });
    });

    it("a redirect within the origin keeps the headers", async () => {
      const src = createSource(
        "web",
        HttpSourceConfig.parse({
          type: "http",
          app_dir: join(dir, "app"),
          url: `${elsewhere.url}/r.tar.gz`,
          headers: SECRETS,
        }),
        { stateDir: join(dir, "state-same"), log: memoryLogger(), retryDelayMs: 0 },
      );
      await src.check();
      expect(elsewhere.requests.map((r) => secretsIn(r.headers))).toEqual([SECRET_NAMES]);
    });
  });

  describe("hub mode", () => {
    const hubSource = (
      ref: { type: "hub"; sha256: string } | { type: "http"; url: string; sha256: string },
    ) => {
      const config = AgentConfig.parse({
        sources: {
          [APP]: {
            type: "http",
            app_dir: join(dir, "app"),
            url: `${origin.url}/same/r.tar.gz`,
            headers: SECRETS,
          },
        },
      });
      return new HubReleaseSource({
        app: APP,
        release: { id: "r-7", app: APP, version: "7.0.0", manifest, source: ref },
        source: config.sources[APP] as Source,
        config,
        hubUrl: origin.url,
        token: "secret-agent-token",
        context: { stateDir: join(dir, `hub-state-${Math.random()}`), log: memoryLogger(), retryDelayMs: 0 },
      });
    };

    // The check's request is the artifact's: its answer is read by the fetch (one request).
    it("a release URL: the probe, which is the artifact request", async () => {
      const src = hubSource({ type: "http", url: `${origin.url}/same/r.tar.gz`, sha256 });
      await src.check();
      const fetched = await src.fetch(await mkdtemp(join(dir, "stage-")));
      expect(await readFile(join(fetched.dir, "app.txt"), "utf8")).toBe("7.0.0\n");
      expect(elsewhere.requests.length).toBe(1);
      expectHeadersStayedHome(/r\.tar\.gz$/);
    });

    it("the hub's artifact store: the agent token stays with the hub", async () => {
      const src = hubSource({ type: "hub", sha256 });
      await src.check();
      await src.fetch(await mkdtemp(join(dir, "stage-")));
      const away = elsewhere.requests.filter((r) => r.path.includes(sha256));
      expect(away.length).toBe(1);
      expect(origin.requests.every((r) => r.headers.authorization === "Bearer secret-agent-token")).toBe(
        true,
      );
      for (const r of away) expect(r.headers.authorization).toBeUndefined();
    });
  });
});
