/**
 * Hub mode on a host with a forward proxy in its environment. A release URL on the internet goes
 * through https_proxy / http_proxy as an http(s) source does; the hub's own artifacts go the way
 * the agent channel goes (hub-proxy-agent.ts): through the proxy, unless no_proxy names the hub.
 * Real HTTP servers, a real forward proxy that alone resolves the release host's name, a dead proxy
 * port for the no_proxy case.
 */
import { createHash } from "node:crypto";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { create as createTar } from "tar";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { HubReleaseSource } from "../../../agent/daemon/hub-release-source.js";
import { AgentConfig, type Source } from "../../../shared/config/schema.js";
import { memoryLogger } from "../../../shared/log.js";
import type { DeployRelease } from "../../../shared/protocol/messages.js";
import { APP, writeRelease } from "../../e2e/fleet.js";
import { type ForwardProxy, startForwardProxy } from "../../support/servers/forward-proxy.js";
import { freePort } from "../../support/servers/free-port.js";
import { startHttpServer, type TestServer } from "../../support/servers/http-server.js";

const NAME = "cdn.corp.example";

describe("hub mode behind a forward proxy", () => {
  let dir: string;
  let body: Buffer;
  let server: TestServer;
  let proxy: ForwardProxy;
  const saved = { http_proxy: process.env.http_proxy, no_proxy: process.env.no_proxy };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "ship-hub-proxy-"));
    await writeRelease(join(dir, "tree"), { version: "7.0.0" });
    await createTar({ gzip: true, file: join(dir, "r.tar.gz"), cwd: join(dir, "tree"), portable: true }, [
      ".",
    ]);
    body = await readFile(join(dir, "r.tar.gz"));
    server = await startHttpServer((_req, res) => {
      res.writeHead(200, { "content-length": body.length }).end(body);
    });
    proxy = await startForwardProxy({ hosts: { [`${NAME}:80`]: Number(new URL(server.url).port) } });
  });
  afterEach(() => {
    for (const [name, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
    proxy.requests.length = 0;
    server.requests.length = 0;
  });
  afterAll(async () => {
    await Promise.all([server?.close(), proxy?.close()]);
    await rm(dir, { recursive: true, force: true });
  });

  const fetchRelease = async (source: DeployRelease["source"], staging: string) => {
    const manifest = await readFile(join(dir, "tree", "update-manifest.yaml"), "utf8");
    const config = AgentConfig.parse({
      sources: { [APP]: { type: "local", app_dir: join(dir, "app"), path: join(dir, "tree") } },
    });
    const release = new HubReleaseSource({
      app: APP,
      release: { id: "r-7", app: APP, version: "7.0.0", manifest, source },
      source: config.sources[APP] as Source,
      config,
      hubUrl: server.url,
      token: "t",
      context: { stateDir: join(dir, "state"), log: memoryLogger(), retryDelayMs: 0 },
    });
    const fetched = await release.fetch(join(dir, staging));
    return readFile(join(fetched.dir, "app.txt"), "utf8");
  };
  const sha256 = () => createHash("sha256").update(body).digest("hex");

  it("a release URL goes through http_proxy", async () => {
    process.env.http_proxy = proxy.url;
    delete process.env.no_proxy;
    const url = `http://${NAME}/r.tar.gz`;
    expect(await fetchRelease({ type: "http", url, sha256: sha256() }, "via-proxy")).toBe("7.0.0\n");
    expect(proxy.requests.map((r) => `${r.method} ${r.target}`)).toContain(`GET ${url}`);
  });

  // They were fetched directly whatever the environment said, as the channel connected: on a
  // network whose only way out is the proxy, neither reached the hub.
  it("the hub's own artifact goes through the proxy, as the agent channel does", async () => {
    process.env.http_proxy = proxy.url;
    delete process.env.no_proxy;
    expect(await fetchRelease({ type: "hub", sha256: sha256() }, "hub-via-proxy")).toBe("7.0.0\n");
    expect(proxy.requests.map((r) => `${r.method} ${r.target}`)).toContain(
      `GET ${server.url}/api/v1/artifacts/${sha256()}`,
    );
  });

  it("the hub's own artifact is fetched directly when no_proxy names the hub, even with a proxy that is down", async () => {
    process.env.http_proxy = `http://127.0.0.1:${await freePort()}`;
    process.env.no_proxy = "localhost,127.0.0.0/8";
    expect(await fetchRelease({ type: "hub", sha256: sha256() }, "direct")).toBe("7.0.0\n");
    expect(server.requests.map((r) => r.path)).toEqual([`/api/v1/artifacts/${sha256()}`]);
  });
});
